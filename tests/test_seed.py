"""Demo data covers every case the desk meets, and obeys the database's rules."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from console import normalise
from console.extensions import db
from console.models import (
    AccountLink,
    Bill,
    Contract,
    HolderHistory,
    OutageNoticeVersion,
    PortalAccount,
    RegistrationStatus,
    RegistrationStep,
    StartApplication,
    SupplyPoint,
)
from console.seed import generate
from console.seed.demo import DEMO_STAFF, load
from console.services.staff import authenticate
from console.wards import WARDS


def test_demo_data(database):
    """One load (a few seconds), every property checked on it."""
    load(seed=7, echo=lambda *_: None)
    _every_registration_step_and_status()
    _links_obey_r4_and_r5()
    _bills_span_2019_04_to_now_with_the_r16_amounts()
    _supply_points_in_every_ward_and_an_exercise()
    _stored_keys_equal_what_normalise_computes()
    _a_name_change_in_the_history()
    _demo_sign_ins_work()


def _every_registration_step_and_status():
    accounts = db.session.scalars(select(PortalAccount)).all()
    assert {a.registration_step for a in accounts} == set(RegistrationStep)
    assert {a.registration_status for a in accounts} == set(RegistrationStatus)
    assert any(a.locked_at for a in accounts) and any(a.withdrawn_at for a in accounts)
    assert any(not a.global_notifications for a in accounts)
    pending = db.session.scalars(select(StartApplication).where(StartApplication.with_registration.is_(True))).all()
    assert pending and all(a.account.registration_status == "provisional" for a in pending)


def _links_obey_r4_and_r5():
    active = db.session.scalars(select(AccountLink).where(AccountLink.ended_at.is_(None))).all()
    assert max(Counter(lk.contract_id for lk in active).values()) == 1
    per_account = Counter(lk.account_id for lk in active)
    mains = Counter(lk.account_id for lk in active if lk.is_main)
    assert all(mains[account] == 1 for account in per_account)
    assert max(per_account.values()) > 20  # the management company


def _bills_span_2019_04_to_now_with_the_r16_amounts():
    first, last = db.session.execute(select(func.min(Bill.period), func.max(Bill.period))).one()
    assert first == date(2019, 4, 1) and last >= date(2026, 11, 1)
    totals = set(db.session.scalars(select(Bill.water_charge + Bill.sewer_charge)))
    assert {300_000, 299_999} <= totals


def _supply_points_in_every_ward_and_an_exercise():
    wards = set(db.session.scalars(select(SupplyPoint.ward_code)))
    assert wards == set(WARDS)
    assert db.session.scalar(select(func.count()).where(SupplyPoint.point_type == "permanent")) == 4
    versions = db.session.scalars(select(OutageNoticeVersion).order_by(OutageNoticeVersion.version_no)).all()
    assert [(v.version_type, v.mode) for v in versions] == [("alert", "exercise"), ("update", "exercise")]


def _stored_keys_equal_what_normalise_computes():
    for contract in db.session.scalars(select(Contract).limit(100)):
        assert contract.holder_name_key == normalise.name_key(contract.holder_name)
        assert contract.holder_kana_key == normalise.name_key(contract.holder_kana)
        assert contract.contract_phone_digits == (normalise.phone_digits(contract.contract_phone) or None)
        assert contract.usage_address_key == normalise.address_key(contract.usage_location)
        assert normalise.customer_number(contract.customer_number) == contract.customer_number
        assert normalise.settlement_number(contract.settlement_number) == contract.settlement_number


def _a_name_change_in_the_history():
    counts = Counter(db.session.scalars(select(HolderHistory.contract_id)))
    assert max(counts.values()) == 2


def _demo_sign_ins_work():
    for email, _name, roles, password in DEMO_STAFF:
        assert authenticate(email, password).role_names == set(roles)


def test_generation_is_deterministic():
    import random

    def sample(seed):
        rng = random.Random(seed)
        return [generate.contract_values(rng, i, date(2026, 11, 24)) for i in range(1, 50)]

    assert sample(3) == sample(3) and sample(3) != sample(4)
    numbers = [generate.customer_number(i) for i in range(1, 5000)]
    assert len(set(numbers)) == len(numbers)


@pytest.mark.postgresql
def test_city_loader_at_a_small_scale(database_url):
    """The COPY loader of `seed --size city` on a fresh database: counts, R5, keys, rebuilt indexes, determinism."""
    import uuid

    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from console import create_app
    from console.seed import city

    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    names = [f"console_city_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        first_rows = []
        for name in names:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
            with app.app_context():
                upgrade()
                result = city.load(3, echo=lambda *_: None, scale=0.0004)
                rows = {table: rows for table, (rows, _size) in result["sizes"].items()}
                assert rows["contract"] == rows["contract_holder"] == 600
                assert rows["portal_account"] == 240 and rows["bill"] >= 600 * 20
                assert rows["contact"] == 600 * city.CONTACTS_PER_CONTRACT and rows["follow_up"] == 600
                assert db.session.scalar(text("SELECT count(*) FROM follow_up WHERE status = 'open' "
                                              "AND assignee_id IS NULL")) == 120
                # R5 holds, and the rebuilt constraints are really there.
                assert db.session.scalar(text(
                    "SELECT count(*) FROM (SELECT contract_id FROM account_link WHERE ended_at IS NULL "
                    "GROUP BY contract_id HAVING count(*) > 1) x")) == 0
                indexes = set(db.session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'contract'")))
                assert {"uq_contract_customer_number", "ix_contract_holder_name_key", "ix_contract_place"} <= indexes
                for contract in db.session.scalars(select(Contract).limit(200)):
                    assert contract.holder_name_key == normalise.name_key(contract.holder_name)
                    assert contract.usage_address_key == normalise.address_key(contract.usage_location)
                    assert contract.contract_phone_digits == (normalise.phone_digits(contract.contract_phone) or None)
                for account in db.session.scalars(select(PortalAccount).limit(200)):
                    assert account.email_key == normalise.email_key(account.email)
                    assert account.sms_phone_digits == (normalise.phone_digits(account.sms_phone) or None)
                first_rows.append(db.session.execute(text(
                    "SELECT customer_number, holder_name, usage_address_key FROM contract ORDER BY id LIMIT 50")).all())
                db.session.remove()
                db.engine.dispose()
        assert first_rows[0] == first_rows[1]  # the same seed gives the same city
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
