"""Every assumption the simulated weekly process makes, in one place, each with its source.

A figure is either taken from the seed reports (`../shared/seeds`: Cambridgeshire & Peterborough's
year, London's scheme) or an **assumption**: no seed figure gives it, and docs/simulation.md's
sensitivity table shows how far each one moves the results when halved and doubled
(`Assumptions.varied`). The volumes (requests and offers a year) are not here: they are the
setting's (`reciprocal.simulation.arrivals.rates_for`), calibrated to the seed years.

Working days are (fewest, most) ranges drawn uniformly per proposal and stage; the scheme's own
`lifecycle` terms (due dates, reasonable refusals, reconfirmation) come from its config, not from
here.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

# Cambridgeshire's year (April 2019 to March 2020, ../shared/seeds): 17 referrals received, 11
# property requests circulated, 4 property offers, 4 successful moves.
CAMBS_REFERRALS, CAMBS_CIRCULATED, CAMBS_OFFERS, CAMBS_MOVES = 17, 11, 4, 4
ASSUMED = "assumption"
LONGEST = 1_000  # the most working days, weeks or times a home's rate responds an assumption may say


def _given(default, source: str = ASSUMED, meaning: str = ""):
    return field(default=default, metadata={"source": source, "meaning": meaning})


@dataclass(frozen=True)
class Assumptions:
    """How households, members and landlords behave in the simulation (the same for every policy)."""

    # -- referrals and circulation
    approved_share: float = _given(
        CAMBS_CIRCULATED / CAMBS_REFERRALS, "Cambridgeshire's year: 11 requests circulated of 17 referrals",
        "share of referrals their landlord approves (the rest leave by another route)")
    answer_share: float = _given(
        0.9, meaning="share of an even member's homes kept back for a household on its circulation list")
    answer_response: float = _given(
        0.25, meaning="per home a member owes, how much more of its homes it keeps for households")
    hold_weeks: int = _given(13, meaning="weeks a member keeps a home back for a household to appear")
    # -- homes
    offer_response: float = _given(
        0.25, meaning="offer rate x (1 + r) per home a member owes, / (1 + r) per home owed (within 1/3-3x)")
    offer_open_weeks: int = _given(4, meaning="weeks a home waits unused before it is let outside the scheme")
    # -- households waiting
    withdraw_rate: float = _given(0.02, meaning="share of waiting households leaving by another route each week")
    hold_rate: float = _given(0.01, meaning="share of waiting households asking for a hold each week")
    hold_length: tuple[int, int] = _given((2, 6), meaning="weeks a hold lasts")
    late_reconfirm: float = _given(
        0.2, meaning="share of reconfirmations not made by the scheme's reconfirm_days (the request goes stale)")
    stale_weeks: tuple[int, int] = _given((1, 4), meaning="weeks a stale request waits to be reconfirmed")
    review_weeks: int = _given(
        4, meaning="weeks a request in review (reasonable refusals reached) waits for the coordinator")
    # -- a proposal's stages, in working days until the answer
    confirm_days: tuple[int, int] = _given((1, 3), meaning="the offering landlord confirms the nomination")
    view_days: tuple[int, int] = _given((2, 11), meaning="the viewing is held (some after the due date)")
    answer_days: tuple[int, int] = _given((1, 5), meaning="the household answers after the viewing")
    sign_days: tuple[int, int] = _given((5, 22), meaning="the tenancy is signed (some after the due date)")
    tenancy_days: tuple[int, int] = _given((0, 10), meaning="from signing to the tenancy's start")
    silent_confirm: float = _given(0.05, meaning="nominations never confirmed nor refused (they lapse)")
    silent_view: float = _given(0.03, meaning="viewings never held (they lapse)")
    silent_answer: float = _given(0.03, meaning="households that never answer (they lapse)")
    silent_sign: float = _given(0.02, meaning="signings that never happen (they lapse)")
    landlord_refusal: float = _given(0.05, meaning="nominations the offering landlord refuses")
    household_refusal: float = _given(0.15, meaning="households refusing the home after the viewing")

    def stage(self, stage: str) -> tuple[tuple[int, int], float]:
        """A live stage's (working days until the answer, share never answered)."""
        name = STAGE_FIELDS[stage]
        return getattr(self, f"{name}_days"), getattr(self, f"silent_{name}")

    def answer_probability(self, balance: int) -> float:
        """How likely a member is to keep a home back for a household on its list."""
        return min(1.0, self.answer_share * (1 + self.answer_response) ** (-balance))

    def offer_multiplier(self, balance: int) -> float:
        return min(3.0, max(1 / 3, (1 + self.offer_response) ** (-balance)))

    def with_changes(self, changes: dict[str, str]) -> "Assumptions":
        """A copy with `name=value` changes from the command line; ValueError names a bad one."""
        values = {}
        known = {f.name: f for f in dataclasses.fields(self)}
        for name, text in changes.items():
            if name not in known:
                raise ValueError(f"unknown assumption '{name}' (known: {', '.join(known)})")
            now = getattr(self, name)
            try:
                if isinstance(now, tuple):
                    lo, _, hi = text.partition("-")
                    value = (int(lo), int(hi or lo))
                    ok = 0 <= value[0] <= value[1] <= LONGEST
                else:
                    value = type(now)(text)
                    ok = (math.isfinite(value) and 0 <= value <= LONGEST
                          and (not isinstance(value, float) or value <= 1 or "response" in name))
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"assumption {name}: '{text}' is not a valid value (now {_show(now)})")
            values[name] = value
        return dataclasses.replace(self, **values)

    def varied(self, name: str, factor: float) -> "Assumptions":
        """A copy with one assumption multiplied by `factor` (shares kept within 0..1, counts whole)."""
        now = getattr(self, name)
        if isinstance(now, tuple):
            value = tuple(max(0, round(v * factor)) for v in now)
        elif isinstance(now, int):
            value = max(1, round(now * factor))
        else:
            value = now * factor if "response" in name else min(1.0, now * factor)
        return dataclasses.replace(self, **{name: value})

    def described(self) -> list[dict]:
        """Every assumption with its value, meaning and source, in order."""
        return [{"name": f.name, "value": _show(getattr(self, f.name)), "meaning": f.metadata["meaning"],
                 "source": f.metadata["source"]} for f in dataclasses.fields(self)]


STAGE_FIELDS = {"proposed": "confirm", "nomination_confirmed": "view", "viewing": "answer",
                "accepted": "sign"}
SENSITIVE = tuple(f.name for f in dataclasses.fields(Assumptions))


def _show(value) -> str:
    if isinstance(value, tuple):
        return f"{value[0]}-{value[1]}"
    return f"{value:g}" if isinstance(value, float) else str(value)
