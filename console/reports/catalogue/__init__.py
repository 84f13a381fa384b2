"""The report catalogue: one module per report, and REPORTS, the registry the views and jobs read."""

from __future__ import annotations

from .accounts import AccountsReport
from .applications import ApplicationsReport
from .audit import AuditReport
from .base import Report
from .bills import BillsReport
from .changes import ChangesReport
from .contacts import ContactsReport
from .disaster import DisasterReport
from .reissue import ReissueReport
from .usage import UsageReport

REPORTS: dict[str, type[Report]] = {
    r.key: r
    for r in (
        ApplicationsReport,
        ReissueReport,
        AccountsReport,
        ChangesReport,
        DisasterReport,
        UsageReport,
        BillsReport,
        ContactsReport,
        AuditReport,
    )
}
