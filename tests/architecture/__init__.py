"""The layers of README "Developing", held by import-linter contracts (.importlinter)."""
