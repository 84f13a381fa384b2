"""The audit trail, for supervisors: filter by period, staff member, action or customer number."""

from __future__ import annotations

from flask_admin.contrib.sqla import filters as sqla_filters

from ..formats import jdatetime
from ..models import AuditAction, AuditEvent, AuditTarget, Role
from .base import ConsoleModelView


def _labelled(enum):
    """A list formatter that shows a stored code as its enum's Japanese label."""
    return lambda _view, _context, model, name: enum.label_of(getattr(model, name))


class AuditEventView(ConsoleModelView):
    """監査ログ: read-only; the database itself refuses changes (trigger)."""

    required_roles = frozenset({Role.SUPERVISOR})
    # The actor by name (issue 15: staff are never shown as an id or an address); the address stays in the
    # details. Flask-Admin joins a relationship of column_list into the list's query: no query per row.
    column_list = ["at", "staff", "action", "target_type", "target_id", "customer_number", "reason"]
    column_details_list = column_list + ["staff_email", "detail", "request_id", "client_addr"]
    column_sortable_list = ["at", "action", "target_type", "customer_number"]
    column_labels = {
        "at": "日時",
        "staff": "職員",
        "staff_email": "職員のメールアドレス",
        "action": "操作",
        "target_type": "対象種別",
        "target_id": "対象ID",
        "customer_number": "お客さま番号",
        "reason": "理由",
        "detail": "詳細",
        "request_id": "リクエストID",
        "client_addr": "端末アドレス",
    }
    # Action and target type are chosen from their labels, so nobody types or reads a code.
    column_filters = [
        "at",
        "staff_email",
        sqla_filters.FilterEqual(AuditEvent.action, "操作", options=AuditAction.choices()),
        "customer_number",
        sqla_filters.FilterEqual(AuditEvent.target_type, "対象種別", options=AuditTarget.choices()),
    ]
    column_default_sort = ("at", True)
    column_formatters = {
        "at": lambda _v, _c, model, _n: jdatetime(model.at),
        "staff": lambda _v, _c, model, _n: model.actor_name or "システム",
        "action": _labelled(AuditAction),
        "target_type": _labelled(AuditTarget),
    }
    can_export = False
