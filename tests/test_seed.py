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
from console.seed.demo import DEMO_STAFF, DEMO_TOTP_SECRETS, load
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
        staff = authenticate(email, password)
        assert staff.role_names == set(roles)
        assert staff.has_second_factor and staff.totp_secret == DEMO_TOTP_SECRETS[email]


def test_generated_keys_are_the_models_keys():
    """The city loader writes the keys generate computes, the demo loader lets the models compute them:
    both come from normalise.name_key, old kanji and hiragana included."""
    import random

    values = generate.contract_values(random.Random(1), 1, date(2026, 4, 1), holder=("髙橋 一郎", "たかはし いちろう"))
    assert values["holder_name_key"] == "高橋一郎" and values["holder_kana_key"] == "タカハシイチロウ"
    contract = Contract(holder_name="髙橋 一郎", holder_kana="たかはし いちろう")
    assert (contract.holder_name_key, contract.holder_kana_key) == (values["holder_name_key"], values["holder_kana_key"])


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
                    assert account.name_key == (normalise.name_key(account.name) or None)
                    assert account.name_kana_key == (normalise.name_key(account.name_kana) or None)
                    assert account.sms_phone_digits == (normalise.phone_digits(account.sms_phone) or None)
                assert _later_than_now() == []  # no meter read, nothing paid, nobody called later than now
                # Vacuumed, as autovacuum keeps a running database (CI's PostgreSQL runs without it).
                vacuums = dict(db.session.execute(text(
                    "SELECT relname, vacuum_count FROM pg_stat_user_tables WHERE relname = ANY(:tables)"),
                    {"tables": city.BIG_TABLES}).all())
                assert vacuums.keys() == set(city.BIG_TABLES) and min(vacuums.values()) > 0, vacuums
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


# Dates that name a plan or an expectation, not something that happened: they may lie ahead.
PLANNED = {
    ("bill", "due_date"), ("start_application", "desired_start_date"), ("stop_application", "desired_stop_date"),
    ("outage_notice_version", "expected_restoration_at"), ("name_change", "effective_date"),
    ("handover", "target_date"), ("report_run", "expires_at"), ("follow_up", "due_date"),
}


def _later_than_now() -> list[tuple]:
    """Every date and time in the database later than now (console.clock), but those that name a plan."""
    from sqlalchemy import Date, DateTime

    from console import clock

    future, checked = [], set()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            kind = getattr(column.type, "impl", column.type)  # UTCDateTime is a TypeDecorator over DateTime
            if (table.name, column.name) in PLANNED or not isinstance(kind, Date | DateTime):
                continue
            checked.add((table.name, column.name))
            latest = db.session.scalar(select(func.max(column)))
            if latest is not None and latest > (clock.now() if isinstance(kind, DateTime) else clock.today()):
                future.append((table.name, column.name, latest))
    assert {("bill", "reading_date"), ("bill", "paid_on"), ("outage_notice_version", "published_at"),
            ("start_application", "received_at"), ("portal_account", "created_at"), ("contact", "at")} <= checked
    return future


def test_demo_data_is_a_morning_at_the_desk(database):
    """Whatever the clock says (the suite also runs at 15:30 UTC and at a month's last minute): nothing in
    the demo has happened later than now, and the start-application queue is mostly within its level."""
    from console import clock
    from console.models import ApplicationStatus
    from console.services.calendar import add_business_days, is_business_day
    from console.services.start_applications import is_overdue, sla_business_days

    load(seed=11, echo=lambda *_: None)
    now, today = clock.now(), clock.today()
    assert _later_than_now() == []

    pending = db.session.scalars(select(StartApplication).where(
        StartApplication.status == ApplicationStatus.PENDING)).all()
    assert len(pending) >= 10
    deadlines = [add_business_days(a.received_at.astimezone(clock.TOKYO).date(), sla_business_days())
                 for a in pending]
    overdue = sum(is_overdue(a.received_at, today) for a in pending)
    due_today = sum(d == today for d in deadlines)
    within = sum(d > today for d in deadlines)
    assert 1 <= overdue <= len(pending) // 4, (overdue, len(pending))
    assert within > len(pending) // 2
    assert due_today >= 1 if is_business_day(today) else due_today == 0
    assert all(a.received_at <= now and a.desired_start_date > a.received_at.astimezone(clock.TOKYO).date()
               for a in pending)
    # A building's handover waits for the supervisor, who approves its name changes as one decision.
    from console.models import ChangeStatus, NameChange
    from console.services.holders import group_name_changes

    waiting = db.session.scalars(select(NameChange).where(NameChange.status == ChangeStatus.PENDING)).all()
    assert max(len(g.pending) for g in group_name_changes(waiting)) >= 20
    # The exercise notice's versions are out already, in order.
    published = db.session.scalars(select(OutageNoticeVersion.published_at)
                                   .order_by(OutageNoticeVersion.version_no)).all()
    assert published == sorted(published) and published[-1] <= now


def test_public_supply_points_read_as_they_are_written(database):
    """Each supply point's kana is the reading of its whole name (the public pages show both); a town's
    reading is Japan Post's (console/towns.py), so every demo town is a real one of its ward."""
    from console import towns
    from console.seed.data import PERMANENT_POINTS, TOWNS

    load(seed=5, echo=lambda *_: None)
    readings = {name: kana for _w, name, kana, *_ in PERMANENT_POINTS}
    for ward_code, (names, _centre) in TOWNS.items():
        for town in names:
            kana = towns.find(ward_code, town).kana
            readings[f"市立{town}小学校"] = f"シリツ{kana}ショウガッコウ"
            readings[f"{town}公園"] = f"{kana}コウエン"
    points = db.session.scalars(select(SupplyPoint)).all()
    assert len(points) == 4 + 2 * len(WARDS)
    for point in points:
        assert point.kana == readings[point.name], point.name
        assert normalise.nfkc(point.kana) == point.kana and all("\u30a0" <= ch <= "\u30ff" for ch in point.kana)
    # Names and readings of people and companies in the vocabularies: katakana only, one reading per name.
    from console.seed.data import COMPANY_STEMS, GIVEN_NAMES, SURNAMES

    for _name, kana in SURNAMES + GIVEN_NAMES + COMPANY_STEMS:
        assert kana and all("\u30a0" <= ch <= "\u30ff" for ch in kana), kana
