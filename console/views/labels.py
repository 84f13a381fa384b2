"""Japanese labels for enum values, available in every template; each label lives on its enum (`.label`)."""

from __future__ import annotations

from ..models import (
    ApplicationStatus,
    AuditAction,
    CallerRelation,
    ChangeStatus,
    ContactChannel,
    ContactDirection,
    DeliveryStatus,
    FollowUpStatus,
    HolderKind,
    PaymentMethod,
    RegistrationStatus,
    RegistrationStep,
    ReissueStatus,
)


def label_helpers() -> dict:
    """Template globals: status_label(account), payment_label(method), …"""
    return {
        # Audit entries hold the action's code; templates name it with AuditAction.label_of(code).
        "AuditAction": AuditAction,
        "status_label": lambda account: RegistrationStatus.label_of(account.registration_status),
        "step_label": lambda account: RegistrationStep.label_of(account.registration_step),
        "holder_kind_label": HolderKind.label_of,
        "payment_label": PaymentMethod.label_of,
        "change_status_label": ChangeStatus.label_of,
        "reissue_status_label": ReissueStatus.label_of,
        "application_status_label": ApplicationStatus.label_of,
        "delivery_status_label": DeliveryStatus.label_of,
        "channel_label": ContactChannel.label_of,
        "direction_label": ContactDirection.label_of,
        "relation_label": CallerRelation.label_of,
        "follow_up_status_label": FollowUpStatus.label_of,
    }
