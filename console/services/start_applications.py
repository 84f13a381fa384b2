"""Start applications (R14, R17, R18): taken by phone, queued, checked against the place, decided once."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from .. import clock, normalise
from ..extensions import db
from ..formats import jdate
from ..models import (
    ApplicationStatus,
    Channel,
    Contract,
    HolderHistory,
    LinkSource,
    Notification,
    NotificationKind,
    PaymentMethod,
    RegistrationStatus,
    Staff,
    StartApplication,
    StopApplication,
)
from ..wards import ward_name
from . import DomainError
from .audit import record
from .calendar import add_business_days
from .decisions import claim_application, pending_application
from .inputs import optional_text, require_text
from .links import holder_of, link_contract
from .mail import record_mail
from .permissions import CUSTOMER_DESK, requires

# Why a start application is refused; the text goes into the 「使用開始申込失敗」 mail (Q7).
REJECT_REASONS = {
    "location_unknown": "ご入力の使用場所を確認できませんでした。",
    "room_unclear": "建物名・部屋番号を確認できませんでした。",
    "already_in_use": "ご入力の使用場所はすでに別のお客さまがご使用中です。",
    "duplicate": "同じ使用場所について、すでに別の使用開始申込を受け付けています。",
    "applicant_unclear": "お申込者さまの情報（氏名・電話番号）を確認できませんでした。",
    "date_invalid": "使用開始希望日にお手続きできませんでした。",
    "other": "お申込内容を確認できませんでした。",
}


# ---------------------------------------------------------------------------------------------
# Numbers


def _letters() -> str:
    return "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O, which staff misread as 1 and 0


def new_numbers(start: date, rng: random.Random | None = None) -> tuple[str, str]:
    """A candidate customer number (letter + 9 digits) and settlement number (yy + letter + 7 digits).

    Uniqueness is the database's: the caller inserts and retries on a collision.
    """
    rng = rng or random.SystemRandom()
    letters = _letters()
    customer = f"{rng.choice(letters)}{rng.randrange(10**9):09d}"
    settlement = f"{start.year % 100:02d}{rng.choice(letters)}{rng.randrange(10**7):07d}"
    assert normalise.customer_number(customer) == customer and normalise.settlement_number(settlement) == settlement
    return customer, settlement


# ---------------------------------------------------------------------------------------------
# Applications taken by phone at the desk


@requires(CUSTOMER_DESK)
def record_start_application(actor: Staff, *, applicant_name: str, applicant_kana: str, holder_kind: str, phone: str,
                             email: str | None, ward_code: str, town: str, address_line: str, building: str | None,
                             room: str | None, mailing_address: str | None, desired_start_date: date | None,
                             payment_method: str, today: date) -> StartApplication:
    """A start application taken by phone (Q32: its number is not linked to a portal account)."""
    from ..models import HolderKind
    from ..wards import WARDS

    name = require_text(applicant_name, column=StartApplication.applicant_name, label="申込者の氏名")
    kana = require_text(applicant_kana, column=StartApplication.applicant_kana, label="申込者のフリガナ", kana=True)
    if holder_kind not in {k.value for k in HolderKind}:
        raise DomainError("個人か法人かを選んでください。", field="holder_kind")
    phone = optional_text(phone, column=StartApplication.phone, label="電話番号")
    digits = normalise.phone_digits(phone)
    if not 10 <= len(digits) <= 11 or not digits.startswith("0"):
        raise DomainError("電話番号は市外局番から10桁か11桁で入力してください。", field="phone")
    email = optional_text(email, column=StartApplication.email, label="メールアドレス")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise DomainError("メールアドレスの形が正しくありません。", field="email")
    if ward_code not in WARDS:
        raise DomainError("区を選んでください。", field="ward_code")
    if desired_start_date is None:
        raise DomainError("使用開始希望日を YYYY-MM-DD の形で入力してください。", field="desired_start_date")
    if desired_start_date < today:
        raise DomainError("使用開始希望日に過去の日付は入力できません。", field="desired_start_date")
    if desired_start_date > today + timedelta(days=90):
        raise DomainError("使用開始希望日は90日以内にしてください。", field="desired_start_date")
    if payment_method not in {m.value for m in PaymentMethod}:
        raise DomainError("支払方法を選んでください。", field="payment_method")
    application = StartApplication(
        channel=Channel.PHONE, with_registration=False, applicant_name=name, applicant_kana=kana,
        holder_kind=holder_kind, phone=phone, email=email, ward_code=ward_code,
        town=require_text(town, column=StartApplication.town, label="町名"),
        address_line=require_text(address_line, column=StartApplication.address_line, label="番地"),
        building=optional_text(building, column=StartApplication.building, label="建物名"),
        room=optional_text(room, column=StartApplication.room, label="部屋番号"),
        mailing_address=optional_text(mailing_address, column=StartApplication.mailing_address, label="送付先"),
        desired_start_date=desired_start_date, payment_method=payment_method,
    )
    db.session.add(application)
    db.session.flush()
    record(actor, "start_application.record", target=application, detail={"channel": "phone"})
    return application


# ---------------------------------------------------------------------------------------------
# Queue


@dataclass(frozen=True)
class QueueFilter:
    """What the decision queue shows."""

    status: str = ApplicationStatus.PENDING.value
    ward_code: str | None = None
    channel: str | None = None
    with_registration: bool | None = None
    start_from: date | None = None
    start_to: date | None = None


def sla_business_days() -> int:
    """Business days an application may wait before it is highlighted (CONSOLE_APPLICATION_SLA_DAYS)."""
    return current_app.config["APPLICATION_SLA_DAYS"]


def is_overdue(received_at: datetime, today: date) -> bool:
    """Past the service level: received more than the SLA's business days ago."""
    from ..formats import to_tokyo

    return add_business_days(to_tokyo(received_at).date(), sla_business_days()) < today


@requires(CUSTOMER_DESK)
def start_queue(actor: Staff, filters: QueueFilter, *, limit: int = 100, offset: int = 0) -> list[StartApplication]:
    """Start applications by urgency: desired start date first, then the oldest received (audited: names)."""
    query = select(StartApplication)
    if filters.status:
        query = query.where(StartApplication.status == filters.status)
    if filters.ward_code:
        query = query.where(StartApplication.ward_code == filters.ward_code)
    if filters.channel:
        query = query.where(StartApplication.channel == filters.channel)
    if filters.with_registration is not None:
        query = query.where(StartApplication.with_registration.is_(filters.with_registration))
    if filters.start_from:
        query = query.where(StartApplication.desired_start_date >= filters.start_from)
    if filters.start_to:
        query = query.where(StartApplication.desired_start_date <= filters.start_to)
    query = query.order_by(
        StartApplication.desired_start_date, StartApplication.received_at, StartApplication.id
    ).limit(limit).offset(offset)
    rows = db.session.scalars(query).all()
    record(actor, "start_application.list", detail={"offset": offset, "rows": len(rows)})
    return rows


@requires(CUSTOMER_DESK)
def accepted_not_started(actor: Staff, today: date, *, limit: int = 500) -> list[StartApplication]:
    """Accepted start applications whose tap has not been opened by their start date (audited: names)."""
    rows = db.session.scalars(
        select(StartApplication)
        .join(StartApplication.contract)
        .options(contains_eager(StartApplication.contract))
        .where(
            StartApplication.status == ApplicationStatus.ACCEPTED,
            StartApplication.desired_start_date <= today,
            Contract.opened_on.is_(None),
            Contract.stop_date.is_(None),
        )
        .order_by(StartApplication.desired_start_date, StartApplication.id)
        .limit(limit)
    ).all()
    record(actor, "start_application.not_started", detail={"rows": len(rows)})
    return rows


# ---------------------------------------------------------------------------------------------
# What the database knows about the place


@dataclass
class Caution:
    """A conflict staff must acknowledge before accepting (by its code)."""

    code: str
    message: str


@dataclass
class PlaceContext:
    """An application next to what the database already knows about its usage location."""

    same_room: list[Contract] = field(default_factory=list)
    same_building: list[Contract] = field(default_factory=list)
    same_address: list[Contract] = field(default_factory=list)
    open_applications: list[StartApplication] = field(default_factory=list)
    earlier_contracts: list[Contract] = field(default_factory=list)
    pending_stops: dict[int, StopApplication] = field(default_factory=dict)
    warnings: list[Caution] = field(default_factory=list)


def _room_key(value: str | None) -> str:
    return normalise.compact(value).removesuffix("号室").removesuffix("号")


def _building_key(value: str | None) -> str:
    return normalise.name_key(value)


def _at_address(model, application: StartApplication) -> tuple:
    """The conditions "at the application's address" (ward, town, street number) on contracts or applications."""
    return (model.ward_code == application.ward_code, model.town == application.town,
            model.address_line == application.address_line)


def place_context(application: StartApplication) -> PlaceContext:
    """Current contracts, other open applications and the applicant's earlier contracts (warnings included)."""
    ctx = PlaceContext()
    start = application.desired_start_date
    at_address = db.session.scalars(
        select(Contract)
        .where(
            *_at_address(Contract, application),
            or_(Contract.stop_date.is_(None), Contract.stop_date >= start),
        )
        .order_by(Contract.building, Contract.room, Contract.id)
        .limit(200)
    ).all()
    building, room = _building_key(application.building), _room_key(application.room)
    for contract in at_address:
        if _building_key(contract.building) == building and _room_key(contract.room) == room:
            ctx.same_room.append(contract)
        elif building and _building_key(contract.building) == building:
            ctx.same_building.append(contract)
        else:
            ctx.same_address.append(contract)
    if at_address:
        ctx.pending_stops = {
            s.contract_id: s
            for s in db.session.scalars(
                select(StopApplication).where(
                    StopApplication.contract_id.in_([c.id for c in at_address]),
                    StopApplication.status.in_([ApplicationStatus.PENDING, ApplicationStatus.ACCEPTED]),
                )
            )
        }
    others = db.session.scalars(
        select(StartApplication)
        .where(
            StartApplication.id != application.id,
            *_at_address(StartApplication, application),
            or_(
                StartApplication.status == ApplicationStatus.PENDING,
                and_(StartApplication.status == ApplicationStatus.ACCEPTED, StartApplication.desired_start_date >= start - timedelta(days=90)),
            ),
        )
        .order_by(StartApplication.desired_start_date)
        .limit(50)
    ).all()
    ctx.open_applications = [a for a in others if _building_key(a.building) == building]
    name_key = normalise.name_key(application.applicant_name)
    kana_key = normalise.name_key(application.applicant_kana)
    ctx.earlier_contracts = db.session.scalars(
        select(Contract)
        .where(
            or_(Contract.holder_name_key == name_key, Contract.holder_kana_key == kana_key),
            or_(Contract.contract_phone_digits == application.phone_digits, Contract.holder_name_key == name_key),
        )
        .order_by(Contract.start_date.desc())
        .limit(20)
    ).all()
    ctx.warnings = _warnings(application, ctx)
    return ctx


def _warnings(application: StartApplication, ctx: PlaceContext) -> list[Caution]:
    warnings = []
    room = application.room or "（部屋番号なし）"
    for contract in ctx.same_room:
        stop = ctx.pending_stops.get(contract.id)
        if stop is not None and stop.desired_stop_date < application.desired_start_date:
            continue  # the previous occupant's stop is already asked for: a normal move-in
        ending = f"（{jdate(contract.stop_date)}に中止予定）" if contract.stop_date else (
            f"（中止申込あり：{jdate(stop.desired_stop_date)}）" if stop else "（中止の予定なし）")
        warnings.append(Caution(
            f"same_room:{contract.id}",
            f"同じ建物・同じ部屋（{room}）に使用中の契約があります：お客さま番号 {contract.customer_number}{ending}。"
            "部屋番号の取り違えがないか確認してください。",
        ))
    if application.building and not application.room and ctx.same_building:
        warnings.append(Caution(
            "room_missing",
            f"部屋番号が空欄ですが、{application.building} には部屋番号つきの契約が{len(ctx.same_building)}件あります。",
        ))
    for other in ctx.open_applications:
        if _room_key(other.room) == _room_key(application.room):
            warnings.append(Caution(
                f"open_application:{other.id}",
                f"同じ使用場所（{room}）について別の使用開始申込 #{other.id}（{jdate(other.desired_start_date)}開始希望、"
                f"{'承認済' if other.status == ApplicationStatus.ACCEPTED else '未処理'}）があります。",
            ))
    if application.with_registration and application.account is not None:
        account = application.account
        if account.registration_status != RegistrationStatus.PROVISIONAL or account.voided_at or account.withdrawn_at:
            warnings.append(Caution(
                "account_not_provisional",
                "同時申込のマイページ利用者が仮登録の状態ではありません（取消・退会済み等）。契約はマイページに登録されません。",
            ))
    return warnings


# ---------------------------------------------------------------------------------------------
# Decisions


def _meter_reading_day(ward_code: str, town: str) -> int:
    """The reading day of the town's round (its existing contracts), else one derived from the ward."""
    day = db.session.scalar(
        select(Contract.meter_reading_day)
        .where(Contract.ward_code == ward_code, Contract.town == town)
        .group_by(Contract.meter_reading_day)
        .order_by(func.count().desc(), Contract.meter_reading_day)
        .limit(1)
    )
    return day or 1 + int(ward_code) % 28


def _create_contract(application: StartApplication, previous: Contract | None) -> Contract:
    reading_day = _meter_reading_day(application.ward_code, application.town)
    for _attempt in range(8):
        customer_number, settlement_number = new_numbers(application.desired_start_date)
        contract = Contract(
            customer_number=customer_number,
            settlement_number=settlement_number,
            holder_name=application.applicant_name,
            holder_kana=application.applicant_kana,
            holder_kind=application.holder_kind,
            ward_code=application.ward_code,
            town=application.town,
            address_line=application.address_line,
            building=application.building,
            room=application.room,
            contract_phone=application.phone,
            mailing_address=application.mailing_address,
            payment_method=application.payment_method,
            meter_reading_day=reading_day,
            start_date=application.desired_start_date,
            previous_contract_id=previous.id if previous else None,
        )
        contract.holders = [HolderHistory(
            holder_name=contract.holder_name, holder_kana=contract.holder_kana, holder_kind=contract.holder_kind,
            effective_from=contract.start_date,
        )]
        try:
            # Added inside the savepoint, so a collision's rollback takes the object out again.
            with db.session.begin_nested():
                db.session.add(contract)
                db.session.flush()
        except IntegrityError:
            continue
        return contract
    raise DomainError("お客さま番号を採番できませんでした。もう一度お試しください。")


def _restarted_contract(application: StartApplication) -> Contract | None:
    """R14: the same holder starting again in the same room after that contract stopped (or stops)."""
    candidates = db.session.scalars(
        select(Contract)
        .where(
            *_at_address(Contract, application),
            Contract.holder_name_key == normalise.name_key(application.applicant_name),
            Contract.stop_date.is_not(None),
            Contract.stop_date <= application.desired_start_date,
        )
        .order_by(Contract.stop_date.desc(), Contract.id.desc())
        .limit(20)
    ).all()
    building, room = _building_key(application.building), _room_key(application.room)
    return next((c for c in candidates if _building_key(c.building) == building and _room_key(c.room) == room), None)


def _mail(application: StartApplication, kind: NotificationKind, template: str, context: dict, actor: Staff,
          customer_number: str | None) -> Notification | None:
    address = (application.account.email if application.account is not None else None) or application.email
    if not address:
        return None
    # Subjects exactly as the FAQ names them (Q7, Q10). One decision, one mail: a second notification for
    # the same decision violates the dedupe key.
    return record_mail(kind, [(application.account_id, address)], template,
                       {"applicant_name": application.applicant_name, "place": _place_text(application), **context},
                       dedupe_key=f"start-application:{application.id}:{kind.value}", actor=actor,
                       customer_number=customer_number)


def _place_text(application: StartApplication) -> str:
    from ..models.contract import usage_address_text

    return "大阪市" + usage_address_text(ward_name(application.ward_code), application.town, application.address_line,
                                      application.building, application.room)


@dataclass
class Decision:
    """What a decision did, for the page that follows."""

    application: StartApplication
    contract: Contract | None = None
    notification: Notification | None = None
    messages: list[str] = field(default_factory=list)


@requires(CUSTOMER_DESK)
def accept_start_application(actor: Staff, application_id: int, acknowledged: set[str] | frozenset[str] = frozenset(),
                             *, today: date) -> Decision:
    """Accept: new contract and numbers, portal link and 本登録 where it came with a registration (R17)."""
    application = pending_application(StartApplication, application_id)
    ctx = place_context(application)
    missing = [w for w in ctx.warnings if w.code not in acknowledged]
    if missing:
        raise DomainError("確認が必要な注意事項があります。内容を確認し、チェックを入れてから承認してください：" + missing[0].message)
    claim_application(StartApplication, application_id, actor, ApplicationStatus.ACCEPTED)
    db.session.refresh(application)
    previous = _restarted_contract(application)
    contract = _create_contract(application, previous)
    application.contract_id = contract.id
    decision = Decision(application, contract)
    account = application.account
    linked = False
    if account is not None and application.channel == Channel.PORTAL and account.withdrawn_at is None \
            and account.voided_at is None:
        # Portal applications are linked automatically (R17, Q31); phone ones are not (Q32).
        source = LinkSource.PORTAL_RESTART if previous is not None else LinkSource.PORTAL
        if holder_of(contract) is None:
            _link, warning = link_contract(actor, account, contract, source=source, reason=f"使用開始申込 #{application.id}")
            linked = True
            if warning:
                decision.messages.append(warning)
        if application.with_registration and account.registration_status == RegistrationStatus.PROVISIONAL:
            account.registration_status = RegistrationStatus.FULL
            account.registered_at = clock.now()
    elif application.channel == Channel.PHONE and account is not None:
        decision.messages.append("電話での申込のため、お客さま番号はマイページに自動では登録されません（Q32）。")
    db.session.flush()
    record(
        actor, "start_application.accept", target=application, customer_number=contract.customer_number,
        detail={"contract_id": contract.id, "linked": linked, "acknowledged": sorted(acknowledged & {w.code for w in ctx.warnings}),
                "previous_contract_id": previous.id if previous else None},
    )
    decision.notification = _mail(application, NotificationKind.START_ACCEPTED, "start_accepted", {
        "customer_number": contract.customer_number, "start_date": jdate(contract.start_date),
        "registered": application.with_registration and linked,
    }, actor, contract.customer_number)
    return decision


@requires(CUSTOMER_DESK)
def reject_start_application(actor: Staff, application_id: int, reason_code: str, reason_text: str | None = None) -> Decision:
    """Reject with a reason; the provisional registration ends and the customer must register again (R17, Q7)."""
    reason_text = optional_text(reason_text, column=StartApplication.reject_reason_text, label="却下の理由")
    if reason_code not in REJECT_REASONS:
        raise DomainError("却下の理由を選んでください。", field="reason_code")
    if reason_code == "other" and not reason_text:
        raise DomainError("理由が「その他」のときは、内容を入力してください。", field="reason_text")
    application = pending_application(StartApplication, application_id)
    claim_application(StartApplication, application_id, actor, ApplicationStatus.REJECTED,
           reject_reason_code=reason_code, reject_reason_text=reason_text)
    db.session.refresh(application)
    account = application.account
    voided = False
    if application.with_registration and account is not None and account.registration_status == RegistrationStatus.PROVISIONAL:
        account.registration_status = RegistrationStatus.VOID
        account.voided_at = clock.now()
        voided = True
    db.session.flush()
    record(actor, "start_application.reject", target=application, reason=reason_text or REJECT_REASONS[reason_code],
           detail={"reason_code": reason_code, "voided_account_id": account.id if voided else None})
    return Decision(application, notification=_mail(application, NotificationKind.START_REJECTED, "start_rejected", {
        "desired_start_date": jdate(application.desired_start_date), "reason": REJECT_REASONS[reason_code],
        "reason_text": reason_text, "voided": voided,
    }, actor, None))


@requires(CUSTOMER_DESK)
def confirm_opened(actor: Staff, contract: Contract, opened_on: date | None, *, today: date) -> None:
    """Record the day the tap was opened (開栓), which takes the contract off the not-started list."""
    if opened_on is None:
        raise DomainError("開栓日を YYYY-MM-DD の形で入力してください。", field="opened_on")
    if contract.opened_on is not None:
        raise DomainError(f"開栓日はすでに{jdate(contract.opened_on)}で記録されています。")
    if opened_on > today:
        raise DomainError("開栓日に未来の日付は入力できません。", field="opened_on")
    if opened_on < contract.start_date - timedelta(days=14):
        raise DomainError("開栓日が使用開始日より大きく前になっています。日付を確認してください。", field="opened_on")
    contract.opened_on = opened_on
    db.session.flush()
    record(actor, "contract.opened", target=contract, customer_number=contract.customer_number,
           detail={"opened_on": opened_on.isoformat()})


@requires(CUSTOMER_DESK)
def view_start_application(actor: Staff, application: StartApplication) -> PlaceContext:
    """The detail page's context; opening it shows personal data, so it is audited."""
    ctx = place_context(application)
    record(actor, "start_application.view", target=application)
    return ctx
