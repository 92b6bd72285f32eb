"""The hash-chain recipe shared by the append-only records (the proposal trail; the ledger keeps
its own, older payload): SHA-256 of a record's canonical JSON together with its predecessor's
hash, so changing, removing or reordering a record breaks every link after it."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone

GENESIS = "0" * 64


def stamp(moment: datetime) -> str:
    """The form of a timestamp that is hashed: UTC to the microsecond, without an offset, so that
    the value written and the value read back (SQLite drops the offset) hash alike."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _plain(value):
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return getattr(value, "value", value)


def chain_hash(prev_hash: str, payload: dict) -> str:
    """SHA-256 of `payload` (canonical JSON: sorted keys, dates as ISO text) and `prev_hash`."""
    body = {k: _plain(v) for k, v in payload.items()}
    body["prev"] = prev_hash
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def event_payload(*, seq: int, proposal_id: int, from_status: str | None, to_status: str, on: date,
                  role: str, detail: dict, created_at: datetime) -> dict:
    """What a proposal-trail event's hash covers: everything it records, and its place in order."""
    return {"seq": seq, "proposal": proposal_id, "from": from_status, "to": to_status, "on": on,
            "role": role, "detail": detail, "at": created_at}


def event_hash(row, prev_hash: str | None = None) -> str:
    """The hash a stored trail event should have, given its own prev_hash (or the one given): of
    any row with the event's columns as attributes (an ORM row, or `audit verify`'s plain one)."""
    return chain_hash(row.prev_hash if prev_hash is None else prev_hash,
                      event_payload(seq=row.id, proposal_id=row.proposal_id, from_status=row.from_status,
                                    to_status=row.to_status, on=row.on, role=row.role,
                                    detail=row.detail or {}, created_at=row.created_at))


def case_ref(kind: str, ref: str) -> str:
    """The case an update of a household's or a home's facts names in the trail."""
    return f"{kind}:{ref}"


def digest(values: dict) -> str:
    """What the chained event of an update holds of the values kept beside it."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def plain_value(value):
    """A field's value as the trail and `show` keep it: lists as lists, dates as ISO text."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, date):
        return value.isoformat()
    return getattr(value, "value", value)
