"""Home pages: today's work per role as linked counts; a supervisor's last 30 days as charts."""

from __future__ import annotations

import re
from datetime import timedelta

from console import clock
from console.extensions import db
from console.models import OutageNotice, Role
from console.reports import dashboard
from tests import factories
from tests.report_helpers import start_application as _start


def _tile(page: str, label: str) -> tuple[str | None, int]:
    match = re.search(label + r'</div>\s*<div class="h3 mb-0">(?:<a href="([^"]+)">)?([\d,]+)', page)
    assert match, label
    return match.group(1), int(match.group(2).replace(",", ""))


def _coordinator_notice():
    staff = factories.staff("disaster_coordinator")
    db.session.add(OutageNotice(created_by_id=staff.id, status="published"))


def test_operator_sees_todays_work_with_links(client, login_as):
    before = {t.label: t.count for t in dashboard.tiles(frozenset({Role.OPERATOR}))}
    now = clock.now()
    _start(now)
    _start(now - timedelta(days=2))
    _start(now, status="accepted")
    factories.account(locked_at=now, failed_login_count=8)
    _coordinator_notice()
    db.session.commit()
    login_as("operator")
    page = client.get("/").get_data(as_text=True)
    pending = before["未処理の使用開始・中止申込"] + 2
    assert _tile(page, "未処理の使用開始・中止申込") == ("/applications/", pending)
    assert _tile(page, "ロック中のマイページ利用者") == (
        "/locked-accounts/",
        before["ロック中のマイページ利用者"] + 1,
    )
    assert _tile(page, "未発送のお知らせ票の再発行")[0] == "/reissue/"
    assert _tile(page, "進行中の管理会社の変更")[0] == "/handovers/"
    # The desk's read-only list of published notices (issue 14).
    assert _tile(page, "発表中の断水等のお知らせ") == ("/outages/", before["発表中の断水等のお知らせ"] + 1)
    assert "ロック中の職員" not in page and "過去30日間" not in page


def test_supervisor_sees_the_last_30_days(client, login_as):
    # Other tests may have committed applications today on separate connections: compare, don't assume.
    before = dashboard.last_30_days()[0].counts
    now = clock.now()
    _start(now)
    _start(now - timedelta(days=3))
    _start(now - timedelta(days=40))  # outside the window
    db.session.commit()
    series = dashboard.last_30_days()[0]
    added = [after - was for after, was in zip(series.counts, before, strict=True)]
    assert len(series.counts) == 30 and added[-1] == 1 and added[-4] == 1 and sum(added) == 2
    login_as("supervisor")
    page = client.get("/").get_data(as_text=True)
    assert "過去30日間" in page and f"使用開始・中止申込の受付（計 {series.total:,} 件）" in page
    # Four charts of the desk's work, and four of its memory (contacts and follow-ups, issue 14).
    assert page.count("<rect") == (4 + 4) * dashboard.DAYS


def test_coordinator_and_admin_see_their_own(client, login_as):
    before = {t.label: t.count for t in dashboard.tiles(frozenset({Role.DISASTER_COORDINATOR}))}
    _coordinator_notice()
    db.session.commit()
    login_as("disaster_coordinator")
    page = client.get("/").get_data(as_text=True)
    assert _tile(page, "発表中の断水等のお知らせ") == (
        "/disaster/notices/",
        before["発表中の断水等のお知らせ"] + 1,
    )
    assert "未処理の使用開始・中止申込" not in page and "ロック中のマイページ利用者" not in page


def test_admin_sees_locked_staff(client, login_as):
    before = {t.label: t.count for t in dashboard.tiles(frozenset({Role.ADMIN}))}
    factories.staff("operator").locked_at = clock.now()
    db.session.commit()
    login_as("admin")
    page = client.get("/").get_data(as_text=True)
    assert _tile(page, "ロック中の職員") == ("/staff/", before["ロック中の職員"] + 1)
    assert "発表中の断水等のお知らせ" not in page


def test_someone_both_coordinator_and_operator_sees_one_outage_tile(database):
    tiles = [t for t in dashboard.tiles(frozenset({Role.OPERATOR, Role.DISASTER_COORDINATOR}))
             if t.label == "発表中の断水等のお知らせ"]
    assert [t.endpoint for t in tiles] == ["outage_notices.index"]
