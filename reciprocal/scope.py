"""Provider-scoped views (`--for-provider X`): what one member may see, one function per record type.

SPEC section 7: a provider sees only what it may see, never another household's avoided areas,
never where a household moved to when it left that provider. Every export (lists, audits, reports)
passes its records through the function here for their type, so the rule lives in one place:

- offers and requests: a provider's own, in full; nobody else's (another provider's request
  carries its household's avoided and preferred areas and the survivor's area; another
  provider's let offers, with their dates, would let a provider guess where its household went);
- moves: into the viewer's home, in full (it is the new landlord); out of the viewer's stock,
  the request, date, band and kind only, never the new landlord, the home or its area;
- checklist items: those the viewer must do;
- reports: scheme-wide aggregates (every provider's given, received and balances) stay; anything
  that pairs a household's old landlord with its new one, or could (the moves between other
  members, other members' balance history week by week, moves by destination area), goes.
  The members for the board (homes owed, the day each reached its debt limit) stay with the
  balances: a member reaches its limit only when its own balance falls (its own household moved
  out, or a correction), never on the day it gives a home, and a home given and corrected on one
  day cancels out at the day's end, so the day names no new landlord.

`viewer=None` is the coordinator, who sees everything: each function returns its input unchanged.
"""
from __future__ import annotations

from typing import TypeVar

from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request
from reciprocal.errors import NotFoundError

Record = TypeVar("Record")

# The fields of a move a provider may see about its own household that left it.
MOVE_OUT_FIELDS = ("move", "request", "from_provider", "kind", "band", "bedrooms", "moved_on",
                   "round", "corrected")


def check_viewer(scheme: Scheme, viewer: str | None) -> str | None:
    """The viewer's id, or NotFoundError naming the unknown provider."""
    if viewer is not None and viewer not in scheme.providers:
        raise NotFoundError(f"unknown provider '{viewer}' (--for-provider)")
    return viewer


def offer_for(offer: Offer, viewer: str | None) -> Offer | None:
    if viewer is None or offer.provider == viewer:
        return offer
    return None


def request_for(request: Request, viewer: str | None) -> Request | None:
    if viewer is None or request.provider == viewer:
        return request
    return None


def move_for(move: dict, viewer: str | None) -> dict | None:
    """A move as a dict with `from_provider` and `to_provider` (and offer, area...)."""
    if viewer is None or move["to_provider"] == viewer:
        return move
    if move["from_provider"] == viewer:
        return {k: v for k, v in move.items() if k in MOVE_OUT_FIELDS}
    return None


def checklist_item_for(item: dict, viewer: str | None) -> dict | None:
    """A post-move checklist item: only its owner (the new landlord) sees it."""
    if viewer is None or item["owner"] == viewer:
        return item
    return None


def fairness_for(report: dict, viewer: str | None) -> dict:
    """The fairness audit (`reciprocal.audits.fairness_report`) as one provider may see it."""
    if viewer is None:
        return report
    out = dict(report)
    out["for_provider"] = viewer
    # Moves into the viewer's homes, by the household's old landlord; no other pair.
    out["moves_between"] = [m for m in report["moves_between"] if m["to_provider"] == viewer]
    history = report["balance_history"]
    out["balance_history"] = {**history, "providers": {p: v for p, v in history["providers"].items()
                                                       if p == viewer}}
    out["checklist_outstanding"] = [i for i in report["checklist_outstanding"]
                                    if checklist_item_for(i, viewer) is not None]
    out["notes"] = list(report.get("notes", [])) + [
        f"Scoped to {viewer}: moves between providers are shown only into {viewer}'s homes, the "
        f"balance history only for {viewer}, and only checklist items {viewer} must do."]
    return out


def quarterly_for(report: dict, viewer: str | None) -> dict:
    """The quarterly report (`reciprocal.audits.quarterly.quarterly_report`) as one provider may see it:
    the scheme totals and its own rows; area rows are withheld (moves there are counted by the
    area moved to)."""
    if viewer is None:
        return report
    out = dict(report)
    out["for_provider"] = viewer
    out["rows"] = [r for r in report["rows"]
                   if r["group"] == "scheme" or (r["group"] == "provider" and r["name"] == viewer)]
    out["notes"] = list(report.get("notes", [])) + [
        f"Scoped to {viewer}: scheme totals and {viewer}'s own figures; figures by area are "
        f"withheld because moves are counted in the area moved to."]
    return out
