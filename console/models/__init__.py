"""All models, imported here so that Alembic and the app see the whole schema."""

from .account import AccountLink, PortalAccount
from .application import StartApplication, StopApplication
from .audit import AuditEvent
from .base import LabelledEnum
from .billing import Bill, PaymentMethodChange
from .contact import Contact, ContactCategory, ContactCategoryQuestion, ContactDayCount, FollowUp
from .contract import Contract, Handover, HandoverItem, HolderHistory, NameChange
from .disaster import OutageArea, OutageNotice, OutageNoticeVersion, SupplyPoint, SupplyPointStatus
from .notice import PrintBatch, ReissueItem, ReissueRequest
from .notification import Delivery, Notification
from .report import ReportRun
from .staff import Staff, StaffRecoveryCode, StaffRole, StaffSession, with_staff_name
from .vocabulary import (
    ApplicationStatus,
    AuditAction,
    AuditTarget,
    CallerRelation,
    ChangeStatus,
    Channel,
    ContactChannel,
    ContactDirection,
    DeliveryStatus,
    FollowUpStatus,
    HandoverStatus,
    HolderKind,
    IncidentStatus,
    LinkSource,
    NoticeChannel,
    NoticeKind,
    NoticeMode,
    NotificationKind,
    PaymentChangeStatus,
    PaymentMethod,
    PaymentStatus,
    Phenomenon,
    RegistrationStatus,
    RegistrationStep,
    ReissueStatus,
    ReportStatus,
    Role,
    SendTo,
    SessionEndReason,
    SupplyPointType,
    SupplyStatus,
    VersionType,
)

__all__ = [
    "AccountLink", "ApplicationStatus", "AuditAction", "AuditEvent", "AuditTarget", "Bill", "ChangeStatus", "Channel", "Contract",
    "Delivery", "DeliveryStatus", "Handover", "HandoverItem", "HandoverStatus", "HolderHistory",
    "HolderKind", "IncidentStatus", "LabelledEnum", "LinkSource", "NameChange", "NoticeChannel", "PaymentChangeStatus", "NoticeKind", "NoticeMode",
    "Notification", "NotificationKind", "OutageArea", "OutageNotice", "OutageNoticeVersion",
    "PaymentMethod", "PaymentMethodChange", "PaymentStatus", "Phenomenon", "PortalAccount",
    "PrintBatch", "RegistrationStatus", "RegistrationStep", "ReissueItem", "ReissueRequest",
    "ReissueStatus", "ReportRun", "ReportStatus", "Role", "SendTo", "SessionEndReason", "Staff", "StaffRecoveryCode",
    "StaffRole", "StaffSession",
    "StartApplication", "StopApplication", "CallerRelation", "Contact", "ContactCategory", "ContactCategoryQuestion",
    "ContactChannel", "ContactDayCount", "ContactDirection", "FollowUp", "FollowUpStatus",
    "SupplyPoint", "SupplyPointStatus", "SupplyPointType", "SupplyStatus", "VersionType", "with_staff_name",
]
