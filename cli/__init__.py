"""cli: the `reciprocal` command, a thin skin over the library. Each command parses its arguments,
calls one library function and renders the result with Rich (or JSON for scripts)."""
