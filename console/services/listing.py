"""Browsing the big tables (1.5 M contracts, ≈ 36 M bills) page by page.

Pages are keyset pages (WHERE id < last id seen … ORDER BY id DESC LIMIT n): the thousandth page costs
what the first does, and no page counts the table. Each page shown is audited, with its filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select, text, union_all
from sqlalchemy.orm import contains_eager

from .. import normalise, towns
from ..extensions import db
from ..models import Bill, Contract, PaymentMethod, PaymentStatus, Staff
from ..wards import WARDS
from . import DomainError
from .audit import record
from .customer import parse_month
from .permissions import CUSTOMER_DESK, requires

PAGE_SIZE = 50
# The most town names a town filter's beginning may stand for (天神橋 → its 丁目 as stored).
MAX_TOWNS = 60
LAST_CODE_POINT = "\U0010ffff"


@dataclass
class Page:
    """One keyset page: rows newest first, and the cursors for the neighbouring pages."""

    rows: list
    after: int | None  # pass as ?after= for the next (older) page
    before: int | None  # pass as ?before= for the previous (newer) page


def _cursor(raw: str | None, name: str) -> int | None:
    if raw in (None, ""):
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) >= 2**63:  # ids are 64-bit at most
        raise DomainError(f"ページの指定（{name}）が正しくありません。")
    return int(raw)


def _page(query: Select, id_column, after: int | None, before: int | None, size: int = PAGE_SIZE) -> Page:
    if before is not None:
        # Walk towards newer rows, then show them newest first like every page.
        return _shaped(db.session.scalars(query.where(id_column > before).order_by(id_column.asc()).limit(size + 1)).all(),
                       size, newer=True, after=None)
    if after is not None:
        query = query.where(id_column < after)
    return _shaped(db.session.scalars(query.order_by(id_column.desc()).limit(size + 1)).all(), size, newer=False,
                   after=after)


def _shaped(rows: list, size: int, *, newer: bool, after: int | None) -> Page:
    """The page from up to size + 1 rows read past its cursor (oldest first when walking towards newer rows)."""
    if newer:
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        return Page(rows, rows[-1].id if rows else None, rows[0].id if rows and more_newer else None)
    more_older = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1].id if rows and more_older else None, rows[0].id if rows and after is not None else None)


def _page_of_parts(entity, parts: list[Select], after: int | None, before: int | None, size: int = PAGE_SIZE) -> Page:
    """A keyset page over the union of several queries, each served in id order by its own index: each
    part gives at most a page's worth past the cursor, and the page is the first of those ids."""
    if not parts:
        return Page([], None, None)
    if len(parts) == 1:
        return _page(parts[0], entity.id, after, before, size)
    newer = before is not None
    bounded = []
    for part in parts:
        part = part.with_only_columns(entity.id)
        if newer:
            part = part.where(entity.id > before).order_by(entity.id.asc())
        else:
            part = part.where(entity.id < after) if after is not None else part
            part = part.order_by(entity.id.desc())
        bounded.append(select(part.limit(size + 1).subquery().c.id))
    ids = union_all(*bounded).subquery()
    first = select(ids.c.id).order_by(ids.c.id.asc() if newer else ids.c.id.desc()).limit(size + 1).subquery()
    rows = db.session.scalars(select(entity).join(first, entity.id == first.c.id)
                              .order_by(entity.id.asc() if newer else entity.id.desc())).all()
    return _shaped(rows, size, newer=newer, after=after)


def _towns_beginning(typed: str) -> list[str]:
    """The town names stored on contracts that are `typed` or begin with it, in order (at most
    MAX_TOWNS + 1: more is refused). On PostgreSQL one index descent per name (a loose index scan on the
    (town, id) index, whose pattern operators compare code point by code point), however many contracts
    each holds. The beginning is a range [typed, typed + the last code point), not LIKE: a prepared
    statement's generic plan cannot turn a LIKE parameter into index bounds, and scans the whole index."""
    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(text(
            "WITH RECURSIVE t(town) AS ("
            " (SELECT town FROM contract WHERE town ~>=~ :lo AND town ~<~ :hi ORDER BY town USING ~<~ LIMIT 1)"
            " UNION ALL"
            " SELECT (SELECT c.town FROM contract c WHERE c.town ~>~ t.town AND c.town ~<~ :hi"
            "         ORDER BY c.town USING ~<~ LIMIT 1) FROM t WHERE t.town IS NOT NULL)"
            " SELECT town FROM t WHERE town IS NOT NULL LIMIT :n"),
            {"lo": typed, "hi": typed + LAST_CODE_POINT, "n": MAX_TOWNS + 1}))
    return list(db.session.scalars(select(Contract.town).distinct()
                                   .where(Contract.town.startswith(typed, autoescape=True))
                                   .order_by(Contract.town).limit(MAX_TOWNS + 1)))


@dataclass(frozen=True)
class ContractFilter:
    """What the contract list is narrowed to."""

    ward_code: str | None = None
    town: str | None = None
    state: str | None = None  # "active" / "stopped"
    payment_method: str | None = None

    @classmethod
    def parse(cls, args) -> ContractFilter:
        """From the query string; an unknown value is a Japanese refusal, not an empty page."""
        ward = args.get("ward") or None
        if ward and ward not in WARDS:
            raise DomainError("区の指定が正しくありません。")
        state = args.get("state") or None
        if state not in (None, "active", "stopped"):
            raise DomainError("契約状態の指定が正しくありません。")
        method = args.get("payment_method") or None
        if method and method not in {m.value for m in PaymentMethod}:
            raise DomainError("支払方法の指定が正しくありません。")
        town = normalise.nfkc(args.get("town")).strip() or None
        if town and len(town) > 60:
            raise DomainError("町名が長すぎます。")
        if town:
            kana = towns.reading(town)
            if kana is not None and len(kana) < towns.READING_MIN:  # one kana stands for no town
                raise DomainError(f"町名の読みは{towns.READING_MIN}文字以上で入力してください"
                                  "（例: じゅうそう、てんじんばし）。")
            # 北区天神橋: the ward typed with the town narrows by that ward, as if it had been chosen.
            typed = towns.search_forms(town)
            if typed.ward_code is not None and ward is not None and typed.ward_code != ward:
                raise DomainError(f"区の指定（{WARDS[ward]}）と町名の区（{WARDS[typed.ward_code]}）が違います。"
                                  "どちらかを直してください。")
            ward, town = ward or typed.ward_code, typed.town or None
        return cls(ward, town, state, method)

    @classmethod
    def as_typed(cls, args) -> ContractFilter:
        """What was typed, unchecked, for the form to show again beside a refusal (never for a query)."""
        return cls(args.get("ward") or None, normalise.nfkc(args.get("town")).strip()[:60] or None,
                   args.get("state") or None, args.get("payment_method") or None)


@requires(CUSTOMER_DESK)
def list_contracts(actor: Staff, filters: ContractFilter, *, after: str | None = None, before: str | None = None,
                   today: date) -> Page:
    """One page of contracts, newest first."""
    query = select(Contract)
    if filters.ward_code:
        query = query.where(Contract.ward_code == filters.ward_code)
    names: list[str] = []
    if filters.town:
        # A whole town name is an equality, which the (town, id) index serves in page order. The
        # beginning of one (天神橋 for its 丁目) is resolved to the whole names stored under it, and the
        # page is the newest of each name's own ordered page: no sort of every contract in those towns.
        # 天神橋5丁目 is also looked for as 天神橋五丁目 and 天神橋５丁目, however the contracts hold it.
        # A town typed in kana (はなてん, じゅうそう) stands for the towns read so, each as its beginning.
        read_as = towns.names_read_as(filters.town, filters.ward_code) or []
        forms = towns.search_forms(filters.town).forms + read_as
        names = sorted({name for form in dict.fromkeys(forms) for name in _towns_beginning(form)})
        if len(names) > MAX_TOWNS:
            raise DomainError(f"「{filters.town}」で始まる町名が多すぎます（{MAX_TOWNS}を超えます）。"
                              "町名をもう少し詳しく入力するか、区で絞り込んでください。")
    if filters.state == "active":
        query = query.where((Contract.stop_date.is_(None)) | (Contract.stop_date >= today))
    elif filters.state == "stopped":
        # Served by the partial indexes of stopped contracts (ix_contract_stopped_id, …_ward_id): the
        # comparison implies stop_date IS NOT NULL. Spelling that out as well makes the planner multiply
        # the two selectivities as if independent (28 rows expected for a ward's 1,505), and it then reads
        # every one of them by bitmap and sorts: 143 ms cold instead of one index walk.
        query = query.where(Contract.stop_date < today)
    if filters.payment_method:
        query = query.where(Contract.payment_method == filters.payment_method)
    if filters.town:
        parts = [query.where(Contract.town == name) for name in names]
        page = _page_of_parts(Contract, parts, _cursor(after, "after"), _cursor(before, "before"))
    else:
        page = _page(query, Contract.id, _cursor(after, "after"), _cursor(before, "before"))
    record(actor, "contract.list", detail={"filters": {k: v for k, v in vars(filters).items() if v},
                                           "after": after, "before": before, "rows": len(page.rows)})
    return page


@dataclass(frozen=True)
class BillFilter:
    """What the bill list is narrowed to."""

    period: date | None = None
    payment_status: str | None = None
    customer_number: str | None = None

    @classmethod
    def parse(cls, args) -> BillFilter:
        """From the query string (period as YYYY-MM); unknown values are refused in Japanese."""
        period = parse_month(args.get("period"))
        status = args.get("payment_status") or None
        if status and status not in {s.value for s in PaymentStatus}:
            raise DomainError("支払状況の指定が正しくありません。")
        number = None
        if args.get("customer_number"):
            number = normalise.customer_number(args.get("customer_number"))
            if number is None:
                raise DomainError("お客さま番号は英字1文字と数字9桁です（例：K012345678）。")
        return cls(period, status, number)

    @classmethod
    def as_typed(cls, args) -> BillFilter:
        """What was typed, unchecked, for the form to show again beside a refusal (a month that is not
        one is left out: the month field shows only months)."""
        try:
            period = parse_month(args.get("period"))
        except DomainError:
            period = None
        return cls(period, args.get("payment_status") or None, (args.get("customer_number") or "").strip()[:20] or None)


@requires(CUSTOMER_DESK)
def list_bills(actor: Staff, filters: BillFilter, *, after: str | None = None, before: str | None = None) -> Page:
    """One page of bills, newest first."""
    query = select(Bill).join(Bill.contract).options(contains_eager(Bill.contract))
    if filters.period:
        query = query.where(Bill.period == filters.period)
    if filters.payment_status:
        query = query.where(Bill.payment_status == filters.payment_status)
    if filters.customer_number:
        query = query.where(Contract.customer_number == filters.customer_number)
    page = _page(query, Bill.id, _cursor(after, "after"), _cursor(before, "before"))
    record(actor, "bill.list", customer_number=filters.customer_number,
           detail={"period": filters.period.isoformat() if filters.period else None, "status": filters.payment_status,
                   "after": after, "before": before, "rows": len(page.rows)})
    return page
