"""The database's tables, one SQLModel class each, and the constraints that back the two worst
bugs: a home let twice (unique offer per move) and two live proposals for one home or one household
(partial unique indexes on the live stages)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from reciprocal.storage.catalogue import MAX_ID, utcnow  # noqa: F401 (MAX_ID: kept importable from here)
from reciprocal.domain import (LIVE_PROPOSAL, ChecklistStatus, OfferStatus, ProposalStatus, RequestStatus, Risk,
                               RoundStatus)

# The live stages, as the partial unique indexes read them: a home and a household are each in at
# most one live proposal (rule 10), enforced by the database as well as by the engine.
LIVE_SQL = "status IN (" + ", ".join(f"'{s.value}'" for s in LIVE_PROPOSAL) + ")"



class MetaRow(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class OfferRow(SQLModel, table=True):
    __tablename__ = "offer"
    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True)
    provider: str = Field(index=True)
    area: str
    bedrooms: int
    property_type: str
    floor: Optional[int] = None
    step_free: bool = False
    wheelchair_accessible: bool = False
    tenancy_offered: Optional[str] = None
    weekly_rent: Optional[float] = None
    available_from: date
    restrictions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str = ""
    available_until: Optional[date] = None
    status: str = Field(default=OfferStatus.available.value, index=True)
    for_request: Optional[str] = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    closed_on: Optional[date] = None


class RequestRow(SQLModel, table=True):
    __tablename__ = "request"
    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True)
    provider: str = Field(index=True)
    kind: str
    current_tenancy: str
    bedrooms_needed: int
    max_bedrooms: Optional[int] = None
    needs_step_free: bool = False
    needs_wheelchair: bool = False
    avoid_areas: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    preferred_areas: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    risk: str = Risk.standard.value
    referred_on: date
    age: Optional[str] = None
    survivor_area: Optional[str] = None
    survivor_consent: bool = False
    safety_decision_on: Optional[date] = None
    status: str = Field(default=RequestStatus.active.value, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    closed_on: Optional[date] = None
    outcome: Optional[str] = None  # why a closed request closed (RequestOutcome)
    hold_reason: Optional[str] = None  # on_hold: why
    look_again_on: Optional[date] = None  # on_hold: when to look again
    reconfirmed_on: Optional[date] = None  # the last day its landlord said it still needs to move
    # The day `request purge` removed this closed household's details (reciprocal.intake.purge).
    purged_on: Optional[date] = None


class RoundRow(SQLModel, table=True):
    __tablename__ = "round"
    id: Optional[int] = Field(default=None, primary_key=True)
    on: date
    status: str = Field(default=RoundStatus.run.value, index=True)
    opened_at: datetime = Field(default_factory=utcnow)
    closed_at: Optional[datetime] = None
    # The solver's report: objectives (value, bound, gap, seconds), unmatched reasons, timings.
    report: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    snapshot: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProposalRow(SQLModel, table=True):
    __tablename__ = "proposal"
    # At most one live proposal per home and per household, enforced by the database (partial
    # unique indexes, which the migrations make on both backends). Their PostgreSQL condition is
    # named when a PostgreSQL database is opened (`live_only_on_postgresql`): naming
    # `postgresql_where` here loaded SQLAlchemy's whole PostgreSQL dialect into every command on
    # SQLite (about 0.04 s of a state change's start).
    __table_args__ = (
        Index("one_live_proposal_per_offer", "offer_ref", unique=True, sqlite_where=text(LIVE_SQL)),
        Index("one_live_proposal_per_request", "request_ref", unique=True, sqlite_where=text(LIVE_SQL)),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    request_ref: str = Field(index=True)
    offer_ref: str = Field(index=True)
    from_provider: str
    to_provider: str
    status: str = ProposalStatus.proposed.value
    explanation: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decline_reason: Optional[str] = None  # the free text of a refusal, lapse or cancellation
    decided_at: Optional[datetime] = None
    stage_on: Optional[date] = None  # the day the current stage began (or the proposal ended)
    due_on: Optional[date] = None  # the day a live stage lapses after (working days)
    refused_by: Optional[str] = None  # RefusedBy
    refusal_reason: Optional[str] = None  # one of the scheme's lifecycle.refusal_reasons
    reasonable_offer: Optional[bool] = None  # for a household refusal: was the home reasonable?
    viewing_on: Optional[date] = None
    tenancy_start: Optional[date] = None


class ProposalEventRow(SQLModel, table=True):
    """The proposal trail: one row per change of stage, append-only and hash-chained."""

    __tablename__ = "proposal_event"
    id: Optional[int] = Field(default=None, primary_key=True)  # the event's sequence number
    # None: an update of a request's or an offer's facts (`case_ref`), chained with the rest.
    proposal_id: Optional[int] = Field(default=None, foreign_key="proposal.id", index=True)
    from_status: Optional[str] = None  # None: the proposal was made
    to_status: str
    on: date  # the day it happened (the command's --on)
    role: str  # Role: who made the change
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    prev_hash: str
    hash: str = Field(unique=True)
    # An update's case (`request:REF` or `offer:REF`; also in the chained detail) and its fields'
    # values before and after, kept out of the chain so that `request purge` can blank them (the
    # chained detail holds their digest): reciprocal.lifecycle.updates.
    case_ref: Optional[str] = Field(default=None, index=True)
    case_values: Optional[dict] = Field(default=None, sa_column=Column(JSON, nullable=True))


class MoveRow(SQLModel, table=True):
    __tablename__ = "move"
    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    proposal_id: int = Field(foreign_key="proposal.id", unique=True)
    request_ref: str = Field(unique=True)  # a household moves once through the scheme
    offer_ref: str = Field(unique=True)  # a home is never let twice
    from_provider: str
    to_provider: str
    kind: str
    bedrooms: int
    band: str
    moved_on: date


class LedgerEntryRow(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (UniqueConstraint("move_id", "provider", "entry_kind", name="one_leg_per_side"),)
    id: Optional[int] = Field(default=None, primary_key=True)  # the entry's sequence number
    move_id: Optional[int] = Field(default=None, foreign_key="move.id", index=True)
    round_id: Optional[int] = None
    provider: str = Field(index=True)
    amount: int  # +1: gave a home; -1: its tenant was housed by another member
    band: str
    entry_kind: str = "move"  # move | correction
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    prev_hash: str
    hash: str = Field(unique=True)


class ChecklistItemRow(SQLModel, table=True):
    __tablename__ = "checklist_item"
    id: Optional[int] = Field(default=None, primary_key=True)
    move_id: int = Field(foreign_key="move.id", index=True)
    item: str
    owner: str  # the provider who must do it
    status: str = ChecklistStatus.outstanding.value
    done_on: Optional[date] = None  # the day the owner reported it done


def live_only_on_postgresql() -> None:
    """Give the live-proposal indexes their PostgreSQL condition (the same as SQLite's), once a
    PostgreSQL database is in use and its dialect loaded anyway."""
    for index in ProposalRow.__table__.indexes:
        if index.name.startswith("one_live_proposal_per_"):
            index.dialect_kwargs["postgresql_where"] = text(LIVE_SQL)
