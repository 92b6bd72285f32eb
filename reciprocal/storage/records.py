"""An offer's or a request's row as a domain object: the only place that reads those columns.

A row comes as a mapping of its columns: a plain row of `Reader.rows` or `ReciprocalSession.rows`
as it is, an ORM row through `reciprocal.storage.rows` (no ORM here: the read commands use it).

A round reads its whole pot this way (40,000 rows at national scale), so each object is made from
its complete field values without the frozen dataclass's `__init__`, which sets each field
through `object.__setattr__` (about half of the pot's reading time): the object is the same,
field for field, as `Offer(...)` or `Request(...)` would make
(`tests/store/test_reader.py::test_the_pot_as_read_is_what_the_constructors_make`).
"""
from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Mapping

from reciprocal.domain import Offer, OfferStatus, PropertyType, Request, RequestKind, RequestStatus, Risk


def _members(enum: type[Enum]):
    """`enum(value)` by a dict look-up; a value that is not a member still raises as `enum(value)`."""
    by_value = {member.value: member for member in enum}

    def member(value):
        found = by_value.get(value)
        return found if found is not None else enum(value)
    return member


_property_type, _offer_status = _members(PropertyType), _members(OfferStatus)
_kind, _risk, _request_status = _members(RequestKind), _members(Risk), _members(RequestStatus)

# The columns `offer_of` and `request_of` read, quoted for a SELECT: reading the others too
# (a moment each row, which SQLite keeps as text) cost a national pot a fifth of its time.
COLUMNS = {kind: ", ".join(f'"{f.name}"' for f in fields(cls)) for kind, cls in (("offer", Offer), ("request", Request))}


def _made(cls, values: dict):
    """An instance of the frozen dataclass `cls` holding `values`, one for every field (the test
    makes each kind both ways and compares them)."""
    made = object.__new__(cls)
    made.__dict__.update(values)
    return made


def offer_of(row: Mapping) -> Offer:
    """An offer from its row's columns."""
    return _made(Offer, dict(
        ref=row["ref"], provider=row["provider"], area=row["area"], bedrooms=row["bedrooms"],
        property_type=_property_type(row["property_type"]), available_from=row["available_from"],
        floor=row["floor"], step_free=row["step_free"], wheelchair_accessible=row["wheelchair_accessible"],
        tenancy_offered=row["tenancy_offered"], weekly_rent=row["weekly_rent"],
        restrictions=tuple(row["restrictions"] or ()), notes=row["notes"] or "",
        available_until=row["available_until"], status=_offer_status(row["status"]),
        for_request=row["for_request"]))


def request_of(row: Mapping) -> Request:
    """A request from its row's columns."""
    return _made(Request, dict(
        ref=row["ref"], provider=row["provider"], kind=_kind(row["kind"]),
        current_tenancy=row["current_tenancy"], bedrooms_needed=row["bedrooms_needed"],
        referred_on=row["referred_on"], risk=_risk(row["risk"]), max_bedrooms=row["max_bedrooms"],
        needs_step_free=row["needs_step_free"], needs_wheelchair=row["needs_wheelchair"],
        avoid_areas=tuple(row["avoid_areas"] or ()), preferred_areas=tuple(row["preferred_areas"] or ()),
        age=row["age"], survivor_area=row["survivor_area"], survivor_consent=row["survivor_consent"],
        safety_decision_on=row["safety_decision_on"], status=_request_status(row["status"])))
