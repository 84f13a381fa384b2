"""Demo data for `make run` and for trying the console: a few hundred contracts that cover every case
the desk meets (every registration step, a locked and a withdrawn account, a company with many
numbers, provisional registrations waiting for a decision, bills from 2019-04 to now).

It reads as a morning at the desk on whatever day console.clock says it is: nothing has happened
later than now (no meter read tomorrow, no notice published this afternoon), and the start-application
queue is mostly within its service level, with some due today and a few overdue."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert

from .. import clock, transaction
from ..extensions import db
from ..formats import TOKYO
from ..models import (
    AccountLink,
    Bill,
    Channel,
    Contract,
    HolderHistory,
    LinkSource,
    NoticeChannel,
    OutageArea,
    OutageNotice,
    OutageNoticeVersion,
    PaymentMethodChange,
    PaymentStatus,
    PortalAccount,
    RegistrationStatus,
    RegistrationStep,
    StartApplication,
    StopApplication,
    SupplyPoint,
    SupplyPointStatus,
)
from ..services.calendar import add_business_days, add_months, month_start
from ..services.staff import create_staff
from ..services.start_applications import sla_business_days
from ..towns import find as find_town
from ..wards import WARDS
from . import generate
from .data import PERMANENT_POINTS, TOWNS

# (email, name, roles, password) — demo only; printed by `flask --app console demo-logins`.
DEMO_STAFF = [
    ("operator@demo.example.jp", "大阪 一郎", ("operator",), "umeda-desk-morning-2026"),
    ("supervisor@demo.example.jp", "梅田 花子", ("supervisor",), "hanako-checks-twice-2026"),
    ("supervisor2@demo.example.jp", "難波 次郎", ("supervisor",), "namba-second-pair-2026"),
    ("coordinator@demo.example.jp", "淀川 防災", ("disaster_coordinator",), "yodogawa-flood-watch-2026"),
    ("admin@demo.example.jp", "管理 太郎", ("admin",), "kanri-keys-cabinet-2026"),
]

# Each demo member's second factor, enrolled (issue 16): `demo-logins` prints the code it gives now,
# and the secret for an authenticator app. Demo only, like the passwords.
DEMO_TOTP_SECRETS = {
    "operator@demo.example.jp": "RJFFVWVIREWAWIQNNBANQ7OVCIXGT4PZ",
    "supervisor@demo.example.jp": "ILBF4AHHEYP3OWXQWBMU25CLZT5JSDNS",
    "supervisor2@demo.example.jp": "YV4LBODYFCFAO3N24MG32EN327PMK26X",
    "coordinator@demo.example.jp": "MI3CG5ACDPTABSRQO62BIM4B3XQXV6N4",
    "admin@demo.example.jp": "DPEGOP2QNFF3DNRHAJ6GBCUOE7274GLT",
}

CONTRACTS = 300
APPLICATIONS = 12
# The queue of a plausible morning: (overdue, due today, within the service level) out of APPLICATIONS.
QUEUE_SHAPE = (2, 3, 7)
COMPANY_NUMBERS = 25
FIRST_BILL_PERIOD = date(2019, 4, 1)
_serial = itertools.count(1)

# A caller to try the lookup with (also in README): 山田 太郎, 090-1234-5678, yamada.taro@example.jp.
YAMADA = {"name": "山田 太郎", "kana": "ヤマダ タロウ", "phone": "090-1234-5678", "email": "yamada.taro@example.jp"}


def _aware(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TOKYO).astimezone(UTC)


def load(seed: int, echo=print) -> dict:
    """Load the demo data into an empty database; returns counts for the summary."""
    global _serial
    _serial = itertools.count(1)
    rng = random.Random(seed)
    today = clock.today()
    for email, name, roles, password in DEMO_STAFF:
        create_staff(None, email, name, roles, password, totp_secret=DEMO_TOTP_SECRETS[email])
    contracts = _contracts(rng, today)
    accounts = _accounts(rng, today, contracts)
    bills = _bills(rng, today, contracts, accounts)
    _applications(rng, today, contracts, accounts)
    _reissues(today, contracts)
    _handover_waiting(today, contracts)
    contact_count = _contacts(rng, today, contracts)
    points = _supply_points(rng)
    _exercise_incident(today)
    transaction.commit()
    counts = {"contracts": len(contracts), "accounts": len(accounts), "bills": bills, "supply_points": points,
              "contacts": contact_count}
    echo("demo data: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    echo(f"  試しに検索: {YAMADA['name']} / {YAMADA['phone']} / {YAMADA['email']} / {contracts[0].customer_number}")
    return counts


def _contract(rng, index, today, **kwargs) -> Contract:
    values = generate.contract_values(rng, index, today, **kwargs)
    for key in ("holder_name_key", "holder_kana_key", "contract_phone_digits", "usage_address_key"):
        values.pop(key)  # the model computes these itself
    contract = Contract(**values)
    contract.holders = [HolderHistory(holder_name=contract.holder_name, holder_kana=contract.holder_kana,
                                      holder_kind=contract.holder_kind, effective_from=contract.start_date)]
    db.session.add(contract)
    return contract


def _contracts(rng, today) -> list[Contract]:
    wards = list(WARDS)
    contracts = [_contract(rng, 1, today, holder=(YAMADA["name"], YAMADA["kana"]),
                           location=generate.place(rng, "27127", building_share=0))]
    contracts[0].contract_phone = "06-6458-0001"
    building = generate.place(rng, "27127", building_share=1)
    for i in range(COMPANY_NUMBERS):
        location = dict(building, room=f"{i // 5 + 1}{i % 5 + 1:02d}号室")
        contracts.append(_contract(rng, len(contracts) + 1, today, kind="company",
                                   holder=("株式会社大阪住宅管理", "カブシキガイシャオオサカジュウタクカンリ"),
                                   location=location))
    while len(contracts) < CONTRACTS:
        contracts.append(_contract(rng, len(contracts) + 1, today,
                                   location=generate.place(rng, wards[len(contracts) % len(wards)])))
    db.session.flush()
    # A contract stopped last year, restarted at the same place on the portal (R14, Q31).
    old, new_index = contracts[40], CONTRACTS + 1
    old.stop_date = today - timedelta(days=300)
    location = {k: getattr(old, k) for k in ("ward_code", "town", "address_line", "building", "room")}
    restart = _contract(rng, new_index, today, holder=(old.holder_name, old.holder_kana), location=location)
    restart.start_date = old.stop_date + timedelta(days=1)
    restart.previous_contract_id = old.id
    contracts.append(restart)
    for stopped in contracts[50:55]:
        stopped.stop_date = today - timedelta(days=rng.randint(30, 700))
    # A name change in the past: two holders with effective dates (R12).
    changed = contracts[60]
    first = changed.holders[0]
    first.effective_to = date(2022, 3, 31)
    changed.holders.append(HolderHistory(holder_name=changed.holder_name, holder_kana=changed.holder_kana,
                                         holder_kind=changed.holder_kind, effective_from=date(2022, 4, 1)))
    first.holder_name, first.holder_kana = generate.person(rng)
    db.session.flush()
    return contracts


def _account(rng, today, *, name=None, email=None, sms=None, step=RegistrationStep.SMS_VERIFIED,
             status=RegistrationStatus.FULL, created=None, **extra) -> PortalAccount:
    name, kana = name or generate.person(rng)
    values = dict(
        email=email or f"user{next(_serial):04d}@example.jp",
        name=name, name_kana=kana, sms_phone=sms or generate.mobile(rng), registration_step=step,
        registration_status=status, created_at=created or _aware(today - timedelta(days=rng.randint(30, 900))),
        global_notifications=rng.random() > 0.1,
    )
    values.update(extra)
    account = PortalAccount(**values)
    if status == RegistrationStatus.FULL:
        account.registered_at = account.created_at
    db.session.add(account)
    return account


def _link(account, contract, main, source=LinkSource.PORTAL, **extra):
    db.session.add(AccountLink(account_id=account.id, contract_id=contract.id, is_main=main, source=source,
                               linked_at=account.created_at, **extra))


def _accounts(rng, today, contracts) -> list[PortalAccount]:
    yamada = _account(rng, today, name=(YAMADA["name"], YAMADA["kana"]), email=YAMADA["email"], sms=YAMADA["phone"],
                      created=_aware(date(2024, 6, 1)), global_notifications=True)
    company = _account(rng, today, name=("株式会社大阪住宅管理", "カブシキガイシャオオサカジュウタクカンリ"),
                       email="kanri@osaka-jutaku.example.jp", created=_aware(date(2024, 2, 1)))
    locked = _account(rng, today, locked_at=clock.now() - timedelta(hours=2), failed_login_count=5)
    withdrawn = _account(rng, today, withdrawn_at=clock.now() - timedelta(days=12))
    opted_out = _account(rng, today, global_notifications=False)
    in_progress = [
        _account(rng, today, step=step, status=RegistrationStatus.IN_PROGRESS)
        for step in (RegistrationStep.EMAIL_VERIFIED, RegistrationStep.USER_INFO, RegistrationStep.CONTRACT_INFO)
    ]
    void = _account(rng, today, status=RegistrationStatus.VOID, voided_at=clock.now() - timedelta(days=3))
    provisional = [_account(rng, today, status=RegistrationStatus.PROVISIONAL,
                            created=clock.now() - timedelta(days=rng.randint(0, 6))) for _ in range(6)]
    db.session.flush()
    _link(yamada, contracts[0], True)
    for i, contract in enumerate(contracts[1:1 + COMPANY_NUMBERS]):
        _link(company, contract, i == 0)
    _link(locked, contracts[30], True)
    _link(withdrawn, contracts[31], True, ended_at=withdrawn.withdrawn_at, end_reason="退会")
    _link(opted_out, contracts[32], True)
    # The restarted contract was linked automatically by the portal (R14).
    restarted_owner = _account(rng, today, name=(contracts[-1].holder_name, contracts[-1].holder_kana))
    db.session.flush()
    _link(restarted_owner, contracts[-1], True, source=LinkSource.PORTAL_RESTART)
    full = [yamada, company, locked, withdrawn, opted_out, restarted_owner]
    # Ordinary customers: about half the remaining contracts, some with two numbers.
    pool = [c for c in contracts[70:CONTRACTS] if c.stop_date is None]
    rng.shuffle(pool)
    while len(pool) > 60:
        account = _account(rng, today, name=(pool[-1].holder_name, pool[-1].holder_kana))
        db.session.flush()
        _link(account, pool.pop(), True)
        if rng.random() < 0.2:
            _link(account, pool.pop(), False)
        full.append(account)
    db.session.flush()
    return full + in_progress + [void] + provisional


def _bills(rng, today, contracts, accounts) -> int:
    linked_since = {}
    for link in db.session.query(AccountLink).all():
        linked_since[link.contract_id] = link.linked_at.astimezone(TOKYO).date()
    rows = []
    last = month_start(today)
    for contract in contracts:
        period = max(FIRST_BILL_PERIOD, add_months(contract.start_date, 1))
        end = month_start(contract.stop_date) if contract.stop_date else last
        while period <= end:
            reading = period.replace(day=contract.meter_reading_day)
            if reading > today:
                break  # this month's meter has not been read yet
            usage = rng.randint(5, 40) if contract.holder_kind == "person" else rng.randint(30, 200)
            water, sewer = generate.charges(usage)
            paid = period < add_months(last, -1) or rng.random() < 0.5
            paid_on = reading + timedelta(days=rng.randint(10, 25)) if paid else None
            if paid_on is not None and paid_on > today:
                paid, paid_on = False, None  # not paid yet: the payment would be in the future
            recent_payment = paid and period == add_months(last, -1) and rng.random() < 0.5
            rows.append({
                "contract_id": contract.id, "period": period, "reading_date": reading, "usage_m3": usage,
                "water_charge": water, "sewer_charge": sewer, "due_date": reading + timedelta(days=30),
                "payment_method": contract.payment_method,
                "notice_channel": NoticeChannel.PORTAL if contract.id in linked_since
                and period >= month_start(linked_since[contract.id]) else NoticeChannel.PAPER,
                # A payment made in the last days shows as unpaid until it is reflected (R11).
                "payment_status": PaymentStatus.PAID if paid and not recent_payment else PaymentStatus.UNPAID,
                "paid_on": max(reading, today - timedelta(days=3)) if recent_payment else paid_on,
            })
            period = add_months(period, 1)
    # R16: a company bill of exactly 300,000 yen (paper payment notice) and one of 299,999 yen.
    company_rows = [r for r in rows if r["contract_id"] == contracts[1].id]
    for row, total in zip(company_rows[-3:-1], (300_000, 299_999)):
        row["water_charge"], row["sewer_charge"] = total - total // 3, total // 3
    db.session.execute(insert(Bill), rows)
    return len(rows)


def _queue_days(today: date, now: datetime) -> tuple[list[date], list[date], list[date]]:
    """Days an application could have been received on to be overdue, due today or within the service level."""
    overdue, due_today, within = [], [], []
    sla = sla_business_days()
    for back in range(0, 21):
        day = today - timedelta(days=back)
        if back == 0 and now - datetime.combine(today, time(0), tzinfo=TOKYO) < timedelta(minutes=30):
            continue  # just past midnight: nothing has come in today yet
        deadline = add_business_days(day, sla)
        (overdue if deadline < today else due_today if deadline == today else within).append(day)
    return overdue[:5], due_today, within


def _received_at(rng, day: date, now: datetime) -> datetime:
    """A time on `day` when applications come in (8:30–20:00 on the portal), never later than now."""
    opening = datetime.combine(day, time(8, 30), tzinfo=TOKYO)
    closing = min(datetime.combine(day, time(20, 0), tzinfo=TOKYO), now - timedelta(minutes=5))
    if closing <= opening:  # today, before the desk opens: one sent from the portal in the night
        opening = max(datetime.combine(day, time(0, 5), tzinfo=TOKYO), now - timedelta(hours=3))
        closing = now - timedelta(minutes=1)
    return (opening + (closing - opening) * rng.random()).replace(microsecond=0)


def _applications(rng, today, contracts, accounts):
    provisional = [a for a in accounts if a.registration_status == RegistrationStatus.PROVISIONAL]
    now = clock.now()
    overdue, due_today, within = _queue_days(today, now)
    wanted_overdue, wanted_today, _ = QUEUE_SHAPE
    # Due today exists only on a business day (a deadline always is one); otherwise those are within the level.
    days = ([rng.choice(overdue) for _ in range(wanted_overdue)]
            + [rng.choice(due_today or within) for _ in range(wanted_today)])
    days += [rng.choice(within) for _ in range(APPLICATIONS - len(days))]
    rng.shuffle(days)
    for i in range(APPLICATIONS):
        with_registration = i < len(provisional)
        name, kana = (provisional[i].name, provisional[i].name_kana) if with_registration else generate.person(rng)
        location = generate.place(rng)
        if i == 0:
            # Same building and a neighbouring room of an existing contract: the classic room mix-up.
            existing = contracts[1]
            location = {k: getattr(existing, k) for k in ("ward_code", "town", "address_line", "building")}
            location["room"] = existing.room
        received = _received_at(rng, days[i], now)
        if with_registration:
            provisional[i].created_at = received - timedelta(minutes=rng.randint(2, 20))
        db.session.add(StartApplication(
            channel=Channel.PORTAL if with_registration or i % 3 else Channel.PHONE,
            account_id=provisional[i].id if with_registration else None, with_registration=with_registration,
            applicant_name=name, applicant_kana=kana, holder_kind="person", phone=generate.mobile(rng),
            email=provisional[i].email if with_registration else None,
            desired_start_date=days[i] + timedelta(days=rng.randint(4, 21)),
            payment_method=rng.choice(["bank_transfer", "payment_notice", "e_payment"]),
            received_at=received, **location,
        ))
    for contract in contracts[100:102]:
        db.session.add(StopApplication(channel=Channel.PHONE, contract_id=contract.id,
                                       desired_stop_date=today + timedelta(days=10),
                                       final_bill_address="大阪市北区梅田一丁目1-1 転居先"))
    db.session.add(PaymentMethodChange(contract_id=contracts[0].id, from_method=contracts[0].payment_method,
                                       to_method="e_payment", channel=Channel.PORTAL))


def _reissues(today, contracts):
    """Reissue requests in every status; one spans the name change of contracts[60] (old and new holder)."""
    from sqlalchemy import select

    from ..models import Staff
    from ..services import print_batches, reissue_requests

    operator, supervisor = (db.session.scalar(select(Staff).where(Staff.email == email))
                            for email in ("operator@demo.example.jp", "supervisor@demo.example.jp"))

    def billed(contract, months):
        first = max(FIRST_BILL_PERIOD, add_months(contract.start_date, 1))
        return all(first <= m <= month_start(contract.stop_date or today) for m in months)

    spare = iter(c for c in contracts[100:] if billed(c, [date(2022, 12, 1), date(2023, 12, 1)]))
    cases = [  # (contract, months, relation, days ago, what happens next)
        (contracts[60], "2022-03 2022-04", "holder", 0, None),
        (contracts[0], "2023-11 2023-12", "family", 0, "other address"),
        (next(spare), "2023-10 2023-11", "holder", 6, "mailed"),
        (next(spare), "2022-12", "family", 2, "in batch"),
        (next(spare), "2023-03", "holder", 2, "cancelled"),
    ]
    for contract, months, relation, days_ago, then in cases:
        months = reissue_requests.parse_months(months)
        if not billed(contract, months):
            continue
        other = then == "other address"
        request = reissue_requests.request_reissue(
            operator, contract, months=months, send_to="other" if other else "mailing_address",
            caller_relation=relation, other_address="大阪市中央区大手前二丁目1-1 山田方" if other else None,
            other_address_reason="入院中のため家族宅へ" if other else None,
        )
        request.requested_at = clock.now() - timedelta(days=days_ago, hours=1)
        if then == "cancelled":
            reissue_requests.cancel_reissue(operator, request.id, "お客さまから、見つかったので不要と連絡")
        elif then in ("mailed", "in batch"):
            day = today - timedelta(days=days_ago - 1)
            batch = print_batches.gather_print_batch(supervisor, print_batches.daily_batch_key(day), print_batches.cutoff_for_day(day))
            batch.created_at = _aware(day, 17)
            print_batches.write_batch_files(batch)
            if then == "mailed":
                print_batches.mark_batch_mailed(supervisor, batch.id)


def _handover_waiting(today, contracts):
    """The company's building changes management company: opened yesterday, its name changes wait for a
    supervisor, who approves the building's changes as one decision on the name-change list."""
    from sqlalchemy import select

    from ..models import NameChange, Staff
    from ..services import handovers

    operator = db.session.scalar(select(Staff).where(Staff.email == "operator@demo.example.jp"))
    handover = handovers.open_handover(
        operator, old_company_name="株式会社大阪住宅管理", new_company_name="株式会社なにわビル管理",
        new_company_kana="カブシキガイシャナニワビルカンリ",
        customer_numbers=" ".join(c.customer_number for c in contracts[1:1 + COMPANY_NUMBERS]),
        target_date=today + timedelta(days=14), identity_check="管理組合の議事録と管理委託契約書の写し",
    )
    opened = clock.now() - timedelta(days=1, hours=2)
    handover.created_at = opened
    for change in db.session.scalars(select(NameChange).where(NameChange.handover_id == handover.id)):
        change.requested_at = opened
    db.session.flush()


def _supply_points(rng) -> int:
    count = 0
    for ward_code, name, kana, address, lat, lon in PERMANENT_POINTS:
        count += _point(f"SP-{ward_code}-00", name, kana, "permanent", ward_code, address, lat, lon, "closed")
    for ward_code, ward in WARDS.items():
        towns, (lat, lon) = TOWNS[ward_code]
        for n, (suffix, kana_suffix, kind) in enumerate(
            [("小学校", "ショウガッコウ", "temporary_tap"), ("公園", "コウエン", "temporary_tank")], start=1
        ):
            town = towns[n % len(towns)]
            status = "open" if ward_code in ("27114", "27123") else "closed"
            school = suffix == "小学校"
            count += _point(
                f"SP-{ward_code}-{n:02d}", f"市立{town}{suffix}" if school else f"{town}{suffix}",
                f"{'シリツ' if school else ''}{find_town(ward_code, town).kana}{kana_suffix}", kind, ward_code, f"{ward}{town}{n}丁目{rng.randint(1, 20)}-{rng.randint(1, 20)}",
                round(lat + rng.uniform(-0.008, 0.008), 6), round(lon + rng.uniform(-0.008, 0.008), 6), status,
            )
    return count


def _point(code, name, kana, kind, ward_code, address, lat, lon, status) -> int:
    point = SupplyPoint(code=code, name=name, kana=kana, point_type=kind, ward_code=ward_code, address=address,
                        latitude=lat, longitude=lon)
    point.statuses = [SupplyPointStatus(status="closed", changed_at=clock.now() - timedelta(days=30))]
    if status != "closed":
        point.statuses.append(SupplyPointStatus(status="preparing", changed_at=clock.now() - timedelta(hours=3)))
        point.statuses.append(SupplyPointStatus(status=status, changed_at=clock.now() - timedelta(hours=1)))
    db.session.add(point)
    return 1


def _exercise_incident(today):
    from sqlalchemy import select

    from ..models import Staff

    coordinator = db.session.scalar(select(Staff).where(Staff.email == "coordinator@demo.example.jp"))
    # An exercise that began three hours ago, with its second report an hour later: both already out.
    now = clock.now()
    start = (now - timedelta(hours=3)).replace(minute=now.minute // 10 * 10, second=0, microsecond=0)
    notice = OutageNotice(status="published", created_by_id=coordinator.id, created_at=start)
    db.session.add(notice)
    db.session.flush()
    for number, kind, body, wards in [
        (1, "alert", "【訓練】地震により配水管が破損したため、東淀川区の一部で断水しています。", ["27114"]),
        (2, "update", "【訓練】断水範囲が淀川区に広がりました。復旧作業を進めています。", ["27114", "27123"]),
    ]:
        version = OutageNoticeVersion(
            notice_id=notice.id, version_no=number, version_type=kind, kind="emergency", phenomenon="outage",
            mode="exercise", title="【訓練】断水のお知らせ", body=body,
            guidance="最寄りの応急給水拠点をご利用ください。給水容器をお持ちください。",
            starts_at=start, expected_restoration_at=start + timedelta(hours=18),
            created_by_id=coordinator.id, published_by_id=coordinator.id,
            created_at=start + timedelta(minutes=10 + 60 * (number - 1)),
            published_at=start + timedelta(minutes=15 + 60 * (number - 1)),
        )
        version.areas = [OutageArea(ward_code=w) for w in wards]
        db.session.add(version)
    db.session.flush()


def _contacts(rng, today, contracts) -> int:
    """A month of the desk's contacts (issue 14) and a few follow-ups held by the demo operator: none waits
    for the desk, so "次を引き受ける" starts empty (the browser test promises its own)."""
    from sqlalchemy import select

    from ..models import (
        CallerRelation,
        Contact,
        ContactCategory,
        ContactChannel,
        ContactDirection,
        FollowUp,
        Staff,
    )

    operator, supervisor = (db.session.scalar(select(Staff).where(Staff.email == email))
                            for email in ("operator@demo.example.jp", "supervisor@demo.example.jp"))
    categories = {c.code: c for c in db.session.scalars(select(ContactCategory))}
    # The calls a desk gets most, most often (weights), with what the operator said.
    common = [("login", 8, "パスワード再設定の手順（Q17）を案内"), ("charges", 7, "使用水量の内訳を説明"),
              ("registration", 6, "お客さま番号と調定番号の記載箇所を案内"), ("payment", 5, "支払済への反映時期（約10営業日）を説明"),
              ("usage_notice", 3, "令和5年12月以前の再発行を受付"), ("name_change", 2, "名義変更の必要書類を案内"),
              ("leak", 2, "指定工事店への連絡を案内"), ("disaster", 2, "応急給水拠点を案内"), ("complaint", 1, "お詫びし、担当へ申し送り"),
              ("other", 1, "ご意見として承った")]
    population = [c for c, weight, _ in common for _ in range(weight)]
    outcomes = {c: o for c, _, o in common}
    rows = []
    for n in range(120):
        code = rng.choice(population)
        days_ago = rng.randint(0, 29)
        rows.append(Contact(
            # Never later than now (the demo is a morning at the desk at whatever hour it is loaded).
            at=min(_aware(today - timedelta(days=days_ago), 9 + n % 8).replace(minute=rng.randint(0, 59)),
                   clock.now() - timedelta(minutes=10 + n)),
            staff_id=(operator if n % 3 else supervisor).id, contract_id=rng.choice(contracts[:100]).id,
            channel=ContactChannel.PHONE if n % 5 else ContactChannel.COUNTER, direction=ContactDirection.INBOUND,
            category_id=categories[code].id, caller_relation=CallerRelation.HOLDER if n % 4 else CallerRelation.FAMILY,
            memo="（デモ）お客さまからのお問い合わせ", outcome=outcomes[code],
        ))
    rows.append(Contact(at=min(_aware(today, 9), clock.now() - timedelta(minutes=5)), staff_id=operator.id,
                        channel=ContactChannel.PHONE,
                        direction=ContactDirection.INBOUND, category_id=categories["other"].id,
                        caller_relation=CallerRelation.OTHER, caller_phone="0661234567",
                        memo="名乗らずに切れた", outcome="お客さま未特定"))
    db.session.add_all(rows)
    db.session.flush()
    for contact, what, due in ((rows[0], "検針値を確認して折り返し", today - timedelta(days=2)),
                               (rows[1], "口座振替の登録状況を確認して連絡", today + timedelta(days=1)),
                               (rows[2], "再発行の発送予定を連絡", today + timedelta(days=3))):
        db.session.add(FollowUp(contact_id=contact.id, what=what, due_date=due, assignee_id=operator.id,
                                created_by_id=contact.staff_id, taken_at=contact.at))
    db.session.flush()
    return len(rows)
