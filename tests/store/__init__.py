"""Storage: migrations, PostgreSQL, concurrent and killed commands, purging, and the ledger."""
