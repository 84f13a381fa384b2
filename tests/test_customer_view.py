"""The customer view (issue 3): everything on one page, masked by default, reveal and identity audited."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from console import clock
from console.extensions import db
from console.formats import wareki_month
from console.models import (
    AuditEvent,
    Bill,
    NoticeChannel,
    PaymentMethod,
    PaymentStatus,
    RegistrationStatus,
    RegistrationStep,
)
from console.services import contacts as contacts_service
from console.services import customer
from console.services.calendar import (
    add_business_days,
    expected_paid_date,
    is_business_day,
    paper_notices_resume,
    portal_shows,
)
from tests import factories
from tests.conftest import csrf_token


def _bill(contract, period: date, **overrides) -> Bill:
    values = dict(
        contract_id=contract.id, period=period, reading_date=period.replace(day=10), usage_m3=20, water_charge=2000,
        sewer_charge=1500, due_date=period.replace(day=28), payment_method=PaymentMethod.BANK_TRANSFER,
        notice_channel=NoticeChannel.PAPER, payment_status=PaymentStatus.PAID,
    )
    values.update(overrides)
    bill = Bill(**values)
    db.session.add(bill)
    return bill


@pytest.fixture()
def customer_with_history(database):
    contract = factories.contract(contract_phone="06-6458-1132", bank_last4="4321")
    account = factories.account(email="hanako@example.jp", sms_phone="090-8765-4321")
    factories.link(account, contract, main=True)
    for year, month in [(2019, 4), (2023, 12), (2024, 1), (2025, 6), (2026, 10)]:
        _bill(contract, date(year, month, 1))
    _bill(contract, date(2026, 11, 1), payment_status=PaymentStatus.UNPAID, paid_on=date(2026, 11, 20))
    db.session.commit()
    return contract, account


def test_page_shows_everything_masked(client, login_as, customer_with_history):
    contract, account = customer_with_history
    login_as("operator")
    html = client.get(f"/customer/account/{account.id}").get_data(as_text=True)
    assert contract.customer_number in html and contract.settlement_number in html
    assert "hanako@example.jp" not in html and "h＊＊＊@example.jp" in html
    assert "090-8765-4321" not in html and "4321" in html
    assert "6458" not in html and "梅田一丁目" in html
    # Bills newest first: the last twelve months on the page, the years before a year at a time behind a link.
    months = [date(2026, 11, 1), date(2026, 10, 1), date(2025, 6, 1), date(2024, 1, 1), date(2023, 12, 1),
              date(2019, 4, 1)]
    since = customer.months_back(clock.today(), customer.BILL_MONTHS_SHOWN - 1)
    periods = re.findall(r"(令和\d+年\d+月|平成\d+年\d+月)</td>", html)
    assert periods == [wareki_month(m) for m in months if m >= since]
    older = client.get(f"/customer/contract/{contract.id}/bills")
    assert 'data-testid="older-bills"' in html and older.status_code == 200
    assert re.findall(r"(令和\d+年\d+月|平成\d+年\d+月)</td>", older.get_data(as_text=True)) == [
        wareki_month(m) for m in months if m < since]
    assert "マイページ利用中のため、紙のお知らせ票は発行されません。" in html
    # R11: paid on 2026-11-20 (Fri); 10 business days later, skipping 11/23 (勤労感謝の日).
    assert "2026年12月7日ごろ支払済に反映" in html


def test_opening_the_view_is_audited(client, login_as, customer_with_history):
    contract, account = customer_with_history
    operator = login_as("operator")
    client.get(f"/customer/account/{account.id}")
    client.get(f"/customer/contract/{contract.id}")
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "customer.view", AuditEvent.staff_id == operator.id)
    ).all()
    assert [(e.target_type, e.customer_number) for e in events] == [
        ("portal_account", contract.customer_number), ("contract", contract.customer_number)
    ]


def test_the_audit_panel_shows_the_last_90_days(client, login_as, customer_with_history):
    """Who saw this customer lately: entries of the last AUDIT_PANEL_DAYS days; older ones stay in the audit
    search (the panel's window lets the database read only the newest monthly partitions)."""
    from datetime import timedelta

    from console import clock
    from console.models import AuditEvent

    contract, _ = customer_with_history
    old, recent = factories.staff("operator", name="古い 閲覧者"), factories.staff("operator", name="最近 閲覧者")
    now = clock.now()
    for who, days in ((old, customer.AUDIT_PANEL_DAYS + 1), (recent, customer.AUDIT_PANEL_DAYS - 1)):
        db.session.add(AuditEvent(at=now - timedelta(days=days), staff_id=who.id, staff_email=who.email,
                                  action="customer.view", target_type="contract", target_id=str(contract.id),
                                  customer_number=contract.customer_number))
    db.session.commit()
    login_as("operator")
    panel = client.get(f"/customer/contract/{contract.id}").get_data(as_text=True).split('data-testid="audit"')[1]
    assert "最近 閲覧者" in panel and "古い 閲覧者" not in panel
    assert f"直近{customer.AUDIT_PANEL_DAYS}日" in client.get(f"/customer/contract/{contract.id}").get_data(as_text=True)


def test_the_audit_panel_merges_the_account_and_its_numbers(database, customer_with_history):
    """An account's panel: the entries on the account and on each of its numbers, newest first, each entry
    once though both walks find it, at most AUDIT_ROWS_SHOWN, each named by its member (the name; a member
    without one by e-mail; a member no longer known by the e-mail kept in the entry; the system by none)."""
    from datetime import timedelta

    from console import clock

    contract, account = customer_with_history
    other = factories.contract()
    named, unnamed = factories.staff("operator", name="閲覧 花子"), factories.staff("operator")
    unnamed.name = ""
    now = clock.now()

    def entry(minutes_ago, action="customer.view", **where):
        db.session.add(AuditEvent(at=now - timedelta(minutes=minutes_ago), action=action, **where))

    entry(1, staff_id=named.id, staff_email=named.email, target_type="portal_account", target_id=str(account.id),
          customer_number=contract.customer_number)  # found on the account and on its number: shown once
    entry(2, staff_id=unnamed.id, staff_email=unnamed.email, customer_number=contract.customer_number)
    entry(3, staff_email="retired@example.jp", target_type="portal_account", target_id=str(account.id))
    entry(4, target_type="portal_account", target_id=str(account.id), action="account.unlock")
    entry(5, staff_id=named.id, staff_email=named.email, customer_number=other.customer_number)  # not theirs
    db.session.commit()
    rows = customer._audit_rows([contract.customer_number], account)
    assert [(r.actor_name, r.action, r.customer_number) for r in rows] == [
        (named.name, "customer.view", contract.customer_number),
        (unnamed.email, "customer.view", contract.customer_number),
        ("retired@example.jp", "customer.view", None),
        (None, "account.unlock", None),
    ]
    for minutes in range(6, 6 + customer.AUDIT_ROWS_SHOWN):
        entry(minutes, customer_number=contract.customer_number)
    db.session.commit()
    rows = customer._audit_rows([contract.customer_number, other.customer_number], account)
    assert len(rows) == customer.AUDIT_ROWS_SHOWN and rows == sorted(rows, key=lambda r: r.at, reverse=True)
    assert rows[4].customer_number == other.customer_number


def test_reveal_needs_a_reason_and_is_audited(client, login_as, customer_with_history):
    contract, account = customer_with_history
    operator = login_as("operator")
    url = f"/customer/account/{account.id}/reveal"
    token = csrf_token(client, f"/customer/account/{account.id}")
    refused = client.post(url, data={"field": "contract_phone", "contract_id": contract.id, "reason": "", "csrf_token": token})
    assert refused.status_code == 302
    response = client.post(
        url, data={"field": "contract_phone", "contract_id": contract.id, "reason": "折り返し連絡のため", "csrf_token": token}
    )
    assert response.status_code == 200 and "06-6458-1132" in response.get_data(as_text=True)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.reveal")).all()
    assert [(e.staff_id, e.reason, e.detail["field"], e.customer_number) for e in events] == [
        (operator.id, "折り返し連絡のため", "contract_phone", contract.customer_number)
    ]


def test_email_is_revealed_only_after_identity_confirmation(client, login_as, customer_with_history):
    _, account = customer_with_history
    login_as("operator")
    page = f"/customer/account/{account.id}"
    token = csrf_token(client, page)
    data = {"field": "email", "reason": "メールアドレス失念（Q16）", "csrf_token": token}
    refused = client.post(f"{page}/reveal", data=data, follow_redirects=True)
    assert "本人確認を行い記録してください" in refused.get_data(as_text=True)
    assert "hanako@example.jp" not in refused.get_data(as_text=True)
    client.post(f"{page}/identity", data={"method": "contract_details", "note": "番号・氏名・住所一致", "csrf_token": token})
    shown = client.post(f"{page}/reveal", data=data)
    assert "hanako@example.jp" in shown.get_data(as_text=True)
    identity = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.identity_confirmed")).one()
    assert identity.detail == {"method": "contract_details"} and "番号・氏名・住所一致" in identity.reason


def test_identity_confirmation_expires_and_is_per_operator(database, customer_with_history):
    _, account = customer_with_history
    first, second = factories.staff("operator"), factories.staff("operator")
    confirmation = customer.confirm_identity(first, account, "registered_phone")
    assert customer.require_identity(first, account, "開示する前に").staff_id == first.id
    with pytest.raises(customer.DomainError):
        customer.require_identity(second, account, "開示する前に")
    with pytest.raises(customer.DomainError):
        customer.reveal(second, field_name="email", reason="確認", account=account)
    assert confirmation.at > clock.now() - customer.IDENTITY_VALID_FOR


def test_reveal_of_another_accounts_contract_is_refused(client, login_as, customer_with_history):
    _, account = customer_with_history
    stranger = factories.contract()
    db.session.commit()
    login_as("operator")
    token = csrf_token(client, f"/customer/account/{account.id}")
    response = client.post(
        f"/customer/account/{account.id}/reveal",
        data={"field": "contract_phone", "contract_id": stranger.id, "reason": "確認", "csrf_token": token},
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "step, status, text",
    [
        (RegistrationStep.EMAIL_VERIFIED, RegistrationStatus.IN_PROGRESS, "メールアドレスの登録からやり直して"),
        (RegistrationStep.USER_INFO, RegistrationStatus.IN_PROGRESS, "メールアドレスの登録からやり直して"),
        (RegistrationStep.CONTRACT_INFO, RegistrationStatus.IN_PROGRESS, "SMSで届いた認証コードを入力"),
        (RegistrationStep.SMS_VERIFIED, RegistrationStatus.PROVISIONAL, "仮登録です"),
        (RegistrationStep.SMS_VERIFIED, RegistrationStatus.VOID, "仮登録は取り消されました"),
    ],
)
def test_registration_next_step(client, login_as, step, status, text):
    account = factories.account(registration_step=step, registration_status=status)
    db.session.commit()
    login_as("operator")
    html = client.get(f"/customer/account/{account.id}").get_data(as_text=True)
    assert text in html


def test_full_registration_has_no_next_step(database):
    assert customer.registration_next_step(factories.account()) is None


def test_withdrawn_account_shows_when_paper_notices_resume(client, login_as):
    contract = factories.contract(meter_reading_day=15)
    account = factories.account(withdrawn_at=datetime(2026, 11, 10, 3, 0, tzinfo=UTC))
    factories.link(account, contract, main=True, ended_at=datetime(2026, 11, 10, 3, 0, tzinfo=UTC))
    db.session.commit()
    login_as("operator")
    html = client.get(f"/customer/account/{account.id}").get_data(as_text=True)
    assert "2026年11月分から紙のお知らせ票を再開します" in html


def test_more_than_twenty_numbers_warns(client, login_as):
    account = factories.account()
    for i in range(21):
        factories.link(account, factories.contract(), main=i == 0)
    db.session.commit()
    login_as("operator")
    assert "20件を超えています" in client.get(f"/customer/account/{account.id}").get_data(as_text=True)


def test_query_count_does_not_grow_with_contracts(app, database):
    """The view runs a fixed number of queries whether an account holds 2, 20 or 45 customer numbers."""
    operator = factories.staff("operator")

    def count_queries(n_contracts: int) -> int:
        account = factories.account()
        for i in range(n_contracts):
            contract = factories.contract()
            factories.link(account, contract, main=i == 0)
            for month in range(1, 4):
                _bill(contract, date(2025, month, 1))
        db.session.flush()
        db.session.expire_all()
        with factories.statements_run() as statements:
            customer.view_account(operator, account.id, today=date(2026, 11, 24))
        return len(statements)

    assert count_queries(2) == count_queries(20) == count_queries(45)


def test_a_big_account_shows_its_numbers_twenty_at_a_time(client, login_as):
    """A management company's account: twenty panels a page (main first), searchable, bounded HTML."""
    account = factories.account()
    today = clock.today()
    contracts = [factories.contract() for _ in range(45)]
    for i, contract in enumerate(contracts):
        factories.link(account, contract, main=i == 44)
        for back in range(24):
            factories.bill(contract, customer.months_back(today, back))
    db.session.commit()
    login_as("operator")
    page = f"/customer/account/{account.id}"
    html = client.get(page).get_data(as_text=True)
    shown = re.findall(r'data-testid="contract-([A-Z]\d{9})"', html)
    assert len(shown) == 20 and shown[0] == contracts[44].customer_number  # the main number first
    assert "45 件中 45 件" in html and "1 / 3 ページ" in html and len(html.encode()) < 300_000
    assert html.count('data-testid="bills"') == 20 and len(re.findall(r"(令和\d+年\d+月)</td>", html)) == 20 * 12
    last = client.get(page, query_string={"numbers_page": 3}).get_data(as_text=True)
    assert len(re.findall(r'data-testid="contract-([A-Z]\d{9})"', last)) == 5
    assert client.get(page, query_string={"numbers_page": 99}).status_code == 200  # clamped to the last page
    wanted = contracts[17].customer_number
    found = client.get(page, query_string={"numbers_q": wanted.lower()}).get_data(as_text=True)
    assert re.findall(r'data-testid="contract-([A-Z]\d{9})"', found) == [wanted] and "45 件中 1 件が一致" in found
    # Each page view is audited with the numbers it showed.
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.view")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.detail["numbers_shown"] == [wanted]
    assert client.get(page, query_string={"numbers_q": "x" * 5000}).status_code == 200


def test_older_bills_a_year_at_a_time(client, login_as):
    contract, recent = factories.contract(), factories.contract()
    today = clock.today()
    for back in range(30):
        factories.bill(contract, customer.months_back(today, back))
    for back in range(12):
        factories.bill(recent, customer.months_back(today, back))
    db.session.commit()
    login_as("operator")
    html = client.get(f"/customer/contract/{contract.id}").get_data(as_text=True)
    assert len(re.findall(r"(令和\d+年\d+月)</td>", html)) == 12 and 'data-testid="older-bills"' in html
    # Twelve months and no more: nothing older to offer.
    html = client.get(f"/customer/contract/{recent.id}").get_data(as_text=True)
    assert len(re.findall(r"(令和\d+年\d+月)</td>", html)) == 12 and 'data-testid="older-bills"' not in html
    first = client.get(f"/customer/contract/{contract.id}/bills").get_data(as_text=True)
    months = re.findall(r"(令和\d+年\d+月)</td>", first)
    assert months[0] == wareki_month(customer.months_back(today, 12)) and len(months) == 12
    older = re.search(r'href="([^"]+)" data-testid="older-bills"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert re.findall(r"(令和\d+年\d+月|平成\d+年\d+月)</td>", second) == [
        wareki_month(customer.months_back(today, back)) for back in range(24, 30)]
    assert "これより前の請求はありません" in second
    assert client.get(f"/customer/contract/{contract.id}/bills?before=2024-13").status_code == 400
    assert client.get("/customer/contract/99999999/bills").status_code == 404


def test_calendar_rules():
    assert not is_business_day(date(2026, 11, 23))  # 勤労感謝の日
    assert not is_business_day(date(2026, 12, 29)) and not is_business_day(date(2027, 1, 3))
    assert is_business_day(date(2027, 1, 4))
    assert add_business_days(date(2026, 12, 25), 1) == date(2026, 12, 28)
    assert add_business_days(date(2026, 12, 28), 1) == date(2027, 1, 4)
    assert expected_paid_date(date(2026, 11, 20)) == date(2026, 12, 7)
    assert portal_shows(date(2024, 1, 1), date(2025, 6, 1))
    assert not portal_shows(date(2023, 12, 1), date(2025, 6, 1))
    assert not portal_shows(date(2024, 11, 1), date(2026, 11, 24)) and portal_shows(date(2024, 12, 1), date(2026, 11, 24))


@pytest.mark.parametrize(
    "withdrawn_on, reading_day, resume",
    [
        (date(2026, 11, 14), 15, date(2026, 11, 1)),  # the day before the reading: this month
        (date(2026, 11, 15), 15, date(2026, 12, 1)),  # on the reading day: next month
        (date(2026, 11, 16), 15, date(2026, 12, 1)),
        (date(2026, 12, 31), 1, date(2027, 1, 1)),
        (date(2026, 12, 1), 2, date(2026, 12, 1)),
    ],
)
def test_paper_notices_resume_boundaries(withdrawn_on, reading_day, resume):
    assert paper_notices_resume(withdrawn_on, reading_day) == resume


def test_coordinator_cannot_open_customer_pages(client, login_as, customer_with_history):
    contract, account = customer_with_history
    login_as("disaster_coordinator")
    assert client.get(f"/customer/account/{account.id}").status_code == 403
    assert client.get(f"/customer/contract/{contract.id}").status_code == 403
    assert client.get("/locked-accounts/").status_code == 403
    assert client.get("/registration-check/").status_code == 403


def test_unknown_account_is_404(client, login_as):
    login_as("operator")
    assert client.get("/customer/account/999999").status_code == 404
    assert client.get("/customer/contract/999999").status_code == 404


def test_time_zone_of_withdrawal(database):
    # Withdrawn at 2026-11-14 16:00 UTC = 11/15 01:00 in Tokyo: on the reading day (15th) → next month.
    contract = factories.contract(meter_reading_day=15)
    account = factories.account(withdrawn_at=datetime(2026, 11, 14, 16, 0, tzinfo=UTC))
    link = factories.link(account, contract, main=True, ended_at=datetime(2026, 11, 14, 16, 0, tzinfo=UTC))
    text = customer._paper_notice_text(contract, None, link)
    assert "2026年12月分から" in text
    assert timedelta(0) <= clock.now() - account.created_at < timedelta(hours=1)


def test_the_whole_page_runs_the_same_few_statements_for_any_account(client, login_as):
    """The customer page, sign-in check, panels, contacts, timeline, outage banner and audit included, runs a
    fixed number of statements for a company with 25 numbers as for a household with one; each page of the
    desk pays them, so a new panel that adds a query per number (or a lazy load per row) fails here."""
    login_as("operator")
    today = clock.today()

    def statements(numbers: int) -> int:
        account = factories.account()
        for i in range(numbers):
            contract = factories.contract()
            factories.link(account, contract, main=i == 0)
            factories.bill(contract, customer.months_back(today, 1))
        db.session.commit()
        client.get(f"/customer/account/{account.id}")  # the sign-in record's once-a-minute write, out of the way
        with factories.statements_run() as seen:
            assert client.get(f"/customer/account/{account.id}").status_code == 200
        return len(seen)

    one, many = statements(1), statements(25)
    assert one == many <= 21, (one, many)


def test_the_page_names_other_staff_without_reading_their_secrets(client, login_as):
    """The audit panel, the contacts and their follow-ups name the members who acted: their names are read,
    not their password hashes, second-factor secrets or roles (only the signed-in member's own sign-in
    check reads theirs)."""
    login_as("operator")
    colleague = factories.staff("operator", name="応対花子")
    contract = factories.contract()
    contacts_service.record_contact(colleague, contacts_service.ContactInput(
        category="login", memo="折り返し希望", follow_up_what="検針票を送る", follow_up_days="3",
        follow_up_assignee=str(colleague.id)), contract=contract)
    customer.view_contract(colleague, contract.id, today=clock.today())
    db.session.commit()
    with factories.statements_run() as seen:
        page = client.get(f"/customer/contract/{contract.id}").get_data(as_text=True)
    assert page.count("応対花子") >= 3  # the audit panel, the contact and its follow-up
    secrets = [s for s in seen if "password_hash" in s or "totp_secret" in s]
    assert len(secrets) == 1 and "staff_session" in secrets[0], secrets
    assert not [s for s in seen if "staff_role" in s and "staff_session" not in s]
