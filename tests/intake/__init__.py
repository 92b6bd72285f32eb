"""MoU configs, importing offers and requests, and hostile input files."""
