"""Japanese labels for enum values, available in every template."""

from __future__ import annotations

from ..models import AuditAction
from ..models.account import REGISTRATION_STATUS_LABELS, REGISTRATION_STEP_LABELS
from ..models.application import APPLICATION_STATUS_LABELS
from ..models.contract import HOLDER_KIND_LABELS, PAYMENT_METHOD_LABELS, ChangeStatus
from ..models.notice import REISSUE_STATUS_LABELS
from ..models.notification import DeliveryStatus

CHANGE_STATUS_LABELS = {ChangeStatus.PENDING: "承認待ち", ChangeStatus.APPROVED: "承認済", ChangeStatus.RETURNED: "差戻し"}
DELIVERY_STATUS_LABELS = {DeliveryStatus.PENDING: "送信待ち", DeliveryStatus.SENT: "送信済", DeliveryStatus.FAILED: "送信失敗"}


def _lookup(table):
    return lambda value: table.get(value, value or "")


def label_helpers() -> dict:
    """Template globals: status_label(account), payment_label(method), …"""
    return {
        # Audit entries hold the action's code; templates name it with AuditAction.label_of(code).
        "AuditAction": AuditAction,
        "status_label": lambda account: REGISTRATION_STATUS_LABELS.get(account.registration_status, ""),
        "step_label": lambda account: REGISTRATION_STEP_LABELS.get(account.registration_step, ""),
        "holder_kind_label": _lookup(HOLDER_KIND_LABELS),
        "payment_label": _lookup(PAYMENT_METHOD_LABELS),
        "change_status_label": _lookup(CHANGE_STATUS_LABELS),
        "reissue_status_label": _lookup(REISSUE_STATUS_LABELS),
        "application_status_label": _lookup(APPLICATION_STATUS_LABELS),
        "delivery_status_label": _lookup(DELIVERY_STATUS_LABELS),
    }
