"""An offer's or a request's row as a domain object: the only place that reads those columns.

A row comes as a mapping of its columns: a plain row of `Reader.rows` or `ReciprocalSession.rows`
as it is, an ORM row through `reciprocal.storage.rows` (no ORM here: the read commands use it).
"""
from __future__ import annotations

from typing import Mapping

from reciprocal.domain import Offer, OfferStatus, PropertyType, Request, RequestKind, RequestStatus, Risk


def offer_of(row: Mapping) -> Offer:
    """An offer from its row's columns."""
    return Offer(ref=row["ref"], provider=row["provider"], area=row["area"], bedrooms=row["bedrooms"],
                 property_type=PropertyType(row["property_type"]), available_from=row["available_from"],
                 floor=row["floor"], step_free=row["step_free"],
                 wheelchair_accessible=row["wheelchair_accessible"],
                 tenancy_offered=row["tenancy_offered"], weekly_rent=row["weekly_rent"],
                 restrictions=tuple(row["restrictions"] or ()), notes=row["notes"] or "",
                 available_until=row["available_until"], status=OfferStatus(row["status"]),
                 for_request=row["for_request"])


def request_of(row: Mapping) -> Request:
    """A request from its row's columns."""
    return Request(ref=row["ref"], provider=row["provider"], kind=RequestKind(row["kind"]),
                   current_tenancy=row["current_tenancy"], bedrooms_needed=row["bedrooms_needed"],
                   referred_on=row["referred_on"], risk=Risk(row["risk"]), max_bedrooms=row["max_bedrooms"],
                   needs_step_free=row["needs_step_free"], needs_wheelchair=row["needs_wheelchair"],
                   avoid_areas=tuple(row["avoid_areas"] or ()),
                   preferred_areas=tuple(row["preferred_areas"] or ()), age=row["age"],
                   survivor_area=row["survivor_area"], survivor_consent=row["survivor_consent"],
                   safety_decision_on=row["safety_decision_on"], status=RequestStatus(row["status"]))
