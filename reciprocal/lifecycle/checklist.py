"""The post-move checklist (docs/config.md, Lifecycle terms): what the new landlord must do after a move, written
when the move is committed, ticked with `move done`, listed with `move checklist`."""
from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import ChecklistStatus
from reciprocal.errors import NotFoundError
from reciprocal.scope import check_viewer, checklist_item_for
from reciprocal.storage import (ChecklistItemRow, Database, MoveRow)

# The post-move checklist (docs/config.md, Lifecycle terms): item, and who must do it ("to": the new landlord).
CHECKLIST = (
    ("da_move_flagged_to_new_landlord", "to"),
    ("referral_to_local_da_service_offered", "to"),
    ("sanctuary_scheme_check_at_new_home", "to"),
)

ITEMS = tuple(item for item, _ in CHECKLIST)


def checklist_rows(session: Session, outstanding_only: bool = False) -> list[dict]:
    query = select(ChecklistItemRow, MoveRow).join(MoveRow, MoveRow.id == ChecklistItemRow.move_id)
    if outstanding_only:
        query = query.where(ChecklistItemRow.status == ChecklistStatus.outstanding.value)
    out = []
    for item, move in session.exec(query.order_by(ChecklistItemRow.move_id, ChecklistItemRow.id)).all():
        out.append({"move": move.id, "request": move.request_ref, "moved_on": move.moved_on.isoformat(),
                    "item": item.item, "owner": item.owner, "status": item.status,
                    "done_on": item.done_on.isoformat() if item.done_on else None})
    return out


def checklist(db: Database, scheme: Scheme, outstanding_only: bool = False,
              for_provider: str | None = None) -> list[dict]:
    """`move checklist`: every post-move checklist item (or the outstanding ones), scoped."""
    check_viewer(scheme, for_provider)
    with db.reading() as session:
        rows = checklist_rows(session, outstanding_only)
    return [r for r in rows if checklist_item_for(r, for_provider) is not None]


def tick(db: Database, move_id: int, item: str, on: date) -> dict:
    """`move done`: mark one checklist item of a move done on a day (its owner is kept with it).
    Ticking a done item again changes nothing."""
    with db.transaction() as session:
        if session.get(MoveRow, move_id) is None:
            raise NotFoundError(f"no move {move_id}")
        row = session.exec(select(ChecklistItemRow).where(ChecklistItemRow.move_id == move_id,
                                                          ChecklistItemRow.item == item)).first()
        if row is None:
            raise NotFoundError(f"move {move_id} has no checklist item '{item}'; its items are "
                                f"{', '.join(ITEMS)}")
        already = row.status == ChecklistStatus.done
        if not already:
            row.status, row.done_on = ChecklistStatus.done.value, on
            session.add(row)
        return {"move": move_id, "item": item, "owner": row.owner, "status": row.status,
                "done_on": row.done_on.isoformat() if row.done_on else None,
                "already_done": already}
