"""Registration troubleshooting (R2), unlock and password-reset mail (R7), the locked-accounts list."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from console.extensions import db
from console.models import AuditEvent, PaymentMethod
from console.services import DomainError, accounts
from tests import factories
from tests.conftest import csrf_token, password_reset_by_phone

M, X, NA, NE = accounts.MATCH, accounts.MISMATCH, accounts.NOT_APPLICABLE, accounts.NOT_ENTERED


@pytest.fixture()
def operator(database):
    return factories.staff("operator")


@pytest.fixture()
def bank_contract(database):
    return factories.contract(
        customer_number="A123456789", settlement_number="25C7654321", contract_phone="06-1234-5678",
        town="天神橋三丁目", address_line="4-5", payment_method=PaymentMethod.BANK_TRANSFER, bank_last4="9876",
    )


RIGHT = {"phone": "０６－１２３４－５６７８", "usage_location": "北区天神橋3丁目4番5号", "bank_last4": "９８７６"}
WRONG = {"phone": "06-0000-0000", "usage_location": "北区天神橋9-9-9", "bank_last4": "0000"}


@pytest.mark.parametrize(
    "phone, location, bank",
    list(itertools.product(["right", "wrong", "empty"], repeat=3)),
)
def test_every_combination_of_the_second_factors(operator, bank_contract, phone, location, bank):
    entered = {}
    for name, choice in zip(["phone", "usage_location", "bank_last4"], [phone, location, bank]):
        entered[name] = {"right": RIGHT[name], "wrong": WRONG[name], "empty": ""}[choice]
    result = accounts.check_registration(
        operator, customer_number="a123-456-789", settlement_number="25c7654321", **entered
    )
    expected = {"right": M, "wrong": X, "empty": NE}
    assert result.fields == {
        "customer_number": M,
        "settlement_number": M,
        "phone": expected[phone],
        "usage_location": expected[location],
        "bank_last4": expected[bank],
    }
    assert result.would_succeed == ("right" in (phone, location, bank))


def test_settlement_number_must_match(operator, bank_contract):
    result = accounts.check_registration(
        operator, customer_number="A123456789", settlement_number="25C0000000", **RIGHT
    )
    assert result.fields["settlement_number"] == X and not result.would_succeed


def test_unknown_customer_number(operator):
    result = accounts.check_registration(operator, customer_number="Z999999999", settlement_number="25C7654321")
    assert result.fields["customer_number"] == X and not result.would_succeed
    assert "見つかりません" in result.notes[-1]


def test_bank_digits_do_not_apply_to_a_non_bank_customer(operator):
    factories.contract(
        customer_number="B123456789", settlement_number="25D7654321", payment_method=PaymentMethod.PAYMENT_NOTICE,
        bank_last4=None, contract_phone="06-1111-2222",
    )
    result = accounts.check_registration(
        operator, customer_number="B123456789", settlement_number="25D7654321", bank_last4="1234"
    )
    assert result.fields["bank_last4"] == NA and not result.would_succeed
    assert any("口座振替のお客さまではない" in n for n in result.notes)


def test_number_held_by_another_account_cannot_register(operator, bank_contract):
    factories.link(factories.account(), bank_contract, main=True)
    result = accounts.check_registration(
        operator, customer_number="A123456789", settlement_number="25C7654321", **RIGHT
    )
    assert not result.would_succeed and any("既に別のマイページ利用者" in n for n in result.notes)


def test_check_page_never_shows_stored_values(client, login_as, bank_contract):
    db.session.commit()
    login_as("operator")
    token = csrf_token(client, "/registration-check/")
    html = client.post(
        "/registration-check/",
        data={"customer_number": "A123456789", "settlement_number": "25C7654321", "phone": "06-0000-0000",
              "usage_location": "", "bank_last4": "", "csrf_token": token},
    ).get_data(as_text=True)
    assert "この入力内容では登録できません" in html
    assert "1234-5678" not in html and "天神橋" not in html and "9876" not in html
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registration.check")).one()
    assert event.customer_number == "A123456789" and event.detail["fields"]["phone"] == X


@pytest.fixture()
def locked_account(database):
    account = factories.account(
        email="locked@example.jp", locked_at=datetime(2026, 11, 24, 1, 0, tzinfo=UTC), failed_login_count=10
    )
    factories.link(account, factories.contract(), main=True)
    db.session.commit()
    return account


def test_unlock_with_reason_is_audited(client, login_as, locked_account):
    operator = login_as("operator")
    page = f"/customer/account/{locked_account.id}"
    assert "ロック解除" in client.get(page).get_data(as_text=True)
    token = csrf_token(client, page)
    refused = client.post(f"{page}/unlock", data={"reason": "", "csrf_token": token}, follow_redirects=True)
    assert "理由を入力してください" in refused.get_data(as_text=True)
    db.session.refresh(locked_account)
    assert locked_account.locked_at is not None
    client.post(f"{page}/identity", data={"method": "registered_phone", "csrf_token": token})
    client.post(f"{page}/unlock", data={"reason": "本人から電話、本人確認済み", "csrf_token": token})
    db.session.refresh(locked_account)
    assert locked_account.locked_at is None and locked_account.failed_login_count == 0
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.unlock")).one()
    assert event.staff_id == operator.id and event.reason == "本人から電話、本人確認済み"
    assert event.customer_number is None and event.target_id == str(locked_account.id)


def test_unlocking_an_unlocked_account_is_refused(operator):
    with pytest.raises(DomainError):
        accounts.unlock_account(operator, factories.account(), "理由")


def test_password_reset_mail_reaches_a_real_smtp_server(client, login_as, locked_account, smtp_server):
    login_as("operator")
    page = f"/customer/account/{locked_account.id}"
    token = csrf_token(client, page)
    client.post(f"{page}/identity", data={"method": "registered_phone", "csrf_token": token})
    response = client.post(f"{page}/password-reset", data={"reason": "パスワード失念", "csrf_token": token},
                           follow_redirects=True)
    assert "パスワード再設定メールの送信を受け付けました" in response.get_data(as_text=True)
    (message,) = smtp_server.messages
    assert message["To"] == "locked@example.jp"
    assert message["Subject"] == "【大阪市水道局】マイページ パスワード再設定のご案内"
    assert "06-6458-1132" in message.get_content()
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account.password_reset_mail")
    ).one().reason == "パスワード失念"
    # The customer view lists the mail.
    assert "パスワード再設定のご案内" in client.get(page).get_data(as_text=True)


def test_password_reset_is_queued_when_redis_is_configured(client, login_as, locked_account, rq_queue, smtp_server):
    from tests.conftest import run_jobs

    login_as("operator")
    page = f"/customer/account/{locked_account.id}"
    response = password_reset_by_phone(client, page, "失念")
    assert "送信を受け付けました" in response.get_data(as_text=True)
    assert smtp_server.messages == []
    run_jobs(rq_queue)
    assert [m["To"] for m in smtp_server.messages] == ["locked@example.jp"]


def test_locked_accounts_list(client, login_as, locked_account):
    unlocked = factories.account(email="fine@example.jp")
    db.session.commit()
    login_as("supervisor")
    html = client.get("/locked-accounts/").get_data(as_text=True)
    assert f"#{locked_account.id}" in html and f"#{unlocked.id}<" not in html
    assert "locked@example.jp" not in html and "2026年11月24日 10:00" in html
