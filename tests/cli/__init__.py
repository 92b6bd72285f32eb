"""The `reciprocal` command as users and scripts see it: real processes, exit codes, output."""
