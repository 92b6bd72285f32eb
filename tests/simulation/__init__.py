"""A year of rounds: `reciprocal simulate` and its policies."""
