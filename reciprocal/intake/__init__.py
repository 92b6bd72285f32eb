"""Intake: offers and requests into the pot. `readers` parses CSV, XLSX and command-line options
into domain records (all or nothing, every bad row named); `pot` stores, lists and withdraws them;
`purge` blanks a closed household's details after the retention period."""
