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
