"""Audits and reports for the scheme board, funders and members: `verify` (is the ledger what the
engine wrote?), `fairness` (is give and take even?), the quarterly report, the offline HTML page,
provider-scoped views (`scope`) and safe exports (CSV, Markdown, owner-only files).

The two audits are re-exported here because the CLI and scripts call them by these names."""
from reciprocal.audits.fairness import (board_table, board_title, fairness, fairness_report,
                                       fairness_table, gini_against)
from reciprocal.audits.verify import CHAIN_CHECKS, Failure, Verification, verify, verify_ledger

__all__ = ["board_table", "board_title", "CHAIN_CHECKS", "Failure", "Verification", "fairness",
           "fairness_report", "fairness_table", "gini_against", "verify", "verify_ledger"]
