"""Provider-scoped views (`--for-provider X`): what one member may see, one function per record type.

docs/audits.md: a provider sees only what it may see, never another household's avoided areas,
never where a household moved to when it left that provider. Every export (lists, audits, reports)
passes its records through the function here for their type, so the rule lives in one place:

- offers and requests: a provider's own, in full; nobody else's (another provider's request
  carries its household's avoided and preferred areas and the survivor's area; another
  provider's let offers, with their dates, would let a provider guess where its household went);
- moves: into the viewer's home, in full (it is the new landlord); out of the viewer's stock,
  the request, date, band and kind only, never the new landlord, the home or its area;
- proposals (`round show`, `due`, packs): where the viewer offers the home, in full except what
  tells the household's areas (which areas it prefers, a free text naming an area it avoids,
  prefers or fled); where the viewer referred the household, its request, stage, dates and who
  must act next, never the offering member, the home or its area: once signed that would be
  where the household went, and hiding it while live keeps the viewer from learning it earlier;
- a round (`round show`): the viewer's proposals as above, its own unmatched requests, the changes
  the round began with that concern it; objectives are scheme aggregates and stay;
- checklist items: those the viewer must do;
- reports: scheme-wide aggregates (every provider's given, received and balances) stay; anything
  that pairs a household's old landlord with its new one, or could (the moves between other
  members, other members' balance history week by week, moves by destination area), goes.
  Why another member is past its debt limit keeps only how far and since when (the cause names its
  proposal and who refused it). The members for the board (homes owed, the day each reached its debt limit) stay with the
  balances: a member reaches its limit only when its own balance falls (its own household moved
  out, or a correction), never on the day it gives a home, and a home given and corrected on one
  day cancels out at the day's end, so the day names no new landlord.

`viewer=None` is the coordinator, who sees everything: each function returns its input unchanged.
"""
from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Iterable, TypeVar

from reciprocal.domain import Offer, Request
from reciprocal.errors import NotFoundError

if TYPE_CHECKING:  # a read that needs no scheme (`round show`) does not load the configs' models
    from reciprocal.config import Scheme

Record = TypeVar("Record")

# The fields of a move a provider may see about its own household that left it.
MOVE_OUT_FIELDS = ("move", "request", "from_provider", "kind", "band", "bedrooms", "moved_on",
                   "round", "corrected")
# The fields of a proposal (or of a due item about one) the household's own landlord may see.
REFERRER_FIELDS = ("id", "what", "ref", "request", "from_provider", "status", "round_id", "stage_on",
                   "due_on", "overdue", "viewing_on", "tenancy_start", "refused_by", "refusal_reason",
                   "reasonable_offer", "member", "must_act", "action")
# Who must act, as the referring member is told it when the offering member must.
OFFERING_MEMBER = "the offering member"
# What the other member of a live proposal learns of an update of a household or a home.
CIRCUMSTANCES_CHANGED = "the household's circumstances changed"
HOME_CHANGED = "the home's facts changed"
# Parts of a proposal's explanation (matching.explain) that tell the household's preferred areas.
PREFERENCE_REASONS = ("meets preferences", "meets no stated preference")
PREFERENCE_KEYS = ("preferences_met", "avoid_areas", "preferred_areas", "survivor_area")


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


def _mentions(text, words: Iterable[str]) -> bool:
    """True when free text names any of `words` as a whole word (an area id, an offer ref)."""
    return isinstance(text, str) and any(_whole_word(w).search(text) for w in words if w)


@functools.lru_cache(maxsize=4096)
def _whole_word(word: str) -> re.Pattern:
    """`word` as a whole word, compiled once (a pack judges every reason of 13,000 proposals
    against its household's areas)."""
    return re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")


def proposal_for(proposal: dict, viewer: str | None, household_areas: Iterable[str] = ()) -> dict | None:
    """A proposal as a dict with `from_provider` and `to_provider` (`views.ProposalView.to_json`,
    with `must_act` and `action` where the pack adds them). `household_areas`: the areas its
    household avoids or prefers, and the survivor's area, whose names no free text may carry to
    the offering member."""
    if viewer is None:
        return proposal
    if proposal["to_provider"] == viewer:
        areas = list(household_areas)
        out = {}
        for key, value in proposal.items():
            if key in PREFERENCE_KEYS or (key == "decline_reason" and _mentions(value, areas)):
                continue
            if key == "reasons":
                value = [r for r in value if not r.startswith(PREFERENCE_REASONS) and not _mentions(r, areas)]
            elif key == "objective_contributions":
                value = {k: v for k, v in value.items() if k != "preference_fit"}
            out[key] = value
        return out
    if proposal["from_provider"] == viewer:
        # The keys stay (scripts read them), their values withheld.
        out = {**{k: v for k, v in proposal.items() if k in REFERRER_FIELDS}, "offer": None, "to_provider": None}
        for key in ("member", "must_act"):
            if out.get(key) == proposal["to_provider"]:
                out[key] = OFFERING_MEMBER
        return out
    return None


def due_item_for(item: dict, viewer: str | None) -> dict | None:
    """An item of `views.due_list`: what the viewer must do. A proposal item carries both members;
    a hold to look at again belongs to its request's landlord."""
    if viewer is None:
        return item
    if item["member"] != viewer:
        return None
    return proposal_for(item, viewer) if item["what"] == "proposal" else item


def round_for(view: dict, viewer: str | None, request_owner: dict[str, str], offer_owner: dict[str, str],
              household_areas: dict[str, Iterable[str]]) -> dict:
    """A round (`views.RoundView.to_json`) as one member may see it. `request_owner` and
    `offer_owner` give each request's and offer's landlord; `household_areas` each request's
    areas (see `proposal_for`)."""
    if viewer is None:
        return view
    others = [ref for ref, owner in offer_owner.items() if owner != viewer]
    changes = []
    for change in view.get("changes_before", []):
        if change["what"] == "proposal":
            if offer_owner.get(change["offer"]) == viewer:
                changes.append(change)
            elif request_owner.get(change["request"]) == viewer:
                changes.append({**change, "offer": None,
                                "why": "" if _mentions(change["why"], others) else change["why"]})
        elif (request_owner if change["what"] == "request" else offer_owner).get(change["ref"]) == viewer:
            changes.append({**change, "why": "" if _mentions(change["why"], others) else change["why"]})
    return {**view, "for_provider": viewer,
            "proposals": [p for p in (proposal_for(p, viewer, household_areas.get(p["request"], ()))
                                      for p in view["proposals"]) if p is not None],
            "unmatched": [u for u in view["unmatched"] if request_owner.get(u["request"]) == viewer],
            # Homes offered for a household: the offering member's own answers only (the
            # household's landlord must not learn who offered, nor where).
            "for_request": [f for f in view.get("for_request", []) if offer_owner.get(f["offer"]) == viewer],
            "changes_before": changes}


def case_change_for(change: dict, viewer: str | None) -> dict | None:
    """An update of a household's or a home's facts (`reciprocal.lifecycle.since_pack`), with
    `owner` (the case's landlord) and `proposal` (the viewer's live proposal it touches, if any).
    Its landlord sees which fields changed, before and after. In a live proposal the other member
    learns only that something changed: the offering member that the household's circumstances
    changed (never which, nor its areas); the referring member that the home's facts changed,
    never the home (as its proposals show it)."""
    if viewer is None or change["owner"] == viewer:
        return change
    if change["proposal"] is None:
        return None
    household = change["what"] == "request"
    return {"what": change["what"], "ref": change["request"] if household else str(change["proposal"]),
            "owner": None, "proposal": change["proposal"], "request": change["request"],
            "offer": change["offer"] if household else None, "on": change["on"], "by": None, "fields": [],
            "change": CIRCUMSTANCES_CHANGED if household else HOME_CHANGED, "event": change["event"]}


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
    # Why another member is past its debt limit names its proposal and who refused it: another
    # member's household's answer. Its own row says why; others', only how far and since when.
    out["providers"] = [r if r["provider"] == viewer or not r.get("why_past_limit") else
                        {**r, "why_past_limit": f"past its limit by {r['past_limit_by']} since "
                                                f"{r['past_limit_since']}"}
                        for r in report["providers"]]
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
