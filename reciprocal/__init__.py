"""reciprocal: the domain of a managed reciprocal scheme.

Configs, offers and requests, storage, the ledger and rounds. This package knows nothing of the
solver (OR-Tools) or the command line (Typer); `matching` and `cli` depend on it, never the reverse.
"""
