"""All models, imported here so that Alembic and the app see the whole schema."""

from .account import AccountLink, LinkSource, PortalAccount, RegistrationStatus, RegistrationStep
from .application import ApplicationStatus, StartApplication, StopApplication
from .audit import AuditAction, AuditEvent, AuditTarget
from .base import Channel, LabelledEnum
from .billing import Bill, NoticeChannel, PaymentChangeStatus, PaymentMethodChange, PaymentStatus
from .contact import (
    CallerRelation,
    Contact,
    ContactCategory,
    ContactCategoryQuestion,
    ContactChannel,
    ContactDayCount,
    ContactDirection,
    FollowUp,
    FollowUpStatus,
)
from .contract import (
    ChangeStatus,
    Contract,
    Handover,
    HandoverItem,
    HandoverStatus,
    HolderHistory,
    HolderKind,
    NameChange,
    PaymentMethod,
)
from .disaster import (
    IncidentStatus,
    NoticeKind,
    NoticeMode,
    OutageArea,
    OutageNotice,
    OutageNoticeVersion,
    Phenomenon,
    SupplyPoint,
    SupplyPointStatus,
    SupplyPointType,
    SupplyStatus,
    VersionType,
)
from .notice import PrintBatch, ReissueItem, ReissueRequest, ReissueStatus, SendTo
from .notification import Delivery, DeliveryStatus, Notification, NotificationKind
from .report import ReportRun, ReportStatus
from .staff import Role, SessionEndReason, Staff, StaffRecoveryCode, StaffRole, StaffSession

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
    "SupplyPoint", "SupplyPointStatus", "SupplyPointType", "SupplyStatus", "VersionType",
]
