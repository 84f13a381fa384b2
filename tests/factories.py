"""Small factories that keep tests short (after CTFd's gen_* helpers). Each adds and flushes (notice_input,
what a coordinator types, adds nothing)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from sqlalchemy import event

from console import clock, transaction
from console.extensions import db
from console.models import (
    AccountLink,
    Bill,
    Contract,
    HolderHistory,
    HolderKind,
    LinkSource,
    NoticeChannel,
    PaymentMethod,
    PortalAccount,
    RegistrationStatus,
    RegistrationStep,
    Role,
    Staff,
    StaffRole,
)
from console.services import DomainError
from console.services.outage_notices import NoticeInput

PASSWORD = "correct-horse-battery-staple"
# Every test member's second factor unless a test says otherwise; tests/conftest.py's sign_in answers the
# code step with the code for console.clock's now.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# Argon2id at the suite's cost (tests/conftest.py sets the same), so signing in needs no rehash.
TEST_HASH_COST = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024}
_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
_seq = itertools.count(1)


def totp_code(secret: str = TOTP_SECRET, *, step_offset: int = 0) -> str:
    """The code an authenticator app shows for secret at console.clock's now (moved by --clock too), or
    step_offset time steps (30 s) later."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(clock.now()) + step_offset)


def _added(row):
    """The row added to the session and flushed (its id known): every factory's last step."""
    db.session.add(row)
    db.session.flush()
    return row


def _made(model, values: dict, overrides: dict):
    """A row of model from the factory's values with the test's overrides, added and flushed."""
    values.update(overrides)
    return _added(model(**values))


def staff(*roles: str, email: str | None = None, name: str = "テスト職員", enrolled: bool = True) -> Staff:
    """A staff member holding the given roles (operator when none given), password PASSWORD, and a second
    factor enrolled with TOTP_SECRET (enrolled=False: the member enrols at the first sign-in)."""
    n = next(_seq)
    member = Staff(email=email or f"staff{n}@example.jp", name=f"{name}{n}", password_hash=_HASH)
    if enrolled:
        member.totp_secret, member.totp_enrolled_at = TOTP_SECRET, clock.now()
    member.roles = [StaffRole(role=Role(r)) for r in (roles or ("operator",))]
    return _added(member)


def contract(**overrides) -> Contract:
    """A person's contract in 北区 with a holder history entry."""
    n = next(_seq)
    values = dict(
        customer_number=f"K{n:09d}",
        settlement_number=f"24B{n:07d}",
        holder_name="山田 太郎",
        holder_kana="ヤマダ タロウ",
        holder_kind=HolderKind.PERSON,
        ward_code="27127",
        town="梅田一丁目",
        address_line=f"{n}-1",
        building=None,
        room=None,
        contract_phone="06-6458-1132",
        payment_method=PaymentMethod.BANK_TRANSFER,
        bank_last4="1234",
        meter_reading_day=10,
        start_date=date(2020, 4, 1),
    )
    values.update(overrides)
    row = Contract(**values)
    row.holders = [
        HolderHistory(
            holder_name=row.holder_name,
            holder_kana=row.holder_kana,
            holder_kind=row.holder_kind,
            effective_from=row.start_date,
        )
    ]
    return _added(row)


def account(**overrides) -> PortalAccount:
    """A fully registered portal account."""
    n = next(_seq)
    values = dict(
        email=f"customer{n}@example.jp",
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        sms_phone="090-1234-5678",
        registration_step=RegistrationStep.SMS_VERIFIED,
        registration_status=RegistrationStatus.FULL,
    )
    return _made(PortalAccount, values, overrides)


def link(account_row: PortalAccount, contract_row: Contract, *, main: bool = False, **overrides) -> AccountLink:
    """Link a customer number to an account."""
    values = dict(account_id=account_row.id, contract_id=contract_row.id, is_main=main, source=LinkSource.PORTAL)
    return _made(AccountLink, values, overrides)


def start_application(**overrides):
    """A pending start application by phone for a room in 北区 (pass account=… for a portal one)."""
    from datetime import timedelta

    from console.models import Channel, StartApplication

    n = next(_seq)
    values = dict(
        channel=Channel.PHONE, applicant_name="佐藤 花子", applicant_kana="サトウ ハナコ", holder_kind=HolderKind.PERSON,
        phone="090-2222-3333", email=f"applicant{n}@example.jp", ward_code="27127", town="天神橋二丁目",
        address_line=f"{n}-5", building="天神橋ハイツ", room="101", desired_start_date=clock.today() + timedelta(days=7),
        payment_method=PaymentMethod.PAYMENT_NOTICE, received_at=clock.now(),
    )
    return _made(StartApplication, values, overrides)


def stop_application(contract_row: Contract, **overrides):
    """A pending stop application by phone."""
    from datetime import timedelta

    from console.models import Channel, StopApplication

    values = dict(channel=Channel.PHONE, contract_id=contract_row.id, desired_stop_date=clock.today() + timedelta(days=5),
                  final_bill_address="大阪市北区中崎西二丁目1-1 転居先")
    return _made(StopApplication, values, overrides)


def notice_input(**overrides) -> NoticeInput:
    """What a coordinator types for an emergency outage in 北区 (27127), from 06:00 to 18:00 on 2026-11-25."""
    values = dict(
        kind="emergency", phenomenon="outage", mode="actual", title="断水のお知らせ",
        body="配水管の破損により断水しています。", guidance="給水拠点をご利用ください。",
        starts_at="2026-11-25T06:00", expected_restoration_at="2026-11-25T18:00", wards=("27127",),
    )
    values.update(overrides)
    return NoticeInput(**values)


@contextmanager
def committed(app):
    """Rows the factories make inside this block are committed on the app's own engine, outside any
    test's rolled-back transaction: for tests that act on several real connections at once. Works on
    PostgreSQL and on the embedded SQLite default alike."""
    with app.app_context():
        try:
            yield
            db.session.commit()
        finally:
            db.session.remove()


def bill(contract_row: Contract, period: date, **overrides) -> Bill:
    """A paper-notice bill of the month period (first day), read on the contract's reading day."""
    reading = period.replace(day=contract_row.meter_reading_day)
    values = dict(
        contract_id=contract_row.id,
        period=period,
        reading_date=reading,
        usage_m3=20,
        water_charge=2_640,
        sewer_charge=1_980,
        due_date=reading + timedelta(days=30),
        payment_method=contract_row.payment_method,
        notice_channel=NoticeChannel.PAPER,
    )
    return _made(Bill, values, overrides)


def race(app, attempts: dict[str, tuple[int, Callable[[Staff], Any]]]) -> dict[str, Any]:
    """Run each attempt {name: (staff id, act(actor))} in its own thread, app context, session and real
    connection, all released at the same moment; each commits (console.transaction) or rolls back.

    Returns {name: act's result, or a refusal's Japanese message, or repr() of any other error}.
    """
    barrier = threading.Barrier(len(attempts), timeout=60)  # a thread that failed early must not hang the run
    outcomes: dict[str, Any] = {}

    def attempt(name: str, staff_id: int, act: Callable[[Staff], Any]) -> None:
        with app.app_context():
            actor = db.session.get(Staff, staff_id)
            # End the read before waiting: on SQLite every transaction holds the write lock from BEGIN.
            transaction.commit()
            barrier.wait()
            try:
                outcomes[name] = act(actor)
                transaction.commit()
            except DomainError as exc:
                transaction.rollback()
                outcomes[name] = exc.message
            except Exception as exc:  # noqa: BLE001 - the test's assertion shows it
                transaction.rollback()
                outcomes[name] = repr(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(name, staff_id, act))
               for name, (staff_id, act) in attempts.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """The SQL statements run on the test's database inside the block (for "the query count does not grow")."""
    seen: list[str] = []
    engine = db.engines[None].engine

    def listener(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)
