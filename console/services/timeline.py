"""One timeline per customer (issue 14): everything that happened to an account or a contract, newest first.

The timeline is a list of sources. Each source is one function that says what it would show (`Rows`: the
query of its rows with what it joins to show them, their time and id columns, and how a row becomes an
`Entry`: when, what in Japanese, who by staff name, a link where there is a page). A page reads the keys
(time, source, id) of every source's newest rows past its cursor in one statement, each source's part
limited to a page's worth, keeps the newest, and then reads the rows of only the sources on the page:
1 + (the sources on the page) statements, whatever the number of entries. Paging is a keyset on (when,
source, row id), so a page deep in a long history costs what the first one does. Adding a source is one
line in SOURCES (a source may also read its entries itself and answer them as a list).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import lru_cache

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from ..extensions import db
from ..formats import TOKYO, jdate
from ..models import (
    AccountLink,
    ApplicationStatus,
    AuditAction,
    AuditEvent,
    ChangeStatus,
    Channel,
    Contact,
    ContactCategory,
    ContactChannel,
    ContactDirection,
    Contract,
    Delivery,
    DeliveryStatus,
    Handover,
    HandoverItem,
    HandoverStatus,
    LinkSource,
    NameChange,
    NoticeMode,
    Notification,
    NotificationKind,
    OutageArea,
    OutageNoticeVersion,
    PaymentChangeStatus,
    PaymentMethod,
    PaymentMethodChange,
    PortalAccount,
    ReissueRequest,
    ReissueStatus,
    Staff,
    StartApplication,
    StopApplication,
    VersionType,
)
from . import DomainError, contacts, outage_desk
from .audit import record
from .params import ACCOUNT_ID, CONTRACT_IDS, among, dialect
from .permissions import CUSTOMER_DESK, requires

PAGE_SIZE = 20
CUSTOMER = "お客さま（マイページ）"
SYSTEM = "システム"


@dataclass(frozen=True)
class Entry:
    """One thing that happened to the customer."""

    at: datetime
    source: str
    row_id: int
    what: str
    detail: str = ""
    who: str = ""
    customer_number: str | None = None
    # A page to open: (endpoint, its arguments), built by the template with url_for.
    endpoint: str | None = None
    params: tuple[tuple[str, object], ...] = ()

    @property
    def key(self) -> tuple[datetime, str, int]:
        """The total order of the timeline (newest first = largest first)."""
        return (self.at, self.source, self.row_id)

    @property
    def url_args(self) -> dict:
        """The link's arguments as url_for takes them."""
        return dict(self.params)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the key of its last (oldest) entry. Written into the "older" link."""

    at: datetime
    source: str
    row_id: int

    _TEXT = re.compile(r"^(\d{8}T\d{6}\.\d{6})~([a-z_]{1,40})~(\d{1,18})$")

    def text(self) -> str:
        """20261125T061500.123456~mail~42 (UTC)."""
        return f"{self.at.astimezone(UTC):%Y%m%dT%H%M%S.%f}~{self.source}~{self.row_id}"

    @classmethod
    def parse(cls, raw: str | None) -> Cursor | None:
        """The cursor a link carried, or None (first page) for anything else."""
        match = cls._TEXT.match(raw or "")
        if match is None:
            return None
        at = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
        return cls(at, match.group(2), int(match.group(3)))


@dataclass(frozen=True)
class Scope:
    """Whose timeline: a portal account and/or contracts (their ids, numbers and usage locations)."""

    account_id: int | None
    contract_ids: tuple[int, ...]
    customer_numbers: tuple[str, ...]
    places: tuple[tuple[str, str], ...]
    since: datetime | None  # the earliest start of the contracts: older outages did not concern them

    @classmethod
    def of(cls, account: PortalAccount | None, contracts: list[Contract]) -> Scope:
        """The scope of a customer page: the account (if any) and the contracts it shows."""
        starts = [c.start_date for c in contracts]
        return cls(
            account_id=account.id if account is not None else None,
            contract_ids=tuple(c.id for c in contracts),
            customer_numbers=tuple(c.customer_number for c in contracts),
            places=tuple(sorted({(c.ward_code, c.town) for c in contracts})),
            since=datetime.combine(min(starts), time(), tzinfo=TOKYO) if starts else None,
        )

    @property
    def shape(self) -> tuple[bool, ...]:
        """What the scope has (an account, contracts, numbers, places, a start): the sources' statements
        depend on this, and on nothing else of the scope; its values are parameters."""
        return (self.account_id is not None, bool(self.contract_ids), bool(self.customer_numbers),
                bool(self.places), self.since is not None)

    @classmethod
    def standing_for(cls, shape: tuple[bool, ...]) -> Scope:
        """A scope of that shape whose values are placeholders: the sources build their statements from it
        once, and a source that wrote a value into its statement instead of a parameter would show nothing."""
        account, contracts, numbers, places, since = shape
        return cls(0 if account else None, (0,) if contracts else (), ("",) if numbers else (),
                   (("", ""),) if places else (), datetime.min.replace(tzinfo=UTC) if since else None)

    def params(self, cursor: Cursor | None) -> dict:
        """The values of the parameters the sources' statements name (P_* below)."""
        return {
            P_ACCOUNT: self.account_id,
            P_ACCOUNT_KEY: None if self.account_id is None else str(self.account_id),
            P_CONTRACTS: list(self.contract_ids),
            P_NUMBERS: list(self.customer_numbers),
            **outage_desk.place_params(self.places),
            P_SINCE: self.since,
            P_CURSOR_AT: cursor.at if cursor else None,
            P_CURSOR_ID: cursor.row_id if cursor else None,
        }


# The parameters a page's statements take (Scope.params): the statements are built once per shape of scope
# and cursor (_plan) and run with the scope's values. Building the 13 sources' statements afresh, and SQLAlchemy
# hashing them to find their compiled SQL, was most of a customer page's Python time.
P_ACCOUNT, P_CONTRACTS = ACCOUNT_ID, CONTRACT_IDS  # the names contacts.newest takes too
P_ACCOUNT_KEY, P_NUMBERS = "account_key", "customer_numbers"
P_SINCE = "since"
P_CURSOR_AT, P_CURSOR_ID = "cursor_at", "cursor_id"
_ARRAY_OF = {P_CONTRACTS: Integer, P_NUMBERS: String}


@dataclass(frozen=True)
class Window:
    """What one source is asked for: its entries strictly older than the cursor, at most `limit`."""

    source: str
    cursor: Cursor | None
    limit: int

    def older(self, at_column, id_column):
        """SQL: (at, source, id) < cursor, with this source's name fixed (keyset across sources)."""
        c = self.cursor
        if c is None:
            return true()
        at, row_id = bindparam(P_CURSOR_AT), bindparam(P_CURSOR_ID)
        if self.source < c.source:
            return at_column <= at
        if self.source > c.source:
            return at_column < at
        return or_(at_column < at, and_(at_column == at, id_column < row_id))

    def page(self, query, at_column, id_column):
        """The query limited to this window, newest first."""
        return (query.where(self.older(at_column, id_column))
                .order_by(at_column.desc(), id_column.desc()).limit(self.limit))


@dataclass(frozen=True)
class Rows:
    """What a source shows, before it is read: the query of its rows (with what it joins to show them),
    their time and id columns, and how a row becomes an Entry. The page reads the keys (time, id) of every
    source in one statement, keeps the page's newest, and then reads the rows of only the sources on it.
    `keys`: a narrower statement of (id, at), already windowed, when the query is not the cheapest way
    to them; `base`: a narrower query for the keys (the rows' own table and conditions, without joins);
    `by_id`: the query without the scope's conditions, to read the page's rows by their ids (which the keys
    statement, scoped, found) when the scope's conditions would lead the plan away from the primary key."""

    query: Select
    at: ColumnElement
    id: ColumnElement
    entry: Callable[..., Entry]  # entry(source name, *row)
    keys: Select | None = None
    base: Select | None = None
    by_id: Select | None = None


@dataclass(frozen=True)
class Source:
    """A named source of entries (name: lower case and _, it is part of the cursor). entries(scope, window)
    answers Rows (read by the page, the usual way) or a list of Entry it read itself (at most
    window.limit, older than window's cursor), or [] when the scope has nothing for it.

    Rows are built once per shape of scope (Scope.shape) and kept: their statements name the scope's values
    as the parameters of Scope.params (P_*: `bindparam(P_ACCOUNT)`, `_among(column, P_CONTRACTS)`), never
    the values themselves, and may test only what the shape says (is there an account, are there contracts).
    A source that answers a list is asked again on every page."""

    name: str
    entries: Callable[[Scope, Window], Rows | list[Entry]]


@dataclass
class TimelinePage:
    """One page of a timeline, and the cursor of the next (older) page when there is one."""

    entries: list[Entry]
    next_cursor: Cursor | None
    cursor: Cursor | None = None
    sources: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the sources

# The staff rows a source joins (who recorded, who decided): made once, not per page. Making aliases
# afresh builds their column proxies again on every page, most of the timeline's Python time. The same
# alias in two sources' statements is fine: each source's query is a scope of its own.
_BY = aliased(Staff, name="staff_by")
_DECIDED_BY = aliased(Staff, name="staff_decided_by")
_RECORDED = aliased(AuditEvent, name="recorded")


def _among(column, name: str):
    """column IN the scope's list parameter `name`."""
    return among(column, name, _ARRAY_OF[name])


def _of_contracts(model, scope: Scope, *staff: tuple) -> tuple[Select, Select]:
    """The model's rows on the scope's contracts, with the customer number and the names of the members of
    staff that `staff` joins ((alias, the model's column naming them) pairs); and their ids alone, the
    narrower query for the page's keys."""
    on_contracts = _among(model.contract_id, P_CONTRACTS)
    query = (select(model, Contract.customer_number, *(alias.name for alias, _ in staff))
             .join(Contract, Contract.id == model.contract_id))
    for alias, column in staff:
        query = query.outerjoin(alias, alias.id == column)
    return query.where(on_contracts), select(model.id).where(on_contracts)


def _name_changes(scope: Scope, w: Window) -> Rows | list[Entry]:
    if not scope.contract_ids:
        return []
    requester, decider = _BY, _DECIDED_BY
    query, base = _of_contracts(NameChange, scope, (requester, NameChange.requested_by_id),
                                (decider, NameChange.decided_by_id))

    def entry(source, change, number, by, decided_by):
        detail = f"{change.new_holder_name}（{jdate(change.effective_date)}から）— {ChangeStatus.label_of(change.status)}"
        if change.decided_at is not None:
            detail += f"（{decided_by or SYSTEM}、{jdate(change.decided_at)}）"
        return Entry(change.requested_at, source, change.id, "名義変更の受付", detail, by or SYSTEM, number,
                     "name_changes.detail", (("change_id", change.id),))

    return Rows(query, NameChange.requested_at, NameChange.id, entry, base=base)


def _handovers(scope: Scope, w: Window) -> Rows | list[Entry]:
    if not scope.contract_ids:
        return []
    by = _BY
    query = (
        select(HandoverItem.id, Handover, Contract.customer_number, by.name)
        .join(Handover, Handover.id == HandoverItem.handover_id)
        .join(Contract, Contract.id == HandoverItem.contract_id)
        .outerjoin(by, by.id == Handover.created_by_id)
        .where(_among(HandoverItem.contract_id, P_CONTRACTS))
    )

    def entry(source, item_id, handover, number, name):
        return Entry(handover.created_at, source, item_id, "管理会社の変更",
                     f"{handover.old_company_name} → {handover.new_company_name}（{jdate(handover.target_date)}）"
                     f"— {HandoverStatus.label_of(handover.status)}", name or SYSTEM, number,
                     "handovers.detail", (("handover_id", handover.id),))

    return Rows(query, Handover.created_at, HandoverItem.id, entry)


def _of_account_or_contracts(model, scope: Scope):
    """SQL: the model's row belongs to the scope's account or to one of its contracts; None when the scope
    has neither."""
    terms = []
    if scope.account_id is not None:
        terms.append(model.account_id == bindparam(P_ACCOUNT))
    if scope.contract_ids:
        terms.append(_among(model.contract_id, P_CONTRACTS))
    return or_(*terms) if terms else None


def _links_of(scope: Scope, by_column, *conditions) -> tuple[Select, Select, Select] | None:
    """The links of the scope's account or contracts that meet `conditions`, with the customer number and the
    name of the member of staff in `by_column`; their ids alone, the narrower query for the page's keys; and
    the rows without the scope, read by id (Rows.by_id: with the account's OR its 1,000 numbers kept, a plan
    made once read all 1,000 links and kept the page's 21, 1.05 ms against 0.28). None when the scope has
    neither an account nor contracts."""
    on_scope = _of_account_or_contracts(AccountLink, scope)
    if on_scope is None:
        return None
    where = (on_scope, *conditions)
    by = _BY
    rows = (
        select(AccountLink, Contract.customer_number, by.name)
        .join(Contract, Contract.id == AccountLink.contract_id)
        .outerjoin(by, by.id == by_column)
    )
    return rows.where(*where), select(AccountLink.id).where(*where), rows


def _links(scope: Scope, w: Window) -> Rows | list[Entry]:
    links = _links_of(scope, AccountLink.linked_by_id)
    if links is None:
        return []
    query, base, by_id = links

    def entry(source, link, number, name):
        who = name or (CUSTOMER if link.source in (LinkSource.PORTAL, LinkSource.PORTAL_RESTART) else SYSTEM)
        return Entry(link.linked_at, source, link.id, "お客さま番号の登録",
                     f"{number}（{LinkSource.label_of(link.source)}）→ マイページ利用者 #{link.account_id}",
                     who, number, "customer.contract", (("contract_id", link.contract_id),))

    return Rows(query, AccountLink.linked_at, AccountLink.id, entry, base=base, by_id=by_id)


def _unlinks(scope: Scope, w: Window) -> Rows | list[Entry]:
    links = _links_of(scope, AccountLink.ended_by_id, AccountLink.ended_at.is_not(None))
    if links is None:
        return []
    query, base, by_id = links

    def entry(source, link, number, name):
        return Entry(link.ended_at, source, link.id, "お客さま番号の登録解除",
                     f"{number}（マイページ利用者 #{link.account_id}）" + (f"：{link.end_reason}" if link.end_reason else ""),
                     name or CUSTOMER, number, "customer.contract", (("contract_id", link.contract_id),))

    return Rows(query, AccountLink.ended_at, AccountLink.id, entry, base=base, by_id=by_id)


# Audited changes that have no row of their own to show (an unlock leaves only the audit entry).
ACCOUNT_ACTIONS = (AuditAction.ACCOUNT_UNLOCK, AuditAction.ACCOUNT_PASSWORD_RESET_MAIL,
                   AuditAction.CUSTOMER_IDENTITY_CONFIRMED, AuditAction.LINK_SET_MAIN)
CONTRACT_ACTIONS = (AuditAction.CONTRACT_OPENED, AuditAction.BILL_PAYMENT_METHOD)


def _audited(where) -> Rows:
    by = _BY
    query = select(AuditEvent, by.name).outerjoin(by, by.id == AuditEvent.staff_id).where(where)

    def entry(source, event, name):
        return Entry(event.at, source, event.id, AuditAction.label_of(event.action), event.reason or "",
                     name or SYSTEM, event.customer_number)

    return Rows(query, AuditEvent.at, AuditEvent.id, entry, base=select(AuditEvent.id).where(where))


def _account_changes(scope: Scope, w: Window) -> Rows | list[Entry]:
    if scope.account_id is None:
        return []
    return _audited(and_(AuditEvent.target_type == "portal_account", AuditEvent.target_id == bindparam(P_ACCOUNT_KEY),
                         AuditEvent.action.in_([a.value for a in ACCOUNT_ACTIONS])))


def _contract_changes(scope: Scope, w: Window) -> Rows | list[Entry]:
    if not scope.customer_numbers:
        return []
    return _audited(and_(_among(AuditEvent.customer_number, P_NUMBERS),
                         AuditEvent.action.in_([a.value for a in CONTRACT_ACTIONS])))


def _recorder(model, action: AuditAction):
    """(aliased audit entry, join condition): who recorded an application taken by phone."""
    entry = _RECORDED
    on = and_(entry.target_type == model.__tablename__, entry.target_id == cast(model.id, String),
              entry.action == action.value)
    return entry, on


def _applicant(channel, recorder: str | None) -> str:
    return CUSTOMER if channel == Channel.PORTAL else (recorder or "電話受付")


def _decision(status, decided_at, decided_by: str | None) -> str:
    text = ApplicationStatus.label_of(status)
    if decided_at is not None:
        text += f"（{decided_by or SYSTEM}、{jdate(decided_at)}）"
    return text


def _start_applications(scope: Scope, w: Window) -> Rows | list[Entry]:
    on_scope = _of_account_or_contracts(StartApplication, scope)
    if on_scope is None:
        return []
    entry, on = _recorder(StartApplication, AuditAction.START_APPLICATION_RECORD)
    taker, decider = _BY, _DECIDED_BY
    query = (
        select(StartApplication, taker.name, decider.name)
        .outerjoin(entry, on).outerjoin(taker, taker.id == entry.staff_id)
        .outerjoin(decider, decider.id == StartApplication.decided_by_id)
        .where(on_scope)
    )

    def entry(source, app, taken_by, decided_by):
        link = (("applications.move", (("move_group", app.move_group),)) if app.move_group
                else ("applications.detail", (("application_id", app.id),)))
        return Entry(app.received_at, source, app.id, "市内転居（使用開始）" if app.move_group else "使用開始申込",
                     f"開始希望日 {jdate(app.desired_start_date)} — " + _decision(app.status, app.decided_at, decided_by),
                     _applicant(app.channel, taken_by), None, *link)

    return Rows(query, StartApplication.received_at, StartApplication.id, entry,
                base=select(StartApplication.id).where(on_scope))


def _stop_applications(scope: Scope, w: Window) -> Rows | list[Entry]:
    if not scope.contract_ids:
        return []
    entry, on = _recorder(StopApplication, AuditAction.STOP_APPLICATION_RECORD)
    taker, decider = _BY, _DECIDED_BY
    query = (
        select(StopApplication, Contract.customer_number, taker.name, decider.name)
        .join(Contract, Contract.id == StopApplication.contract_id)
        .outerjoin(entry, on).outerjoin(taker, taker.id == entry.staff_id)
        .outerjoin(decider, decider.id == StopApplication.decided_by_id)
        .where(_among(StopApplication.contract_id, P_CONTRACTS))
    )

    def entry(source, app, number, taken_by, decided_by):
        link = ("applications.move", (("move_group", app.move_group),)) if app.move_group else (None, ())
        return Entry(app.received_at, source, app.id, "市内転居（使用中止）" if app.move_group else "使用中止申込",
                     f"中止希望日 {jdate(app.desired_stop_date)} — " + _decision(app.status, app.decided_at, decided_by),
                     _applicant(app.channel, taken_by), number, *link)

    return Rows(query, StopApplication.received_at, StopApplication.id, entry,
                base=select(StopApplication.id).where(_among(StopApplication.contract_id, P_CONTRACTS)))


def _payment_changes(scope: Scope, w: Window) -> Rows | list[Entry]:
    if not scope.contract_ids:
        return []
    query, base = _of_contracts(PaymentMethodChange, scope, (_BY, PaymentMethodChange.decided_by_id))

    def entry(source, change, number, decided_by):
        detail = (f"{PaymentMethod.label_of(change.from_method)} → {PaymentMethod.label_of(change.to_method)} — "
                  f"{PaymentChangeStatus.label_of(change.status)}")
        if change.decided_at is not None:
            detail += f"（{decided_by or SYSTEM}、{jdate(change.decided_at)}）"
        return Entry(change.requested_at, source, change.id, "支払方法の変更申込", detail,
                     _applicant(change.channel, None), number)

    return Rows(query, PaymentMethodChange.requested_at, PaymentMethodChange.id, entry, base=base)


def _reissues(scope: Scope, w: Window) -> Rows | list[Entry]:
    if not scope.contract_ids:
        return []
    query, base = _of_contracts(ReissueRequest, scope, (_BY, ReissueRequest.requested_by_id))

    def entry(source, request, number, name):
        return Entry(request.requested_at, source, request.id, "お知らせ票の再発行の受付",
                     ReissueStatus.label_of(request.status) + (f"：{request.cancel_reason}" if request.cancel_reason else ""),
                     name or SYSTEM, number, "reissue.detail", (("request_id", request.id),))

    return Rows(query, ReissueRequest.requested_at, ReissueRequest.id, entry, base=base)


def _mails(scope: Scope, w: Window) -> Rows | list[Entry]:
    if scope.account_id is not None:
        where = Delivery.account_id == bindparam(P_ACCOUNT)
    elif scope.customer_numbers:
        where = _among(Notification.customer_number, P_NUMBERS)
    else:
        return []
    by = _BY
    query = (
        select(Delivery.id, Delivery.status, Notification, OutageNoticeVersion.notice_id, by.name)
        .join(Notification, Notification.id == Delivery.notification_id)
        .outerjoin(OutageNoticeVersion, OutageNoticeVersion.id == Notification.outage_version_id)
        .outerjoin(by, by.id == Notification.created_by_id)
        .where(where)
    )

    def entry(source, delivery_id, status, mail, notice_id, name):
        link = ("outages.detail", (("notice_id", notice_id),)) if notice_id else (None, ())
        return Entry(mail.created_at, source, delivery_id, f"メール送信：{NotificationKind.label_of(mail.kind)}",
                     f"{mail.subject} — {DeliveryStatus.label_of(status)}", name or SYSTEM, mail.customer_number, *link)

    return Rows(query, Notification.created_at, Delivery.id, entry)


def _contacts(scope: Scope, w: Window) -> Rows | list[Entry]:
    """応対履歴: the category and outcome only; the memo (personal data) opens on the contact's own,
    audited page."""
    keys = contacts.newest(scope.account_id is not None, bool(scope.contract_ids), w.older, w.limit)
    if keys is None:
        return []
    by = _BY
    query = (select(Contact, ContactCategory.name, by.name)
             .join(ContactCategory, ContactCategory.id == Contact.category_id)
             .join(by, by.id == Contact.staff_id))

    def entry(source, contact, category, name):
        what = f"応対（{ContactChannel.label_of(contact.channel)}・{ContactDirection.label_of(contact.direction)}）"
        if contact.corrects_id is not None:
            what += "：訂正"
        return Entry(contact.at, source, contact.id, what, f"{category} — {contact.outcome or ''}".rstrip(" —"),
                     name, None, "contacts.detail", (("contact_id", contact.id),))

    return Rows(query, Contact.at, Contact.id, entry, keys=keys)


def _outages(scope: Scope, w: Window) -> Rows | list[Entry]:
    """Published (actual) outage versions whose area covered a usage location while the contract ran;
    those already mailed to this account show as mails instead."""
    if not scope.places:
        return []
    covering = outage_desk.covers_places(OutageArea)
    publisher = _BY
    query = (
        select(OutageNoticeVersion, publisher.name)
        .outerjoin(publisher, publisher.id == OutageNoticeVersion.published_by_id)
        .where(OutageNoticeVersion.published_at.is_not(None), OutageNoticeVersion.mode == NoticeMode.ACTUAL,
               select(OutageArea.id).where(OutageArea.version_id == OutageNoticeVersion.id, covering).exists())
    )
    if scope.since is not None:
        query = query.where(OutageNoticeVersion.published_at >= bindparam(P_SINCE))
    if scope.account_id is not None:
        mailed = (select(Delivery.id).join(Notification, Notification.id == Delivery.notification_id)
                  .where(Notification.outage_version_id == OutageNoticeVersion.id,
                         Delivery.account_id == bindparam(P_ACCOUNT)))
        query = query.where(~mailed.exists())

    def entry(source, version, name):
        return Entry(version.published_at, source, version.id,
                     f"断水等のお知らせ（{VersionType.label_of(version.version_type)}・使用場所が対象地域）",
                     f"第{version.version_no}報：{version.title}", name or SYSTEM, None,
                     "outages.detail", (("notice_id", version.notice_id),))

    return Rows(query, OutageNoticeVersion.published_at, OutageNoticeVersion.id, entry)


SOURCES: list[Source] = [
    Source("name_change", _name_changes),
    Source("handover", _handovers),
    Source("link", _links),
    Source("unlink", _unlinks),
    Source("account_change", _account_changes),
    Source("contract_change", _contract_changes),
    Source("start_application", _start_applications),
    Source("stop_application", _stop_applications),
    Source("payment_change", _payment_changes),
    Source("reissue", _reissues),
    Source("mail", _mails),
    Source("outage", _outages),
    Source("contact", _contacts),
]


def _keys(name: str, rows: Rows, window: Window):
    """(at, source, id) of the source's newest rows in the window, at most window.limit."""
    if rows.keys is not None:
        keys = rows.keys.subquery()
        return select(keys.c.at.label("at"), literal(name).label("source"), keys.c.id.label("id"))
    base = rows.query if rows.base is None else rows.base
    windowed = window.page(base.with_only_columns(rows.at.label("at"), rows.id.label("id")), rows.at, rows.id).subquery()
    return select(windowed.c.at, literal(name).label("source"), windowed.c.id)


@dataclass(frozen=True)
class _Plan:
    """A page's statements for one shape of scope and cursor: the keys of every source that answered Rows,
    and each such source's rows by id; the sources that read their own entries are asked on every page."""

    keys: Select | None
    rows: dict[str, tuple[Rows, Select]]
    live: tuple[Source, ...]


@lru_cache(maxsize=512)
def _plan(shape: tuple[bool, ...], cursor_source: str | None, size: int, sources: tuple[Source, ...],
          dialect: str) -> _Plan:
    """The statements of a page, built once per shape (the sources see a scope standing for every scope of
    that shape, and a cursor standing for every cursor in `cursor_source`) and kept: a page then only runs
    them with its scope's values (Scope.params). `dialect` is part of the key: the lists are bound as one
    array on PostgreSQL, expanded on SQLite."""
    scope = Scope.standing_for(shape)
    cursor = Cursor(datetime.min.replace(tzinfo=UTC), cursor_source, 0) if cursor_source else None
    planned: dict[str, Rows] = {}
    live: list[Source] = []
    for source in sources:
        answer = source.entries(scope, Window(source.name, cursor, size + 1))
        if isinstance(answer, Rows):
            planned[source.name] = answer
        else:
            live.append(source)
    keys = None
    if planned:
        every = union_all(*(_keys(name, rows, Window(name, cursor, size + 1)) for name, rows in planned.items()))
        newest = every.subquery()
        keys = (select(newest.c.at, newest.c.source, newest.c.id)
                .order_by(newest.c.at.desc(), newest.c.source.desc(), newest.c.id.desc()).limit(size + 1))
    by_id = bindparam("ids", expanding=True)
    return _Plan(keys, {name: (rows, (rows.query if rows.by_id is None else rows.by_id).where(rows.id.in_(by_id)))
                        for name, rows in planned.items()},
                 tuple(live))


def page(scope: Scope, cursor: Cursor | None = None, size: int = PAGE_SIZE,
         sources: list[Source] | None = None) -> TimelinePage:
    """One page of the scope's timeline, newest first, after `cursor` (None: the newest page).

    One statement reads the keys of every source's newest rows past the cursor (each at most size + 1)
    and keeps the page's size + 1 newest; then each source on the page reads those rows, and only those.
    A page costs 1 + (the sources on it) queries, whatever the history's length."""
    sources = tuple(SOURCES if sources is None else sources)
    plan = _plan(scope.shape, cursor.source if cursor else None, size, sources, dialect())
    params = scope.params(cursor)
    merged: list[Entry] = []
    for source in plan.live:
        merged.extend(source.entries(scope, Window(source.name, cursor, size + 1)))
    if plan.keys is not None:
        wanted: dict[str, list[int]] = {}
        for _at, name, row_id in db.session.execute(plan.keys, params):
            wanted.setdefault(name, []).append(row_id)
        for name, ids in wanted.items():
            rows, by_id = plan.rows[name]
            merged.extend(rows.entry(name, *row) for row in db.session.execute(by_id, {**params, "ids": ids}))
    merged.sort(key=lambda e: e.key, reverse=True)
    shown = merged[:size]
    more = len(merged) > size
    last = shown[-1] if shown else None
    return TimelinePage(shown, Cursor(last.at, last.source, last.row_id) if more and last else None, cursor,
                        [s.name for s in sources])


# ---------------------------------------------------------------- the timeline's own page

@dataclass
class TimelineView:
    """The timeline page of one account or contract."""

    account: PortalAccount | None
    contract: Contract | None
    page: TimelinePage


def _account_contracts(account: PortalAccount) -> list:
    """The contracts the account's customer view shows: its live links, or all of them once withdrawn. Only
    what a Scope reads (id, number, usage location, start): a company's 1,000 whole contract rows took
    longer to load than the timeline page they scope."""
    links = list(db.session.execute(
        select(AccountLink.ended_at, Contract.id, Contract.customer_number, Contract.ward_code, Contract.town,
               Contract.start_date)
        .join(Contract, Contract.id == AccountLink.contract_id)
        .where(AccountLink.account_id == account.id)
    ))
    live = [link for link in links if link.ended_at is None]
    return live or (links if account.withdrawn_at is not None else [])


@requires(CUSTOMER_DESK)
def view_timeline(actor: Staff, *, account_id: int | None = None, contract_id: int | None = None,
                  cursor: Cursor | None = None) -> TimelineView:
    """A page of the timeline of an account or a contract; audited as a view of the customer."""
    if account_id is not None:
        account = db.session.get(PortalAccount, account_id)
        if account is None:
            raise DomainError("該当するマイページ利用者が見つかりません。")
        contracts = _account_contracts(account)
        view = TimelineView(account, None, page(Scope.of(account, contracts), cursor))
        record(actor, "customer.view", target=account,
               customer_number=contracts[0].customer_number if contracts else None,
               detail={"timeline": cursor.text() if cursor else ""})
        return view
    contract = db.session.get(Contract, contract_id) if contract_id is not None else None
    if contract is None:
        raise DomainError("該当する契約が見つかりません。")
    view = TimelineView(None, contract, page(Scope.of(None, [contract]), cursor))
    record(actor, "customer.view", target=contract, customer_number=contract.customer_number,
           detail={"timeline": cursor.text() if cursor else ""})
    return view

