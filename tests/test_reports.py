"""Each report built from rows made here, read back with openpyxl: headers, types, totals = SQL counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from console import clock
from console.extensions import db
from console.models import (
    AuditEvent,
    Bill,
    Channel,
    Delivery,
    DeliveryStatus,
    NameChange,
    NoticeChannel,
    Notification,
    NotificationKind,
    OutageArea,
    OutageNotice,
    OutageNoticeVersion,
    PaymentMethod,
    PaymentStatus,
    PortalAccount,
    PrintBatch,
    ReissueItem,
    ReissueRequest,
    ReissueStatus,
    SendTo,
    StartApplication,
    StopApplication,
)
from console.reports.catalogue import REPORTS
from console.reports.params import day_bounds, parse
from console.services import DomainError, accounts, customer, handovers, holders
from tests import factories
from tests.report_helpers import build, data_rows, headers, temporary_reports_dir
from tests.report_helpers import start_application as _start

OCTOBER = {"start": "2026-10-01", "end": "2026-10-31"}


@pytest.fixture()
def reports_dir(app, tmp_path):
    """Report files go to a temporary folder."""
    yield from temporary_reports_dir(app, tmp_path)


def jst(*args) -> datetime:
    """A Japan-time moment as aware UTC."""
    return datetime(*args, tzinfo=UTC) - timedelta(hours=9)


def test_applications_by_ward_and_day(database, reports_dir):
    staff = factories.staff("supervisor")
    contract = factories.contract(ward_code="27102")
    _start(jst(2026, 10, 1, 9), "accepted", jst(2026, 10, 1, 15), decided_by_id=staff.id)  # 6 hours
    _start(jst(2026, 10, 1, 23, 30), "rejected", jst(2026, 10, 2, 1, 30), decided_by_id=staff.id)  # 2 hours
    _start(jst(2026, 10, 2, 8), ward="27102")
    _start(jst(2026, 9, 30, 23, 59))  # before the period (Japan time)
    db.session.add(
        StopApplication(
            channel=Channel.PORTAL,
            contract_id=contract.id,
            desired_stop_date=date(2026, 10, 9),
            received_at=jst(2026, 10, 2, 0, 5),
        )
    )
    db.session.flush()
    run, wb = build("applications", OCTOBER, staff)
    ws = wb["申込一覧"]
    assert headers(ws)[:4] == ["種別", "申込番号", "受付経路", "区"]
    rows = data_rows(ws)
    assert len(rows) == run.row_count == 4
    expected = db.session.scalar(
        select(func.count())
        .select_from(StartApplication)
        .where(
            StartApplication.received_at >= jst(2026, 10, 1), StartApplication.received_at < jst(2026, 11, 1)
        )
    )
    assert sum(1 for r in rows if r[0] == "開始") == expected == 3
    first = rows[0]
    assert first[3] == "北区" and first[4] == datetime(2026, 10, 1) and first[9] == 6.0 and first[10] is None
    assert ws.cell(row=3, column=5).is_date and ws.cell(row=3, column=10).data_type == "n"
    assert rows[1][9] == 2.0 and rows[1][4] == datetime(2026, 10, 1)  # 23:30 in Japan is still the 1st
    stop = next(r for r in rows if r[0] == "中止")
    assert stop[3] == "都島区" and stop[7] == "未処理" and stop[10] >= 50  # days waiting until now
    assert "=HYPERLINK" not in str(rows)  # no personal data in this report
    by_ward = data_rows(wb["区別・日別"])
    assert (datetime(2026, 10, 1), "北区", 2, 0, 1, 1, 0, 4.0, None) in by_ward
    daily = data_rows(wb["日別件数"])
    assert daily == [(datetime(2026, 10, 1), 2, 0, 2), (datetime(2026, 10, 2), 1, 1, 2)]
    assert len(wb["日別件数"]._charts) == 1 and len(wb["未処理の経過日数"]._charts) == 1
    backlog = {label: (starts, stops) for label, starts, stops in data_rows(wb["未処理の経過日数"])}
    # Every pending application when the report was made, the one received before the period too.
    pending = sum(
        db.session.scalar(select(func.count()).select_from(m).where(m.status == "pending"))
        for m in (StartApplication, StopApplication)
    )
    assert backlog["31日以上"] == (2, 1) and sum(a + b for a, b in backlog.values()) == pending >= 3


def _reissue(contract, staff, requested, status=ReissueStatus.REQUESTED, batch=None, months=(), **kw):
    request = ReissueRequest(
        contract_id=contract.id,
        send_to=SendTo.MAILING_ADDRESS,
        caller_relation="＝本人",
        status=status,
        batch_id=batch.id if batch else None,
        requested_by_id=staff.id,
        requested_at=requested,
        **kw,
    )
    db.session.add(request)
    db.session.flush()
    for month in months:
        bill = _bill(contract, month)
        db.session.add(ReissueItem(request_id=request.id, bill_id=bill.id, period=month))
    db.session.flush()
    return request


def _bill(contract, period, usage=20, water=2000, sewer=1500, status=PaymentStatus.PAID):
    bill = Bill(
        contract_id=contract.id,
        period=period,
        reading_date=period.replace(day=10),
        usage_m3=usage,
        water_charge=water,
        sewer_charge=sewer,
        due_date=period.replace(day=28),
        payment_method=PaymentMethod.BANK_TRANSFER,
        notice_channel=NoticeChannel.PAPER,
        payment_status=status,
    )
    db.session.add(bill)
    db.session.flush()
    return bill


def test_reissue_requests_and_print_batches(database, reports_dir):
    staff = factories.staff("operator")
    contract = factories.contract()
    batch = PrintBatch(
        batch_key="2026-10-15", created_at=jst(2026, 10, 15, 10), built_at=jst(2026, 10, 15, 11)
    )
    db.session.add(batch)
    db.session.flush()
    _reissue(
        contract,
        staff,
        jst(2026, 10, 3, 10),
        ReissueStatus.MAILED,
        batch,
        months=(date(2023, 10, 1), date(2023, 12, 1)),
        mailed_at=jst(2026, 10, 16, 9),
    )
    _reissue(
        contract,
        staff,
        jst(2026, 10, 20, 10),
        ReissueStatus.CANCELLED,
        cancel_reason="-お客さま都合",
        months=(date(2023, 11, 1),),
    )
    _reissue(contract, staff, jst(2026, 11, 1, 0, 1))  # after the period
    run, wb = build("reissue", OCTOBER, factories.staff("supervisor"))
    rows = data_rows(wb["再発行依頼"])
    assert run.row_count == len(rows) == 2
    first, second = rows
    assert first[2] == contract.customer_number and first[4] == 2
    assert first[5] == datetime(2023, 10, 1) and first[6] == datetime(2023, 12, 1)
    assert first[9] == "発送済" and first[10] == "2026-10-15" and first[11] == datetime(2026, 10, 16, 9)
    ws = wb["再発行依頼"]
    relation, reason = ws.cell(row=3, column=9), ws.cell(row=4, column=13)
    assert relation.value == "＝本人" and relation.data_type == "s" and relation.quotePrefix
    assert reason.value == "-お客さま都合" and reason.quotePrefix
    assert data_rows(wb["印刷バッチ"]) == [
        ("2026-10-15", datetime(2026, 10, 15, 10), datetime(2026, 10, 15, 11), 1, 1)
    ]
    statuses = dict(data_rows(wb["状態別件数"]))
    assert statuses["発送済"] == 1 and statuses["取消"] == 1 and sum(statuses.values()) == 2


def test_accounts_unlocks_resets_and_locked(database, reports_dir, smtp_server):
    staff = factories.staff("operator")
    locked = factories.account(locked_at=clock.now() - timedelta(days=3), failed_login_count=10)
    other = factories.account(locked_at=clock.now(), failed_login_count=6)
    for account in (other, locked):  # unlock and reset need the operator's identity check (issue 15)
        customer.confirm_identity(staff, account, "registered_phone")
    accounts.unlock_account(staff, other, "@本人確認済")
    accounts.request_password_reset(staff, locked, "電話で依頼")
    today = clock.today()
    period = {
        "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
    }
    run, wb = build("accounts", period, factories.staff("supervisor"))
    rows = data_rows(wb["対応一覧"])

    # Other tests may have committed entries of their own (separate connections): count, don't assume.
    def audited(action):
        return db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )

    unlocks, resets = audited("account.unlock"), audited("account.password_reset_mail")
    assert len(rows) == run.row_count == unlocks + resets >= 2
    mine = [r for r in rows if r[2] == staff.email]
    assert sorted(r[1] for r in mine) == ["パスワード再設定メール", "ロック解除"]
    unlock = next(r for r in mine if r[1] == "ロック解除")
    assert unlock[3] == other.id and unlock[4] == "@本人確認済"
    summary = dict(data_rows(wb["集計"]))
    assert summary["ロック解除（職員）"] == unlocks and summary["パスワード再設定メール（職員）"] == resets
    locked_rows = {r[0]: r for r in data_rows(wb["ロック中の利用者"])}
    assert locked_rows[locked.id][2:] == (10, 3) and other.id not in locked_rows
    assert (
        summary["作成時点でロック中の利用者"]
        == len(locked_rows)
        == db.session.scalar(
            select(func.count())
            .select_from(PortalAccount)
            .where(PortalAccount.locked_at.is_not(None), PortalAccount.withdrawn_at.is_(None))
        )
    )


def test_name_changes_and_handover_steps(database, reports_dir):
    maker = factories.staff("operator")
    checker = factories.staff("supervisor")
    contract = factories.contract()
    change = holders.request_name_change(
        maker,
        contract,
        new_holder_name="新しい 名義",
        new_holder_kana="アタラシイ メイギ",
        new_holder_kind="person",
        effective_date=date(2026, 12, 1),
        identity_check="電話で確認",
    )
    holders.approve_name_change(checker, change.id, None)
    handover = handovers.open_handover(
        maker,
        old_company_name="=旧管理(株)",
        new_company_name="新管理",
        new_company_kana="シンカンリ",
        customer_numbers=" ".join(factories.contract().customer_number for _ in range(3)),
        target_date=date(2026, 12, 1),
        identity_check="書類",
    )
    db.session.flush()
    today = clock.today()
    period = {
        "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
    }
    run, wb = build("changes", period, checker)
    rows = data_rows(wb["名義変更"])
    # Other tests may have committed name changes on separate connections: count those in the period too.
    start, end = day_bounds(period)
    in_period = select(func.count()).select_from(NameChange).where(NameChange.requested_at >= start,
                                                                    NameChange.requested_at < end)
    assert len(rows) == run.row_count == db.session.scalar(in_period) >= 4
    first = next(r for r in rows if r[0] == change.id)
    assert first[2] == contract.customer_number and first[6] == "承認済"
    assert first[7] == maker.email and first[8] == checker.email and first[10] is not None
    assert sum(1 for r in rows if r[11] == handover.id) == 3
    cases = {case[0]: (i, case) for i, case in enumerate(data_rows(wb["管理会社の変更"]))}
    row_index, case = cases[handover.id]
    assert case[2] == "=旧管理(株)" and case[6] == 3 and case[7:10] == (0, 0, 0)
    assert wb["管理会社の変更"].cell(row=3 + row_index, column=3).quotePrefix


def test_disaster_deliveries_per_version(database, reports_dir):
    staff = factories.staff("disaster_coordinator")
    notice = OutageNotice(created_by_id=staff.id, status="published")
    db.session.add(notice)
    db.session.flush()
    versions = []
    for no, vtype in ((1, "alert"), (2, "update")):
        version = OutageNoticeVersion(
            notice_id=notice.id,
            version_no=no,
            version_type=vtype,
            kind="emergency",
            phenomenon="outage",
            mode="actual",
            title=f"+断水のお知らせ 第{no}報",
            body="本文",
            starts_at=jst(2026, 10, 5, 8),
            created_by_id=staff.id,
            published_at=jst(2026, 10, 5, 8 + no),
            published_by_id=staff.id,
        )
        version.areas = [OutageArea(ward_code="27127", town="梅田一丁目"), OutageArea(ward_code="27128")]
        db.session.add(version)
        db.session.flush()
        versions.append(version)
    for version, statuses in zip(versions, (["sent", "sent", "failed"], ["sent", "pending"]), strict=True):
        notification = Notification(
            kind=NotificationKind.OUTAGE,
            dedupe_key=f"outage:{version.id}",
            subject="s",
            body="b",
            outage_version_id=version.id,
        )
        db.session.add(notification)
        db.session.flush()
        for i, status in enumerate(statuses):
            db.session.add(
                Delivery(notification_id=notification.id, address=f"a{i}@example.jp", status=status)
            )
    db.session.flush()
    run, wb = build("disaster", OCTOBER, factories.staff("supervisor"))
    rows = data_rows(wb["版別配信件数"])
    assert run.row_count == len(rows) == 2
    assert (
        rows[0][:2] == (notice.id, 1)
        and rows[0][2] == "発表"
        and rows[0][4] == "断水"
        and rows[0][5] == "実発令"
    )
    assert rows[0][8] == "北区（梅田一丁目）、中央区"
    assert rows[0][9:] == (3, 2, 1, 0) and rows[1][9:] == (2, 1, 0, 1)
    total = db.session.scalar(
        select(func.count())
        .select_from(Delivery)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            Delivery.status == DeliveryStatus.SENT,
            Notification.outage_version_id.in_([v.id for v in versions]),
        )
    )
    assert sum(r[10] for r in rows) == total == 3
    assert wb["版別配信件数"].cell(row=3, column=7).quotePrefix  # "+断水…" stays text
    assert len(wb["配信件数グラフ"]._charts) == 1


def test_usage_and_charges_by_ward_and_month(database, reports_dir):
    staff = factories.staff("supervisor")
    kita = [factories.contract(ward_code="27127") for _ in range(2)]
    miyakojima = factories.contract(ward_code="27102")
    for month in (date(2019, 9, 1), date(2019, 10, 1)):
        for contract in kita:
            _bill(contract, month, usage=10, water=1000, sewer=500, status=PaymentStatus.UNPAID)
        _bill(miyakojima, month, usage=30, water=3000, sewer=2000)
    _bill(miyakojima, date(2019, 11, 1))
    run, wb = build("usage", {"month_from": "2019-09", "month_to": "2019-10"}, staff)
    ws = wb["区別・月別"]
    assert headers(ws) == [
        "年月",
        "区",
        "請求件数",
        "使用水量（m³）",
        "水道料金",
        "下水道料金",
        "合計",
        "未払件数",
    ]
    rows = data_rows(ws)
    assert rows[0] == (datetime(2019, 9, 1), "都島区", 1, 30, 3000, 2000, 5000, 0)  # the city's ward order
    assert rows[1] == (datetime(2019, 9, 1), "北区", 2, 20, 2000, 1000, 3000, 2)
    assert ws["A3"].number_format == 'yyyy"年"m"月"' and ws["G3"].data_type == "n"
    in_range = (Bill.period >= date(2019, 9, 1)) & (Bill.period <= date(2019, 10, 1))
    assert (
        sum(r[2] for r in rows)
        == db.session.scalar(select(func.count()).select_from(Bill).where(in_range))
        == 6
    )
    assert sum(r[6] for r in rows) == db.session.scalar(
        select(func.sum(Bill.water_charge + Bill.sewer_charge)).where(in_range)
    )
    monthly = data_rows(wb["月別合計"])
    assert monthly == [(datetime(2019, 9, 1), 3, 50, 8000, 2), (datetime(2019, 10, 1), 3, 50, 8000, 2)]
    assert len(wb["月別合計"]._charts) == 1


def test_bills_detail_for_one_ward(database, reports_dir):
    staff = factories.staff("supervisor")
    kita, other = factories.contract(ward_code="27127"), factories.contract(ward_code="27102")
    _bill(kita, date(2026, 10, 1), usage=12, water=1234, sewer=1000)
    _bill(other, date(2026, 10, 1))
    run, wb = build("bills", {"month_from": "2026-10", "month_to": "2026-10", "ward": "27127"}, staff)
    ws = wb["請求明細"]
    assert len(headers(ws)) == 12
    (row,) = data_rows(ws)
    assert row[0] == kita.customer_number and row[1] == "北区" and row[5:9] == (12, 1234, 1000, 2234)
    assert ws["E3"].is_date and row[10] == "口座振替" and row[11] == "支払済"


def test_audit_log_by_staff_and_customer(database, reports_dir):
    alice = factories.staff("operator", email="Alice@example.jp")
    bob = factories.staff("operator")
    from console.services.audit import record

    record(
        alice,
        "customer.view",
        target_type="contract",
        target_id=1,
        customer_number="K000000001",
        reason="=cmd|' /C calc'!A0",
        detail={"fields": ["phone"]},
    )
    record(alice, "customer.view", target_type="contract", target_id=2, customer_number="K000000002")
    record(bob, "customer.view", target_type="contract", target_id=1, customer_number="K000000001")
    today = clock.today()
    period = {
        "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
    }
    supervisor = factories.staff("supervisor")
    _run, wb = build("audit", {**period, "staff": "alice@example.jp"}, supervisor)
    rows = data_rows(wb["監査ログ"])
    assert len(rows) == 2 and {r[2] for r in rows} == {"Alice@example.jp"}
    assert {r[1] for r in rows} == {alice.name}  # the staff member by name, not by id
    assert (
        rows[0][7] == "=cmd|' /C calc'!A0"
        and wb["監査ログ"]["H3"].data_type == "s"
        and wb["監査ログ"]["H3"].quotePrefix
    )
    assert rows[0][8] == '{"fields": ["phone"]}'
    _run, wb = build("audit", {**period, "customer_number": "K000000001"}, supervisor)
    rows = data_rows(wb["監査ログ"])
    assert len(rows) == 2 and {r[6] for r in rows} == {"K000000001"}
    assert "お客さま番号: K000000001" in wb["監査ログ"]["A1"].value


@pytest.mark.parametrize(
    "report, form, message",
    [
        ("applications", {"start": "2026-10-31", "end": "2026-10-01"}, "開始日は終了日以前"),
        ("applications", {"start": "2026/10/01", "end": "2026-10-31"}, "2026-10-01 の形式"),
        ("applications", {"end": "2026-10-31"}, "開始日を入力"),
        ("applications", {"start": "2020-01-01", "end": "2026-10-31"}, "2年以内"),
        ("usage", {"month_from": "2026-13", "month_to": "2026-10"}, "2026-10 の形式"),
        ("applications", {"start": "9999-12-31", "end": "9999-12-31"}, "2000年から2099年"),
        ("usage", {"month_from": "0001-01", "month_to": "2026-10"}, "2000年から2099年"),
        (
            "audit",
            {"start": "2026-10-01", "end": "2026-10-31", "customer_number": "12345"},
            "英字1文字と数字9桁",
        ),
        ("audit", {"start": "2026-10-01", "end": "2026-10-31", "staff": "alice"}, "メールアドレス"),
        ("bills", {"month_from": "2026-10", "month_to": "2026-10", "ward": "梅田区"}, "大阪市の区"),
    ],
)
def test_bad_parameters_get_a_japanese_message(report, form, message):
    with pytest.raises(DomainError) as exc:
        parse(REPORTS[report].params, form)
    assert message in exc.value.message


def test_parameters_are_normalised():
    assert parse(
        REPORTS["audit"].params,
        {
            "start": "２０２６-１０-０１",
            "end": "2026-10-31",
            "customer_number": "ｋ０１２３４５６７８",
            "staff": " Alice@Example.JP ",
        },
    ) == {
        "start": "2026-10-01",
        "end": "2026-10-31",
        "customer_number": "K012345678",
        "staff": "alice@example.jp",
    }
    assert parse(REPORTS["bills"].params, {"month_from": "2026/9", "month_to": "2026-10", "ward": "北"}) == {
        "month_from": "2026-09",
        "month_to": "2026-10",
        "ward": "27127",
    }


@pytest.mark.postgresql
def test_rows_come_through_a_server_side_cursor(database, reports_dir):
    """The streamed query runs on a named (server-side) cursor, so the rows never sit in memory at once."""
    from sqlalchemy import event

    staff = factories.staff("supervisor")
    _bill(factories.contract(), date(2019, 10, 1))
    cursors = []

    def seen(_conn, cursor, statement, *_args):
        if "FROM bill" in statement:
            cursors.append(type(cursor).__name__)

    connection = db.session.connection()
    event.listen(connection, "before_cursor_execute", seen)
    try:
        run, _wb = build("bills", {"month_from": "2019-10", "month_to": "2019-10"}, staff)
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    assert run.row_count == 1
    assert "ServerCursor" in cursors, cursors
