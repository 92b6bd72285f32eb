"""Whole rounds on the database: run, decide, close, and a second round on top."""
