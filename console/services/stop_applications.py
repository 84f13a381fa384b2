"""Stop applications: taken by phone, queued and decided once (R18)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..formats import jdate
from ..models import (
    ApplicationStatus,
    Channel,
    Contract,
    Staff,
    StopApplication,
)
from . import DomainError
from .audit import record
from .decisions import claim_application, pending_application
from .inputs import optional_text, require_text
from .permissions import CUSTOMER_DESK, requires

# ---------------------------------------------------------------------------------------------
# Applications taken by phone at the desk


@requires(CUSTOMER_DESK)
def record_stop_application(actor: Staff, contract: Contract, *, desired_stop_date: date | None,
                            final_bill_address: str | None, today: date) -> StopApplication:
    """A stop application taken by phone for one contract."""
    if contract.stop_date is not None:
        raise DomainError(f"この契約はすでに{jdate(contract.stop_date)}に中止されています。")
    if db.session.scalar(select(StopApplication.id).where(StopApplication.contract_id == contract.id,
                                                          StopApplication.status == ApplicationStatus.PENDING)):
        raise DomainError("この契約には未処理の使用中止申込がすでにあります。")
    if desired_stop_date is None:
        raise DomainError("中止希望日を YYYY-MM-DD の形で入力してください。", field="desired_stop_date")
    if desired_stop_date < today or desired_stop_date < contract.start_date:
        raise DomainError("中止希望日に過去の日付や使用開始日より前の日付は入力できません。", field="desired_stop_date")
    if desired_stop_date > today + timedelta(days=90):
        raise DomainError("中止希望日は90日以内にしてください。", field="desired_stop_date")
    application = StopApplication(
        channel=Channel.PHONE, contract_id=contract.id, desired_stop_date=desired_stop_date,
        final_bill_address=optional_text(final_bill_address, column=StopApplication.final_bill_address,
                                         label="最終請求の送付先"),
    )
    db.session.add(application)
    db.session.flush()
    record(actor, "stop_application.record", target=application, customer_number=contract.customer_number,
           detail={"desired_stop_date": desired_stop_date.isoformat()})
    return application


# ---------------------------------------------------------------------------------------------
# Queue


@requires(CUSTOMER_DESK)
def stop_queue(actor: Staff, status: str = ApplicationStatus.PENDING.value, *, limit: int = 100,
               offset: int = 0) -> list[StopApplication]:
    """Stop applications by desired stop date (audited: holders' names)."""
    query = select(StopApplication)
    if status:
        query = query.where(StopApplication.status == status)
    query = query.order_by(StopApplication.desired_stop_date, StopApplication.received_at, StopApplication.id)
    # The list shows each stop's contract: loaded in one more query, not one per row.
    rows = db.session.scalars(query.options(selectinload(StopApplication.contract)).limit(limit).offset(offset)).all()
    record(actor, "stop_application.list", detail={"status": status, "offset": offset, "rows": len(rows)})
    return rows


# ---------------------------------------------------------------------------------------------
# Decisions


@requires(CUSTOMER_DESK)
def accept_stop_application(actor: Staff, application_id: int, *, final_reading_date: date | None = None) -> StopApplication:
    """Accept a stop: the contract ends on the desired date; the portal keeps its history (Q34)."""
    application = pending_application(StopApplication, application_id)
    contract = db.session.get(Contract, application.contract_id, with_for_update=True)
    if contract.stop_date is not None:
        raise DomainError(f"この契約はすでに{jdate(contract.stop_date)}に中止されています。")
    if application.desired_stop_date < contract.start_date:
        raise DomainError("中止希望日が使用開始日より前です。")
    reading = final_reading_date or application.final_reading_date or application.desired_stop_date
    if reading < application.desired_stop_date - timedelta(days=7) or reading > application.desired_stop_date + timedelta(days=7):
        raise DomainError("最終検針日は中止希望日の前後7日以内にしてください。", field="final_reading_date")
    claim_application(StopApplication, application_id, actor, ApplicationStatus.ACCEPTED, final_reading_date=reading)
    db.session.refresh(application)
    contract.stop_date = application.desired_stop_date
    db.session.flush()
    record(actor, "stop_application.accept", target=application, customer_number=contract.customer_number,
           detail={"stop_date": contract.stop_date.isoformat(), "final_reading_date": reading.isoformat(),
                   "final_bill_address": bool(application.final_bill_address)})
    return application


@requires(CUSTOMER_DESK)
def reject_stop_application(actor: Staff, application_id: int, note: str) -> StopApplication:
    """Refuse a stop application with a reason; the contract continues."""
    note = require_text(note, column=StopApplication.note, label="却下の理由")
    application = pending_application(StopApplication, application_id)
    claim_application(StopApplication, application_id, actor, ApplicationStatus.REJECTED, note=note)
    db.session.refresh(application)
    record(actor, "stop_application.reject", target=application, customer_number=application.contract.customer_number,
           reason=note)
    return application
