"""Deciding an application once (R18): one conditional UPDATE on its status, whatever the way in."""

from __future__ import annotations

from sqlalchemy import update

from .. import clock
from ..extensions import db
from ..models import (
    ApplicationStatus,
    Staff,
)
from . import DomainError


def claim_application(model, application_id: int, actor: Staff, status: ApplicationStatus, **values) -> None:
    """R18: one conditional UPDATE decides; a second decision anywhere updates nothing."""
    result = db.session.execute(
        update(model)
        .where(model.id == application_id, model.status == ApplicationStatus.PENDING)
        .values(status=status, decided_by_id=actor.id, decided_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("この申込はすでに処理されています。画面を更新して確認してください。")


def pending_application(model, application_id: int):
    """The application if it is still waiting for a decision; a clear refusal otherwise."""
    application = db.session.get(model, application_id)
    if application is None:
        raise DomainError("該当する申込がありません。")
    if application.status != ApplicationStatus.PENDING:
        raise DomainError("この申込はすでに処理されています。画面を更新して確認してください。")
    return application
