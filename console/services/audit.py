"""Writing the audit trail: every read of personal data and every change goes through record()."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request

from ..extensions import db
from ..models import AuditAction, AuditEvent, AuditTarget, Staff


def client_address() -> str | None:
    """The client's address as the WSGI server saw it (a proxy fix sets remote_addr upstream)."""
    return request.remote_addr if has_request_context() else None


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
    """Append one audit entry for an action by actor (None for the system, e.g. a job).

    action and target_type must be AuditAction / AuditTarget members or their values: anything else
    raises ValueError at once, so an action the log could not name fails in the tests, not on /audit/.
    """
    action = AuditAction(action).value
    if target is not None:
        target_type = target_type or target.__tablename__
        target_id = target_id if target_id is not None else getattr(target, "id", None)
    target_type = None if target_type is None else AuditTarget(target_type).value
    event = AuditEvent(
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
    db.session.add(event)
    db.session.flush()
    return event
