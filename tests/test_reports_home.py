"""Home pages: today's work per role as linked counts; a supervisor's last 30 days as charts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from console.extensions import db
from console.models import Channel, HolderKind, OutageNotice, PaymentMethod, StartApplication
from console.reports import dashboard
from tests import factories


def _start(received, status="pending"):
    db.session.add(StartApplication(
        channel=Channel.PHONE, applicant_name="山田", applicant_kana="ヤマダ", holder_kind=HolderKind.PERSON,
        phone="06-1234-5678", ward_code="27127", town="梅田一丁目", address_line="1-1",
        desired_start_date=date(2026, 12, 1), payment_method=PaymentMethod.BANK_TRANSFER, status=status,
        received_at=received,
    ))


def _tile(page: str, label: str) -> tuple[str | None, int]:
    match = re.search(label + r'</div>\s*<div class="h3 mb-0">(?:<a href="([^"]+)">)?([\d,]+)', page)
    assert match, label
    return match.group(1), int(match.group(2).replace(",", ""))


def _coordinator_notice():
    staff = factories.staff("disaster_coordinator")
    db.session.add(OutageNotice(created_by_id=staff.id, status="published"))


def test_operator_sees_todays_work_with_links(client, login_as):
    now = datetime.now(UTC)
    _start(now)
    _start(now - timedelta(days=2))
    _start(now, status="accepted")
    factories.account(locked_at=now, failed_login_count=8)
    _coordinator_notice()
    db.session.commit()
    login_as("operator")
    page = client.get("/").get_data(as_text=True)
    assert _tile(page, "未処理の使用開始・中止申込") == ("/applications/", 2)
    assert _tile(page, "ロック中のマイページ利用者") == ("/locked-accounts/", 1)
    assert _tile(page, "発表中の断水等のお知らせ") == (None, 1)  # shown, but the list is not an operator's
    assert "ロック中の職員" not in page and "過去30日間" not in page


def test_supervisor_sees_the_last_30_days(client, login_as):
    now = datetime.now(UTC)
    _start(now)
    _start(now - timedelta(days=3))
    _start(now - timedelta(days=40))  # outside the window
    db.session.commit()
    login_as("supervisor")
    page = client.get("/").get_data(as_text=True)
    assert "過去30日間" in page and "使用開始・中止申込の受付（計 2 件）" in page
    assert page.count("<rect") == 4 * dashboard.DAYS
    series = dashboard.last_30_days()[0]
    assert len(series.counts) == 30 and series.counts[-1] == 1 and series.counts[-4] == 1 and series.total == 2


def test_coordinator_and_admin_see_their_own(client, login_as):
    _coordinator_notice()
    db.session.commit()
    login_as("disaster_coordinator")
    page = client.get("/").get_data(as_text=True)
    assert _tile(page, "発表中の断水等のお知らせ") == ("/disaster/notices/", 1)
    assert "未処理の使用開始・中止申込" not in page and "ロック中のマイページ利用者" not in page


def test_admin_sees_locked_staff(client, login_as):
    factories.staff("operator").locked_at = datetime.now(UTC)
    db.session.commit()
    login_as("admin")
    page = client.get("/").get_data(as_text=True)
    assert _tile(page, "ロック中の職員") == ("/staff/", 1)
    assert "発表中の断水等のお知らせ" not in page
