"""Browsing the big tables (1.5 M contracts, ≈ 36 M bills) page by page.

Pages are keyset pages (WHERE id < last id seen … ORDER BY id DESC LIMIT n): the thousandth page costs
what the first does, and no page counts the table. Each page shown is audited, with its filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import contains_eager

from .. import normalise
from ..extensions import db
from ..models import Bill, Contract, PaymentMethod, PaymentStatus, Staff
from ..wards import WARDS
from . import DomainError
from .audit import record
from .permissions import CUSTOMER_DESK, requires

PAGE_SIZE = 50


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
        rows = db.session.scalars(query.where(id_column > before).order_by(id_column.asc()).limit(size + 1)).all()
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        return Page(rows, rows[-1].id if rows else None, rows[0].id if rows and more_newer else None)
    if after is not None:
        query = query.where(id_column < after)
    rows = db.session.scalars(query.order_by(id_column.desc()).limit(size + 1)).all()
    more_older = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1].id if rows and more_older else None, rows[0].id if rows and after is not None else None)


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
        town = normalise.nfkc(args.get("town")) or None
        if town and len(town) > 60:
            raise DomainError("町名が長すぎます。")
        return cls(ward, town, state, method)


@requires(CUSTOMER_DESK)
def list_contracts(actor: Staff, filters: ContractFilter, *, after: str | None = None, before: str | None = None,
                   today: date) -> Page:
    """One page of contracts, newest first."""
    query = select(Contract)
    if filters.ward_code:
        query = query.where(Contract.ward_code == filters.ward_code)
    if filters.town:
        # A whole town name is an equality, which the (town, id) index serves in page order; the
        # beginning of one (天神橋 for its 丁目) is a prefix.
        whole = db.session.scalar(select(Contract.id).where(Contract.town == filters.town).limit(1)) is not None
        query = query.where(Contract.town == filters.town if whole
                            else Contract.town.startswith(filters.town, autoescape=True))
    if filters.state == "active":
        query = query.where((Contract.stop_date.is_(None)) | (Contract.stop_date >= today))
    elif filters.state == "stopped":
        # Spelled so that the partial index of stopped contracts (ix_contract_stopped_id) serves it.
        query = query.where(Contract.stop_date.is_not(None), Contract.stop_date < today)
    if filters.payment_method:
        query = query.where(Contract.payment_method == filters.payment_method)
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
        period = None
        raw = (args.get("period") or "").strip()
        if raw:
            try:
                year, month = (int(part) for part in raw.split("-"))
                period = date(year, month, 1)
            except ValueError:
                raise DomainError("請求月は YYYY-MM の形で入力してください。") from None
        status = args.get("payment_status") or None
        if status and status not in {s.value for s in PaymentStatus}:
            raise DomainError("支払状況の指定が正しくありません。")
        number = None
        if args.get("customer_number"):
            number = normalise.customer_number(args.get("customer_number"))
            if number is None:
                raise DomainError("お客さま番号は英字1文字と数字9桁です（例：K012345678）。")
        return cls(period, status, number)


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
