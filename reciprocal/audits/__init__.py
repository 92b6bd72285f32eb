"""Audits and reports for the scheme board, funders and members: `verify` (is the ledger what the
engine wrote?), `fairness` (is give and take even?), the quarterly report, the offline HTML page,
provider-scoped views (`scope`) and safe exports (CSV, Markdown, owner-only files).

The two audits are re-exported here because the CLI and scripts call them by these names. Each is
loaded when first asked for, so that `audit verify`, which reads through the plain driver, does
not load the fairness audit's ORM queries. Two names are also the names of their modules
(`verify`, `fairness`): the package keeps the function under that name even when the module is
imported on its own (the import system would bind the module there), as an eager re-export did."""
from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from reciprocal.lazy_exports import lazy_exports

_HOMES = {"fairness": ("board_table", "board_title", "fairness", "fairness_report", "fairness_table",
                       "gini_against"),
          "verify": ("CHAIN_CHECKS", "Failure", "Verification", "verify", "verify_ledger")}
__getattr__, __all__ = lazy_exports(__name__, _HOMES)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value) -> None:
        if name in _HOMES and isinstance(value, types.ModuleType):
            value = getattr(value, name)  # `audits.verify` stays the function, not its module
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

if TYPE_CHECKING:
    from reciprocal.audits.fairness import (board_table, board_title, fairness, fairness_report, fairness_table,
                                           gini_against)
    from reciprocal.audits.verify import CHAIN_CHECKS, Failure, Verification, verify, verify_ledger
