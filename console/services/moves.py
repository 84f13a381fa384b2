"""In-city moves with the same holder (R12): the stop and the start decided together."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from .. import normalise
from ..extensions import db
from ..models import (
    Staff,
    StartApplication,
    StopApplication,
)
from . import DomainError
from .audit import record
from .permissions import CUSTOMER_DESK, requires
from .start_applications import Decision, accept_start_application
from .stop_applications import accept_stop_application


def move_pair(move_group: str) -> tuple[StopApplication, StartApplication]:
    """The stop and the start of one in-city move."""
    stops = db.session.scalars(select(StopApplication).where(StopApplication.move_group == move_group)).all()
    starts = db.session.scalars(select(StartApplication).where(StartApplication.move_group == move_group)).all()
    if len(stops) != 1 or len(starts) != 1:
        raise DomainError("転居の申込（中止と開始の一組）が見つかりません。")
    return stops[0], starts[0]


@requires(CUSTOMER_DESK)
def accept_move(actor: Staff, move_group: str, acknowledged: set[str] | frozenset[str] = frozenset(), *,
                today: date) -> Decision:
    """An in-city move with the same holder: the stop and the start are decided together (R12)."""
    stop, start = move_pair(move_group)
    if stop.contract.holder_name_key != normalise.name_key(start.applicant_name):
        raise DomainError("中止する契約と開始の申込者の名義が異なります。名義が変わる場合は名義変更の手続きが必要です。")
    if start.desired_start_date < stop.contract.start_date:
        raise DomainError("開始希望日が、中止する契約の使用開始日より前です。")
    accept_stop_application(actor, stop.id)
    decision = accept_start_application(actor, start.id, acknowledged, today=today)
    record(actor, "move.accept", target_type="move", target_id=move_group,
           customer_number=decision.contract.customer_number,
           detail={"stop_application_id": stop.id, "start_application_id": start.id,
                   "old_customer_number": stop.contract.customer_number})
    return decision
