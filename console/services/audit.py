"""Writing the audit trail: every read of personal data and every change goes through record()."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import insert

from .. import clock
from ..extensions import db
from ..models import AuditAction, AuditEvent, AuditTarget, Staff


def client_address() -> str | None:
    """The client's address as the WSGI server saw it (a proxy fix sets remote_addr upstream)."""
    return request.remote_addr if has_request_context() else None


_INSERT = insert(AuditEvent.__table__).returning(AuditEvent.__table__.c.id)


def record(
    actor: Staff | None,
    action: AuditAction | str,
    *,
    target: Any = None,
    target_type: str | None = None,
    target_id: Any = None,
    customer_number: str | None = None,
    reason: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one audit entry for an action by actor (None for the system, e.g. a job); answers it as a
    detached AuditEvent (its id, time and values; not in the session).

    action and target_type must be AuditAction / AuditTarget members or their values: anything else
    raises ValueError at once, so an action the log could not name fails in the tests, not on /audit/.
    """
    action = AuditAction(action).value
    if target is not None:
        target_type = target_type or target.__tablename__
        target_id = target_id if target_id is not None else getattr(target, "id", None)
    target_type = None if target_type is None else AuditTarget(target_type).value
    values = dict(
        at=clock.now(),
        staff_id=actor.id if actor is not None else None,
        staff_email=actor.email if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        customer_number=customer_number,
        reason=reason,
        detail=detail,
        request_id=g.get("request_id") if has_request_context() else None,
        client_addr=client_address(),
    )
    # The caller's pending changes reach the database first, as they always did; the entry itself is one
    # INSERT, without the unit of work's bookkeeping (every page writes one or two: issue 17's ≤ 1 ms).
    db.session.flush()
    event_id = db.session.connection().execute(_INSERT, values).scalar_one()
    return AuditEvent(id=event_id, **values)
