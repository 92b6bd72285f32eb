"""The documentation holds true: the README's examples run and its command table is complete."""
