"""Every state change a command causes, as it is shown to the person who caused it.

Every change is recorded with when and by which role, and is shown to the person who made it:
nothing changes silently (README, Weeks of rounds, worked). Each lifecycle function returns the `Change`s it made;
every command prints them all (and `--format json` lists the same), so a test can hold that no
proposal, request or offer changed without a line saying so.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    what: str  # "proposal", "request" or "offer"
    ref: str  # the proposal's id, or the request's or offer's ref
    from_status: str | None  # None: it was made by this change
    to_status: str
    why: str = ""  # in words: the stage's due date, the refusal, the lapse...
    request: str | None = None  # for a proposal: its household and home
    offer: str | None = None

    def line(self) -> str:
        if self.what == "proposal":
            pair = f" ({self.request} -> {self.offer})" if self.request else ""
            head = f"proposal {self.ref}{pair}"
        else:
            head = f"{self.what} {self.ref}"
        move = self.to_status if self.from_status is None else f"{self.from_status} -> {self.to_status}"
        return f"{head}: {move}" + (f"; {self.why}" if self.why else "")

    def to_json(self) -> dict:
        return {"what": self.what, "ref": self.ref, "from": self.from_status, "to": self.to_status,
                "why": self.why, "request": self.request, "offer": self.offer}


def shown(value) -> str:
    """A field's value in a change's words (`request update`, `offer update`, and what changed for
    a member since its pack)."""
    if isinstance(value, list):
        return ";".join(value) or "(none)"
    return "(none)" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
