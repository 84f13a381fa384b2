"""One timeline per customer (issue 14): every kind of entry, staff by name, newest first, keyset pages, and a
number of queries that does not grow with the number of entries."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from console import clock
from console.extensions import db
from console.models import AuditEvent, Channel, PaymentMethodChange
from console.services import (
    accounts,
    contacts,
    customer,
    handovers,
    holders,
    links,
    outage_notices,
    reissue_requests,
    stop_applications,
    timeline,
)
from tests import factories
from tests.conftest import csrf_token


def _published(coordinator, *, ward="27127", town="梅田一丁目", title="梅田の断水", mode="actual"):
    draft = outage_notices.create_draft(coordinator, outage_notices.NoticeInput(
        mode=mode, title=title, body="断水しています。", starts_at="2026-11-25T06:00", wards=(ward,), towns={ward: town}))
    version, _ = outage_notices.publish_draft(coordinator, draft.notice_id)
    return version


@pytest.fixture()
def history(database):
    """A customer with one entry of every kind, made by staff with recognisable names."""
    operator = factories.staff("operator", name="受付 一子")
    supervisor = factories.staff("supervisor", name="承認 二郎")
    coordinator = factories.staff("disaster_coordinator", name="防災 三郎")
    contract = factories.contract(holder_name="履歴 太郎", start_date=date(2020, 4, 1))
    account = factories.account(locked_at=clock.now(), failed_login_count=9)
    link = factories.link(account, contract, main=True, linked_by_id=operator.id, source="staff")
    old = factories.contract()
    old_link = factories.link(account, old, linked_by_id=operator.id, source="staff")
    links.unlink(operator, old_link, "お客さまのご依頼")
    customer.confirm_identity(operator, account, "contract_details")  # unlock and reset need it first
    accounts.unlock_account(operator, account, "本人から電話")
    accounts.request_password_reset(operator, account, "パスワードを忘れた")
    change = holders.request_name_change(
        operator, contract, new_holder_name="履歴 花子", new_holder_kana="リレキ ハナコ", new_holder_kind="person",
        effective_date=date(2026, 12, 1), identity_check="電話で確認")
    holders.approve_name_change(supervisor, change.id)
    handover = handovers.open_handover(
        operator, old_company_name="旧管理会社", new_company_name="新管理会社", new_company_kana="シンカンリガイシャ",
        customer_numbers=factories.contract().customer_number, target_date=date(2026, 12, 1), identity_check="書類")
    company_contract = handover.items[0].contract
    start = factories.start_application(account_id=account.id, channel=Channel.PORTAL)
    stop = stop_applications.record_stop_application(
        operator, contract, desired_stop_date=clock.today() + timedelta(days=10), final_bill_address=None,
        today=clock.today())
    db.session.add(PaymentMethodChange(contract_id=contract.id, account_id=account.id, from_method="payment_notice",
                                       to_method="e_payment", channel=Channel.PORTAL))
    factories.bill(contract, date(2023, 12, 1))
    reissue = reissue_requests.request_reissue(operator, contract, months=[date(2023, 12, 1)],
                                               send_to="mailing_address", caller_relation="holder")
    covered = _published(coordinator)
    called = contacts.record_contact(operator, contacts.ContactInput(category="charges", memo="請求額の確認（メモ）",
                                                                    outcome="内訳を説明"), contract=contract)
    db.session.flush()
    return dict(called=called, operator=operator, supervisor=supervisor, coordinator=coordinator, contract=contract,
                account=account, link=link, old=old, change=change, handover=handover,
                company_contract=company_contract, start=start, stop=stop, reissue=reissue, covered=covered)


def _whole(scope: timeline.Scope, size: int = timeline.PAGE_SIZE) -> list[timeline.Entry]:
    entries, cursor = [], None
    for _ in range(100):
        page = timeline.page(scope, cursor, size)
        entries.extend(page.entries)
        cursor = page.next_cursor
        if cursor is None:
            return entries
    raise AssertionError("the pages never ended")


def test_the_account_timeline_shows_every_kind_with_staff_by_name(history):
    account, contract = history["account"], history["contract"]
    op, boss, coordinator = (history[k].name for k in ("operator", "supervisor", "coordinator"))
    entries = _whole(timeline.Scope.of(account, [contract]))
    by_what = {e.what: e for e in entries}
    assert by_what["名義変更の受付"].who == op
    assert "履歴 花子" in by_what["名義変更の受付"].detail and boss in by_what["名義変更の受付"].detail
    assert by_what["名義変更の受付"].endpoint == "name_changes.detail"
    assert by_what["お客さま番号の登録"].who == op
    assert by_what["お客さま番号の登録解除"].who == op
    assert "お客さまのご依頼" in by_what["お客さま番号の登録解除"].detail
    assert by_what["ロック解除"].who == op and by_what["ロック解除"].detail == "本人から電話"
    assert by_what["パスワード再設定メール"].who == op
    assert by_what["使用開始申込"].who == "お客さま（マイページ）"
    assert by_what["使用開始申込"].url_args == {"application_id": history["start"].id}
    assert by_what["使用中止申込"].who == op  # taken by phone: whoever recorded it
    assert by_what["支払方法の変更申込"].who == "お客さま（マイページ）"
    assert by_what["お知らせ票の再発行の受付"].who == op
    assert by_what["お知らせ票の再発行の受付"].url_args == {"request_id": history["reissue"].id}
    assert by_what["メール送信：パスワード再設定のご案内"].who == op
    # The account opted in and holds a contract in the area: the outage reached it as a mail.
    # A call on the contract: who took it, its category and outcome; the memo stays on its own audited page.
    call = by_what["応対（電話・受信）"]
    assert call.who == op and "内訳を説明" in call.detail and "メモ" not in call.detail
    assert call.url_args == {"contact_id": history["called"].id}
    outage_mail = by_what["メール送信：断水等のお知らせ"]
    assert outage_mail.who == coordinator and outage_mail.url_args == {"notice_id": history["covered"].notice_id}
    # Newest first, and nothing twice.
    keys = [e.key for e in entries]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    # Staff appear by name, never by id.
    staff_ids = {str(history[k].id) for k in ("operator", "supervisor", "coordinator")}
    assert not {e.who for e in entries} & staff_ids


def test_the_contract_timeline_shows_handovers_and_outages_covering_the_usage_location(history):
    company = history["company_contract"]
    whats = [e.what for e in _whole(timeline.Scope.of(None, [company]))]
    assert "管理会社の変更" in whats and "名義変更の受付" in whats
    # A contract without an account gets no mail: the outage covering its location shows as a notice.
    contract_entries = _whole(timeline.Scope.of(None, [history["contract"]]))
    (notice,) = [e for e in contract_entries if e.source == "outage"]
    assert notice.what.startswith("断水等のお知らせ（第1報") and "梅田の断水" in notice.detail
    assert notice.who == history["coordinator"].name and notice.endpoint == "outages.detail"
    # An outage elsewhere, an exercise, or one before the contract began are not this customer's.
    _published(history["coordinator"], town="天神橋二丁目", title="よその断水")
    _published(history["coordinator"], title="【訓練】梅田の断水", mode="exercise")
    history["covered"].published_at = datetime(2019, 1, 1, tzinfo=UTC)
    assert [e for e in _whole(timeline.Scope.of(None, [history["contract"]])) if e.source == "outage"] == []


def test_pages_walk_the_whole_history_once_newest_first(history):
    contract, account = history["contract"], history["account"]
    base = clock.now() - timedelta(days=3)
    for i in range(45):
        # Five share each instant: the keyset must tell them apart by source and id.
        db.session.add(PaymentMethodChange(contract_id=contract.id, from_method="payment_notice", to_method="e_payment",
                                           channel=Channel.PORTAL, requested_at=base + timedelta(minutes=i // 5)))
    db.session.flush()
    scope = timeline.Scope.of(account, [contract])
    first = timeline.page(scope)
    assert len(first.entries) == timeline.PAGE_SIZE and first.next_cursor is not None
    everything = _whole(scope, size=7)
    assert len(everything) == len(_whole(scope, size=1000))
    assert sum(e.source == "payment_change" for e in everything) == 46
    keys = [e.key for e in everything]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    # A cursor survives its trip through a link.
    cursor = first.next_cursor
    assert timeline.Cursor.parse(cursor.text()) == cursor
    assert timeline.page(scope, timeline.Cursor.parse(cursor.text())).entries[0].key < first.entries[-1].key
    for junk in ("", "x", "20261125T061500.000000~mail~", "20261125T061500.000000~DROP~1", "1" * 300):
        assert timeline.Cursor.parse(junk) is None


def test_the_number_of_queries_does_not_grow_with_the_number_of_entries(history):
    contract, account = history["contract"], history["account"]
    scope = timeline.Scope.of(account, [contract])

    def queries() -> int:
        db.session.flush()
        db.session.expire_all()
        with factories.statements_run() as statements:
            shown = timeline.page(scope)
        # One statement for the keys of every source, then one for each source on the page (and perhaps the
        # source of the one entry more that says there is an older page).
        on_page = len({e.source for e in shown.entries})
        assert 1 + on_page <= len(statements) <= 2 + on_page
        return len(statements)

    few = queries()
    for i in range(60):
        db.session.add(PaymentMethodChange(contract_id=contract.id, from_method="payment_notice", to_method="e_payment",
                                           channel=Channel.PORTAL))
        account.locked_at = clock.now()
        accounts.unlock_account(history["operator"], account, f"電話 {i}")
    assert queries() <= few <= 1 + len(timeline.SOURCES)


def test_a_source_is_one_line(history):
    def notes(scope, window):
        return [timeline.Entry(clock.now() + timedelta(days=1), window.source, 1, "テストの記録", who="受付 一子")]

    sources = [*timeline.SOURCES, timeline.Source("note", notes)]
    page = timeline.page(timeline.Scope.of(history["account"], [history["contract"]]), sources=sources)
    assert page.entries[0].what == "テストの記録"


def test_the_customer_view_shows_the_timeline_and_pages_on_its_own_page(client, login_as, history):
    contract, account = history["contract"], history["account"]
    for _ in range(30):
        db.session.add(PaymentMethodChange(contract_id=contract.id, from_method="payment_notice", to_method="e_payment",
                                           channel=Channel.PORTAL))
    db.session.commit()
    operator = login_as("operator")
    html = client.get(f"/customer/account/{account.id}").get_data(as_text=True)
    section = html.split('data-testid="timeline"')[1]
    assert section.count("<tr data-source=") == timeline.PAGE_SIZE
    older = re.search(r'href="([^"]+)" data-testid="timeline-older"', html).group(1).replace("&amp;", "&")
    assert older.startswith(f"/customer/account/{account.id}/timeline?before=")
    second = client.get(older)
    assert second.status_code == 200
    page = second.get_data(as_text=True)
    assert "名義変更の受付" in page and history["operator"].name in page and history["supervisor"].name in page
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.staff_id == operator.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert event.action == "customer.view" and event.detail["timeline"]
    # A contract's own timeline page, and a cursor typed by hand means the first page.
    assert client.get(f"/customer/contract/{contract.id}/timeline?before=nonsense").status_code == 200
    assert client.get("/customer/contract/999999/timeline").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as("disaster_coordinator")
    assert client.get(f"/customer/account/{account.id}/timeline").status_code == 403


def test_the_whole_customer_page_costs_the_same_for_a_short_or_a_long_history(client, login_as, history):
    contract, account = history["contract"], history["account"]
    db.session.commit()
    login_as("operator")

    def queries() -> int:
        with factories.statements_run() as statements:
            assert client.get(f"/customer/account/{account.id}").status_code == 200
        return len(statements)

    few = queries()
    for _ in range(40):
        db.session.add(PaymentMethodChange(contract_id=contract.id, from_method="payment_notice", to_method="e_payment",
                                           channel=Channel.PORTAL))
    db.session.commit()
    # The timeline reads only the sources on its page: a long history of one kind makes it cheaper, never dearer.
    assert queries() <= few


def test_a_page_built_for_one_customer_serves_the_next_with_its_own_values(history):
    """A page's statements are built once per shape of scope and kept (timeline._plan): the next customer of the
    same shape must see their own history, paged by their own cursor, and nothing of the first customer's."""
    first = timeline.Scope.of(history["account"], [history["contract"]])
    other_contract = factories.contract(start_date=date(2020, 4, 1), town="梅田一丁目")
    other_account = factories.account()
    factories.link(other_account, other_contract, main=True, linked_by_id=history["operator"].id, source="staff")
    contacts.record_contact(history["operator"], contacts.ContactInput(category="charges", outcome="別のお客さま"),
                            contract=other_contract)
    db.session.flush()
    second = timeline.Scope.of(other_account, [other_contract])
    assert first.shape == second.shape

    mine = _whole(first, size=3)
    theirs = _whole(second, size=3)
    assert {e.what for e in theirs} == {"お客さま番号の登録", "応対（電話・受信）",
                                         "断水等のお知らせ（第1報・使用場所が対象地域）"}
    assert [e.customer_number for e in theirs if e.customer_number] == [other_contract.customer_number]
    assert not {(e.source, e.row_id) for e in theirs} & {(e.source, e.row_id) for e in mine}
    assert _whole(first, size=3) == mine  # and the first customer's pages again, after the second's
