"""A package that re-exports names from its modules, each module imported only when one of its
names is first asked for: `reciprocal.storage` (a URL check loads no ORM) and `reciprocal.audits`
(`audit verify` loads none of the fairness audit's ORM queries)."""
from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, homes: dict[str, tuple[str, ...]]):
    """(`__getattr__`, `__all__`) for `package`, whose `homes` maps each module to its names."""
    home_of = {name: module for module, names in homes.items() for name in names}
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str):
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value  # asked once
        return value

    return __getattr__, sorted(home_of)
