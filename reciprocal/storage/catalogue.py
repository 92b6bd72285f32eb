"""Every table's name and its columns with the kind of value each holds, in the standard library
only: what `reciprocal.storage.reader` needs to hand back a row's values as exactly the Python
types the ORM gives, without loading the ORM (issue 24: a read command starts in well under half a
second). `tables` stays the schema's source for the ORM and the migrations;
tests/store/test_reader.py checks this catalogue equals `SQLModel.metadata` exactly, so the two
cannot drift.

Kinds: `int`, `str`, `bool`, `float`, `date`, `datetime` (a moment: SQLModel's `UTCDateTime`,
read back aware, in UTC), `json` (enumerations are stored as their `str` values). A column name has one kind in every table that has it (checked by the same
test), so a query's result columns are converted by their names, whichever table they came from.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

def utcnow() -> datetime:
    """The moment a row is stamped with (its `created_at`)."""
    return datetime.now(timezone.utc)


# The largest id a row can have on every backend (PostgreSQL's INTEGER); a larger one names no row.
MAX_ID = 2**31 - 1

TABLES: dict[str, dict[str, str]] = {
    "meta": {"key": "str", "value": "str"},
    "offer": {
        "id": "int", "ref": "str", "provider": "str", "area": "str", "bedrooms": "int", "property_type": "str",
        "floor": "int", "step_free": "bool", "wheelchair_accessible": "bool", "tenancy_offered": "str",
        "weekly_rent": "float", "available_from": "date", "restrictions": "json", "notes": "str",
        "available_until": "date", "status": "str", "for_request": "str", "created_at": "datetime",
        "closed_on": "date"},
    "request": {
        "id": "int", "ref": "str", "provider": "str", "kind": "str", "current_tenancy": "str",
        "bedrooms_needed": "int", "max_bedrooms": "int", "needs_step_free": "bool", "needs_wheelchair": "bool",
        "avoid_areas": "json", "preferred_areas": "json", "risk": "str", "referred_on": "date", "age": "str",
        "survivor_area": "str", "survivor_consent": "bool", "safety_decision_on": "date", "status": "str",
        "created_at": "datetime", "closed_on": "date", "outcome": "str", "hold_reason": "str",
        "look_again_on": "date", "reconfirmed_on": "date", "purged_on": "date"},
    "round": {
        "id": "int", "on": "date", "status": "str", "opened_at": "datetime", "closed_at": "datetime",
        "report": "json", "snapshot": "json"},
    "proposal": {
        "id": "int", "round_id": "int", "request_ref": "str", "offer_ref": "str", "from_provider": "str",
        "to_provider": "str", "status": "str", "explanation": "json", "decline_reason": "str",
        "decided_at": "datetime", "stage_on": "date", "due_on": "date", "refused_by": "str",
        "refusal_reason": "str", "reasonable_offer": "bool", "viewing_on": "date", "tenancy_start": "date"},
    "proposal_event": {
        "id": "int", "proposal_id": "int", "from_status": "str", "to_status": "str", "on": "date", "role": "str",
        "detail": "json", "created_at": "datetime", "prev_hash": "str", "hash": "str", "case_ref": "str",
        "case_values": "json"},
    "move": {
        "id": "int", "round_id": "int", "proposal_id": "int", "request_ref": "str", "offer_ref": "str",
        "from_provider": "str", "to_provider": "str", "kind": "str", "bedrooms": "int", "band": "str",
        "moved_on": "date"},
    "ledger_entry": {
        "id": "int", "move_id": "int", "round_id": "int", "provider": "str", "amount": "int", "band": "str",
        "entry_kind": "str", "reason": "str", "created_at": "datetime", "prev_hash": "str", "hash": "str"},
    "checklist_item": {
        "id": "int", "move_id": "int", "item": "str", "owner": "str", "status": "str", "done_on": "date"},
}

# Each column name and its one kind, whichever table has it.
KIND_OF: dict[str, str] = {column: kind for columns in TABLES.values() for column, kind in columns.items()}


def _in_utc(moment: datetime) -> datetime:
    # As `UTCDateTime` reads a moment back: one stored without an offset is UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.utcoffset() is None else moment.astimezone(timezone.utc)


def _sqlite_moment(text: str) -> datetime:
    # Stored as "YYYY-MM-DD HH:MM:SS.ffffff", UTC without an offset.
    return _in_utc(datetime.fromisoformat(text))


# How a value the driver hands back becomes what the ORM gives. SQLite returns dates, moments
# and JSON as text and booleans as 0 or 1; PostgreSQL's driver types them all, and returns a
# moment in the session's time zone.
def _sqlite_json(text: str):
    # Most lists of a pot are empty: "[]" without the parser (a new list each time, as it gives).
    return [] if text == "[]" else json.loads(text)


SQLITE_VALUE = {"bool": bool, "date": date.fromisoformat, "datetime": _sqlite_moment, "json": _sqlite_json}
POSTGRES_VALUE = {"datetime": _in_utc}


def converters(names: list[str], is_sqlite: bool) -> list:
    """For each result column, the function that makes the driver's value the ORM's, or None."""
    table = SQLITE_VALUE if is_sqlite else POSTGRES_VALUE
    return [table.get(KIND_OF.get(name, "")) for name in names]
