"""Recording a mail: the one way a service says "mail this" (templates/mail/<name>.txt).

A service calls record_mail(); it renders the template (subject and body blocks; the centre's name and
phone come from the MAIL_CENTRE setting, so every mail signs the same way), adds the Notification and
one Delivery row per recipient, flush()es, and hands the sending job to transaction.after_commit: the
mail leaves only once the change that caused it is committed, and a rollback takes it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import Select, literal, select

from .. import transaction
from ..extensions import db
from ..models import Delivery, DeliveryStatus, Notification, NotificationKind, Staff


def render_mail(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of templates/mail/<template>.txt with the centre's details added to the context."""
    jinja = current_app.jinja_env.get_template(f"mail/{template}.txt")
    ctx = jinja.new_context({"centre": current_app.config["MAIL_CENTRE"], **context})
    subject = "".join(jinja.blocks["subject"](ctx)).strip()
    body = "".join(jinja.blocks["body"](ctx))
    return subject[:200], body


def record_mail(kind: NotificationKind, recipients: Iterable[tuple[int | None, str]] | Select, template: str,
                context: dict[str, Any], dedupe_key: str, *, actor: Staff | None = None,
                customer_number: str | None = None, outage_version_id: int | None = None) -> Notification:
    """Record one mail to recipients ((account id, address) pairs, or a SELECT of them) and have it sent after the commit.

    dedupe_key is deterministic per cause where one cause must never make a second mail (it is unique).
    """
    subject, body = render_mail(template, context)
    notification = Notification(
        kind=kind, dedupe_key=dedupe_key, subject=subject, body=body, customer_number=customer_number,
        outage_version_id=outage_version_id, created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(notification)
    db.session.flush()
    if isinstance(recipients, Select):
        # Thousands of recipients (an outage): one INSERT … SELECT in the database, no ORM objects.
        chosen = recipients.subquery()
        columns = list(chosen.c)
        db.session.execute(Delivery.__table__.insert().from_select(
            ["notification_id", "account_id", "address", "status", "attempts"],
            select(literal(notification.id), columns[0], columns[1], literal(DeliveryStatus.PENDING.value),
                   literal(0)).order_by(columns[0]),
        ))
    else:
        db.session.add_all(Delivery(notification_id=notification.id, account_id=account_id, address=address)
                           for account_id, address in recipients)
        db.session.flush()
    send_after_commit(notification.id)
    return notification


def send_after_commit(notification_id: int) -> None:
    """Have the notification's pending deliveries sent once the caller's transaction commits."""
    transaction.after_commit(_enqueue, notification_id)


def _enqueue(notification_id: int) -> None:
    # Imported here: jobs import services, not the other way round; only this hook reaches back.
    from ..jobs.mail import JobsUnavailable, enqueue_mail

    try:
        enqueue_mail(notification_id)
    except JobsUnavailable as exc:
        raise transaction.AfterCommitWarning(str(exc)) from exc
