"""Rules the database itself enforces (R4, R5), and the normalised lookup columns."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from console import clock
from console.extensions import db
from console.models import PortalAccount
from tests import factories


def _refused(fn):
    nested = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        fn()
        db.session.flush()
    nested.rollback()


def test_second_active_account_on_a_customer_number_is_refused(database):
    contract = factories.contract()
    old_company, new_company = factories.account(), factories.account()
    factories.link(old_company, contract, main=True)
    _refused(lambda: factories.link(new_company, contract, main=True))


def test_number_can_move_once_the_old_link_ended(database):
    contract = factories.contract()
    old_company, new_company = factories.account(), factories.account()
    old_link = factories.link(old_company, contract, main=True)
    old_link.ended_at = clock.now()
    db.session.flush()
    assert factories.link(new_company, contract, main=True).id


def test_one_main_number_per_account(database):
    account = factories.account()
    factories.link(account, factories.contract(), main=True)
    factories.link(account, factories.contract(), main=False)
    _refused(lambda: factories.link(account, factories.contract(), main=True))


def test_one_live_account_per_email_but_reregistration_after_withdrawal(database):
    first = factories.account(email="Taro@Example.jp")
    _refused(lambda: factories.account(email="taro@example.JP"))
    first.withdrawn_at = clock.now()
    db.session.flush()
    again = factories.account(email="taro@example.jp")
    assert again.email_key == first.email_key == "taro@example.jp"


def test_lookup_columns_are_normalised(database):
    contract = factories.contract(
        holder_name="山田　太郎", holder_kana="ﾔﾏﾀﾞ ﾀﾛｳ", contract_phone="０６－６４５８－１１３２", town="梅田一丁目",
        address_line="2番3号",
    )
    assert contract.contract_phone_digits == "0664581132"
    assert contract.holder_name_key == "山田太郎"
    assert contract.holder_kana_key == "ヤマダタロウ"
    assert contract.usage_address_key.startswith("北区梅田1-2-3")
    account = db.session.get(PortalAccount, factories.account(sms_phone="+81 90-1234-5678", name_kana="やまだ たろう").id)
    assert account.sms_phone_digits == "09012345678"
    assert account.name_kana_key == "ヤマダタロウ"


def test_check_constraint_refuses_unknown_enum_value(database):
    from sqlalchemy import text

    contract = factories.contract()
    nested = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE contract SET payment_method = 'bitcoin' WHERE id = :id"), {"id": contract.id})
    nested.rollback()


def test_timestamps_come_back_aware_utc(database):
    staff = factories.staff("operator")
    db.session.expire_all()
    assert staff.created_at.tzinfo is not None and staff.created_at.utcoffset().total_seconds() == 0
