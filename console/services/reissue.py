"""Reissue of usage notices for 2023-12 and earlier (R15, Q35, Q36, Q38).

An operator records a request from the customer view; requests are gathered into print batches
(by a supervisor or the daily job); each batch gets an Excel list for the mailing room and one PDF per
request that reproduces the notices as they were issued: the holder and payment method of that time.
Statuses: requested → in print batch → mailed, or cancelled with a reason; every step is audited.
"""

from __future__ import annotations

import io
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock, normalise
from ..extensions import db
from ..formats import TOKYO, parse_month, wareki_date, wareki_month, yen
from ..models import (
    AccountLink,
    Bill,
    Contract,
    HolderHistory,
    HolderKind,
    PrintBatch,
    ReissueItem,
    ReissueRequest,
    ReissueStatus,
    SendTo,
    Staff,
)
from ..models.notice import REISSUE_STATUS_LABELS
from ..reports.excel import Col, SummarySheet, write_report
from ..wards import CITY_NAME
from . import DomainError
from .audit import record
from .calendar import LAST_CENTRE_REISSUE_PERIOD, add_months, month_start
from .inputs import optional_text, require_text
from .permissions import CUSTOMER_DESK, SUPERVISORS, requires

# Q35/Q38: where the customer prints notices from 2024-01 on.
PORTAL_PDF_GUIDANCE = "マイページの「実績」>「過去の利用履歴」>「PDF出力」"
CENTRE_CONTACT = "大阪市水道局 水道お客さまセンター 06-6458-1132"

CALLER_RELATIONS = {
    "holder": "契約者ご本人",
    "family": "ご家族",
    "company_staff": "法人・管理会社のご担当者",
    "agent": "代理人",
    "other": "その他",
}
SEND_TO_LABELS = {SendTo.MAILING_ADDRESS: "契約の送付先", SendTo.OTHER: "指定の送付先"}
OPEN_STATUSES = (ReissueStatus.REQUESTED, ReissueStatus.IN_BATCH)
DOWNLOAD_REFUSED = "印刷バッチのファイルはスーパーバイザーがダウンロードします。"
# A range such as 令和5年4月〜令和5年9月 expands to at most this many months.
MAX_RANGE_MONTHS = 60
# daily-2026-11-25 from the scheduled job; manual-<yyyymmddHHMMSS>-<6 hex> from a supervisor's form.
BATCH_KEY_RE = re.compile(r"^(daily-\d{4}-\d{2}-\d{2}|manual-\d{14}-[0-9a-f]{6})$")


def _months_text(months) -> str:
    return "、".join(wareki_month(m) for m in months)


# ---------------------------------------------------------------- months typed by staff

_TOKEN_SPLIT_RE = re.compile(r"[,、;\s]+")
_RANGE_SPLIT_RE = re.compile(r"[~〜]")


def parse_months(text: str | None) -> list[date]:
    """Months typed by staff (令和5年4月、R5.6、2023-07、令和5年9月〜令和5年11月), first days, sorted, unique."""
    months: set[date] = set()
    unreadable = []
    for token in _TOKEN_SPLIT_RE.split(normalise.nfkc(text)):
        if not token:
            continue
        ends = [parse_month(part) for part in _RANGE_SPLIT_RE.split(token)]
        if not ends or None in ends or len(ends) > 2:
            unreadable.append(token)
            continue
        first, last = ends[0], ends[-1]
        if last < first or (last.year - first.year) * 12 + last.month - first.month >= MAX_RANGE_MONTHS:
            unreadable.append(token)
            continue
        while first <= last:
            months.add(first)
            first = add_months(first, 1)
    if unreadable:
        raise DomainError(
            f"請求月を読み取れません：{'、'.join(unreadable)}（例：令和5年12月、R5.12、2023-12、令和5年4月〜令和5年6月）",
            field="months",
        )
    return sorted(months)


# ---------------------------------------------------------------- requests

def open_request_months(contract: Contract) -> dict[date, ReissueRequest]:
    """Months of this contract already in an open (requested or in print batch) request."""
    rows = db.session.execute(
        select(ReissueItem.period, ReissueRequest)
        .join(ReissueRequest, ReissueItem.request_id == ReissueRequest.id)
        .where(ReissueRequest.contract_id == contract.id, ReissueRequest.status.in_(OPEN_STATUSES))
    )
    return {period: request for period, request in rows}


def reissuable_bills(contract: Contract) -> list[Bill]:
    """The contract's bills the centre may reissue (up to 2023-12), newest first."""
    return list(
        db.session.scalars(
            select(Bill)
            .where(Bill.contract_id == contract.id, Bill.period <= LAST_CENTRE_REISSUE_PERIOD)
            .order_by(Bill.period.desc())
        )
    )


def _portal_guidance(contract: Contract) -> str:
    linked = db.session.scalar(
        select(AccountLink.id).where(AccountLink.contract_id == contract.id, AccountLink.ended_at.is_(None)).limit(1)
    )
    guidance = f"令和6年1月分以降のお知らせ票は、{PORTAL_PDF_GUIDANCE}からお客さまご自身で印刷していただけます。"
    if linked is None:
        guidance += "（このお客さま番号はマイページに登録されていません。マイページへの登録をご案内ください。）"
    return guidance


@requires(CUSTOMER_DESK, message="お知らせ票の再発行はオペレーターまたはスーパーバイザーが受け付けます。")
def request_reissue(
    actor: Staff,
    contract: Contract,
    *,
    months: list[date],
    send_to: str,
    caller_relation: str,
    other_address: str | None = None,
    other_address_reason: str | None = None,
) -> ReissueRequest:
    """Record a reissue request (R15): months up to 2023-12 that have a bill and no open request."""
    wanted = sorted({month_start(m) for m in months})
    if not wanted:
        raise DomainError("再発行する請求月を選ぶか入力してください。", field="months")
    recent = [m for m in wanted if m > LAST_CENTRE_REISSUE_PERIOD]
    if recent:
        raise DomainError(
            f"{_months_text(recent)}分はお客さまセンターでは再発行できません（再発行は令和5年12月分以前が対象です）。"
            + _portal_guidance(contract),
            field="months",
        )
    if caller_relation not in CALLER_RELATIONS:
        raise DomainError("お電話の相手と契約との関係を選んでください。", field="caller_relation")
    try:
        destination = SendTo(send_to)
    except ValueError:
        raise DomainError("送付先を選んでください。", field="send_to") from None
    address = optional_text(other_address, column=ReissueRequest.other_address, label="指定の送付先の住所")
    reason = optional_text(other_address_reason, column=ReissueRequest.other_address_reason,
                           label="契約の送付先以外に送る理由")
    if destination == SendTo.OTHER:
        if not address:
            raise DomainError("指定の送付先の住所を入力してください。", field="other_address")
        if not reason:
            raise DomainError("契約の送付先以外に送る理由を入力してください。", field="other_address_reason")
    else:
        address = reason = None

    # Two operators recording the same month at once: the contract row lock makes one wait for the other.
    db.session.get(Contract, contract.id, with_for_update=True)
    bills = {
        b.period: b
        for b in db.session.scalars(select(Bill).where(Bill.contract_id == contract.id, Bill.period.in_(wanted)))
    }
    missing = [m for m in wanted if m not in bills]
    if missing:
        raise DomainError(
            f"{_months_text(missing)}分の請求はありません。検針・請求の記録がある月だけ再発行できます。", field="months"
        )
    taken = open_request_months(contract)
    duplicates = [m for m in wanted if m in taken]
    if duplicates:
        details = "、".join(
            f"{wareki_month(m)}分（受付番号 {taken[m].id}・{REISSUE_STATUS_LABELS[taken[m].status]}）" for m in duplicates
        )
        raise DomainError(f"受付済みの再発行があります：{details}。同じ月を重ねて受け付けることはできません。",
                          field="months")

    request = ReissueRequest(
        contract_id=contract.id,
        send_to=destination,
        other_address=address,
        other_address_reason=reason,
        caller_relation=CALLER_RELATIONS[caller_relation],
        requested_by_id=actor.id,
        items=[ReissueItem(bill_id=bills[m].id, period=m) for m in wanted],
    )
    db.session.add(request)
    db.session.flush()
    record(
        actor, "reissue.request", target=request, customer_number=contract.customer_number, reason=reason,
        detail={"months": [m.isoformat() for m in wanted], "send_to": destination.value,
                "caller_relation": caller_relation},
    )
    return request


@requires(CUSTOMER_DESK, message="再発行の取消はオペレーターまたはスーパーバイザーが行います。")
def cancel_reissue(actor: Staff, request_id: int, reason: str) -> ReissueRequest:
    """Cancel a request that has not been mailed, with a reason (also out of a print batch)."""
    reason = require_text(reason, column=ReissueRequest.cancel_reason, label="取消の理由", field="reason")
    request = db.session.get(ReissueRequest, request_id)
    if request is None:
        raise DomainError("該当する再発行の受付がありません。")
    previous = request.status
    # One statement decides: a cancel racing a "mailed" (or a second cancel) changes nothing.
    result = db.session.execute(
        update(ReissueRequest)
        .where(ReissueRequest.id == request_id, ReissueRequest.status.in_(OPEN_STATUSES))
        .values(status=ReissueStatus.CANCELLED, cancel_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("この再発行はすでに発送済みか取消済みのため、取り消せません。画面を更新して確認してください。")
    db.session.refresh(request)
    record(
        actor, "reissue.cancel", target=request, customer_number=request.contract.customer_number, reason=reason,
        detail={"from": previous.value, "batch": request.batch.batch_key if request.batch else None},
    )
    return request


# ---------------------------------------------------------------- print batches

def cutoff_for_day(day: date) -> datetime:
    """The daily batch's cut-off: REISSUE_BATCH_TIME (Japan time) on that day."""
    hour, _, minute = current_app.config["REISSUE_BATCH_TIME"].partition(":")
    return datetime(day.year, day.month, day.day, int(hour), int(minute or 0), tzinfo=TOKYO)


def daily_batch_key(day: date) -> str:
    """The key of the daily batch of that (Japan) day."""
    return f"daily-{day.isoformat()}"


def new_manual_batch_key(now: datetime | None = None) -> str:
    """A key for a supervisor's build form: a resubmitted form builds the same batch."""
    now = (now or clock.now()).astimezone(TOKYO)
    return f"manual-{now:%Y%m%d%H%M%S}-{os.urandom(3).hex()}"


@requires(SUPERVISORS, system=True, message="印刷バッチの作成はスーパーバイザーが行います。")
def gather_print_batch(actor: Staff | None, batch_key: str, cutoff: datetime) -> PrintBatch | None:
    """Put every request recorded up to cutoff and still waiting into the batch named batch_key.

    The same key always gives the same batch: a second call returns it and gathers nothing more.
    None when no batch has that key and no request is waiting. actor None is the scheduled job.
    """
    if not BATCH_KEY_RE.match(batch_key or ""):
        raise DomainError("印刷バッチの指定が正しくありません。画面を更新してやり直してください。")
    existing = db.session.scalar(select(PrintBatch).where(PrintBatch.batch_key == batch_key))
    if existing is not None:
        return existing
    # Row locks (not SKIP LOCKED): a concurrent build waits, then finds these rows taken and the batch made.
    waiting = list(
        db.session.scalars(
            select(ReissueRequest)
            .where(ReissueRequest.status == ReissueStatus.REQUESTED, ReissueRequest.requested_at <= cutoff)
            .options(selectinload(ReissueRequest.contract))
            .order_by(ReissueRequest.requested_at, ReissueRequest.id)
            .with_for_update()
        )
    )
    if not waiting:
        return db.session.scalar(select(PrintBatch).where(PrintBatch.batch_key == batch_key))
    batch = PrintBatch(batch_key=batch_key, created_by_id=actor.id if actor is not None else None)
    try:
        with db.session.begin_nested():
            db.session.add(batch)
    except IntegrityError:
        return db.session.scalar(select(PrintBatch).where(PrintBatch.batch_key == batch_key))
    for request in waiting:
        request.status = ReissueStatus.IN_BATCH
        request.batch_id = batch.id
    db.session.flush()
    for request in waiting:
        record(actor, "reissue.batch", target=request, customer_number=request.contract.customer_number,
               detail={"batch": batch_key})
    record(actor, "print_batch.create", target=batch,
           detail={"batch": batch_key, "cutoff": cutoff.isoformat(), "requests": [r.id for r in waiting]})
    return batch


@requires(SUPERVISORS, message="発送済にするのはスーパーバイザーです。")
def mark_batch_mailed(actor: Staff, batch_id: int) -> int:
    """The mailing room has sent the batch: its requests still in it become mailed (one audit entry each)."""
    batch = db.session.get(PrintBatch, batch_id)
    if batch is None:
        raise DomainError("該当する印刷バッチがありません。")
    if batch.built_at is None:
        raise DomainError("この印刷バッチはまだ作成中です。ファイルができてから発送済にしてください。")
    requests = list(
        db.session.scalars(
            select(ReissueRequest)
            .where(ReissueRequest.batch_id == batch.id, ReissueRequest.status == ReissueStatus.IN_BATCH)
            .options(selectinload(ReissueRequest.contract))
            .order_by(ReissueRequest.id)
            .with_for_update()
        )
    )
    if not requests:
        raise DomainError("発送済にする再発行がありません（すでに発送済みか、取消済みです）。")
    now = clock.now()
    for request in requests:
        request.status = ReissueStatus.MAILED
        request.mailed_at = now
    db.session.flush()
    for request in requests:
        record(actor, "reissue.mailed", target=request, customer_number=request.contract.customer_number,
               detail={"batch": batch.batch_key})
    return len(requests)


def batch_requests(batch: PrintBatch) -> list[ReissueRequest]:
    """The requests of a batch, in print order, with their months and contracts loaded."""
    return list(
        db.session.scalars(
            select(ReissueRequest)
            .where(ReissueRequest.batch_id == batch.id)
            .options(selectinload(ReissueRequest.items), selectinload(ReissueRequest.contract))
            .order_by(ReissueRequest.requested_at, ReissueRequest.id)
        )
    )


# ---------------------------------------------------------------- the notices as issued

@dataclass
class IssuedNotice:
    """One usage notice as it was issued: the facts of that month, not today's."""

    customer_number: str
    settlement_number: str
    holder_name: str
    usage_location: str
    period: date
    reading_from: date | None
    reading_to: date
    reading_date: date
    usage_m3: int
    water_charge: int
    sewer_charge: int
    total: int
    payment_method: str
    due_date: date


def holder_on(holders: list[HolderHistory], day: date) -> HolderHistory | None:
    """The holder whose period covers day (holder history, R12); holders sorted by effective_from."""
    current = None
    for holder in holders:
        if holder.effective_from <= day:
            current = holder
    if current is None:
        return holders[0] if holders else None
    return current


def issued_notices(request: ReissueRequest) -> list[IssuedNotice]:
    """The notices of the requested months, with the holder and payment method of each month."""
    contract = request.contract
    periods = [item.period for item in request.items]
    wanted = set(periods) | {add_months(p, -1) for p in periods}
    bills = {
        b.period: b
        for b in db.session.scalars(select(Bill).where(Bill.contract_id == contract.id, Bill.period.in_(wanted)))
    }
    holders = list(
        db.session.scalars(
            select(HolderHistory).where(HolderHistory.contract_id == contract.id).order_by(HolderHistory.effective_from)
        )
    )
    notices = []
    for period in sorted(periods):
        bill = bills[period]
        previous = bills.get(add_months(period, -1))
        reading_from = previous.reading_date if previous is not None else contract.start_date
        holder = holder_on(holders, bill.reading_date)
        notices.append(
            IssuedNotice(
                customer_number=contract.customer_number,
                settlement_number=contract.settlement_number,
                holder_name=holder.holder_name if holder is not None else contract.holder_name,
                usage_location=CITY_NAME + contract.usage_location,
                period=period,
                reading_from=reading_from,
                reading_to=bill.reading_date - timedelta(days=1),
                reading_date=bill.reading_date,
                usage_m3=bill.usage_m3,
                water_charge=bill.water_charge,
                sewer_charge=bill.sewer_charge,
                total=bill.total,
                payment_method=bill.payment_method.label,
                due_date=bill.due_date,
            )
        )
    return notices


def destination_of(request: ReissueRequest) -> tuple[str, str]:
    """(kind label, address) the reissued notices are mailed to."""
    contract = request.contract
    if request.send_to == SendTo.OTHER:
        return f"指定の送付先（{request.other_address_reason or ''}）", request.other_address or ""
    if contract.mailing_address:
        return "契約の送付先", contract.mailing_address
    return "使用場所", CITY_NAME + contract.usage_location


def addressee_of(request: ReissueRequest) -> str:
    """今日の契約者 + 様 (御中 for a company): the envelope goes to today's holder."""
    contract = request.contract
    return f"{contract.holder_name} {'御中' if contract.holder_kind == HolderKind.COMPANY else '様'}"


# ---------------------------------------------------------------- files

def batch_dir(batch: PrintBatch) -> Path:
    """Where a batch's files live (FILES_DIR/print-batches/<key>)."""
    return Path(current_app.config["FILES_DIR"]) / "print-batches" / batch.batch_key


def list_path(batch: PrintBatch) -> Path:
    """The batch's Excel list for the mailing room."""
    return batch_dir(batch) / "list.xlsx"


def notice_path(batch: PrintBatch, request: ReissueRequest) -> Path:
    """The PDF of one request in a batch."""
    return batch_dir(batch) / f"request-{request.id}.pdf"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_batch_files(batch: PrintBatch, *, only_missing: bool = False) -> list[Path]:
    """Write the Excel list and one PDF per request; mark the batch built. Rerunnable."""
    requests = batch_requests(batch)
    written = []
    path = list_path(batch)
    if not (only_missing and path.exists()):
        write_batch_list(batch, requests, path)
        written.append(path)
    for request in requests:
        path = notice_path(batch, request)
        if not (only_missing and path.exists()):
            _write_atomically(path, notice_pdf(request, reissued_on(batch)))
            written.append(path)
    if batch.built_at is None:
        batch.built_at = clock.now()
        db.session.flush()
    return written


def ensure_list_file(batch: PrintBatch) -> Path:
    """The Excel list, rewritten from the database when this host does not have it (another worker built it)."""
    path = list_path(batch)
    if not path.exists():
        write_batch_list(batch, batch_requests(batch), path)
    return path


def ensure_notice_file(batch: PrintBatch, request: ReissueRequest) -> Path:
    """One request's PDF, rewritten from the database when missing on this host."""
    path = notice_path(batch, request)
    if not path.exists():
        _write_atomically(path, notice_pdf(request, reissued_on(batch)))
    return path


def reissued_on(batch: PrintBatch) -> date:
    """The reissue date printed on the notices: the (Japan) day the batch was gathered."""
    return batch.created_at.astimezone(TOKYO).date()


def _check_download(actor: Staff, batch: PrintBatch) -> None:
    if batch.built_at is None:
        raise DomainError("この印刷バッチはまだ作成中です。しばらくしてから開き直してください。")


@requires(SUPERVISORS, message=DOWNLOAD_REFUSED)
def download_list(actor: Staff, batch: PrintBatch) -> Path:
    """The batch's Excel list for a supervisor; the download is audited (it holds names and addresses)."""
    _check_download(actor, batch)
    path = ensure_list_file(batch)
    record(actor, "print_batch.download", target=batch, detail={"batch": batch.batch_key, "file": path.name})
    return path


@requires(SUPERVISORS, message=DOWNLOAD_REFUSED)
def download_notice(actor: Staff, batch: PrintBatch, request: ReissueRequest) -> Path:
    """One request's PDF for a supervisor; audited under the customer number."""
    _check_download(actor, batch)
    if request.batch_id != batch.id:
        raise DomainError("この再発行はこの印刷バッチに含まれていません。")
    path = ensure_notice_file(batch, request)
    record(actor, "print_batch.download", target=request, customer_number=request.contract.customer_number,
           detail={"batch": batch.batch_key, "file": path.name})
    return path


@requires(SUPERVISORS, message=DOWNLOAD_REFUSED)
def download_notices_zip(actor: Staff, batch: PrintBatch) -> bytes:
    """Every PDF of the batch that is still to be mailed (cancelled ones left out), as one ZIP; audited."""
    import zipfile

    _check_download(actor, batch)
    requests = [r for r in batch_requests(batch) if r.status != ReissueStatus.CANCELLED]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, request in enumerate(requests, start=1):
            path = ensure_notice_file(batch, request)
            archive.write(path, f"{number:03d}_{request.contract.customer_number}_{request.id}.pdf")
    record(actor, "print_batch.download", target=batch,
           detail={"batch": batch.batch_key, "file": "notices.zip", "requests": [r.id for r in requests]})
    return out.getvalue()


# ---------------------------------------------------------------- the Excel list

LIST_COLUMNS = [
    Col("No.", "int", 6), Col("受付番号", "int", 10), Col("お客さま番号", width=14), Col("宛名", width=28),
    Col("送付先", width=48), Col("送付先の種別", width=26), Col("再発行する月", width=40), Col("枚数", "int", 6),
    Col("受付日", "date"), Col("状態", width=10),
]
DETAIL_COLUMNS = [
    Col("No.", "int", 6), Col("受付番号", "int", 10), Col("お客さま番号", width=14), Col("請求月", "month"),
    Col("契約者（当時）", width=28), Col("使用水量（m³）", "int", 14), Col("合計金額", "yen"),
]


def write_batch_list(batch: PrintBatch, requests: list[ReissueRequest], path: Path) -> None:
    """The mailing room's list (reports' writer: safe text cells, real dates): one row per envelope,
    and a second sheet with one row per notice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notices = sum(len(r.items) for r in requests)
    made = batch.created_at.astimezone(TOKYO)
    heading = (f"お知らせ票 再発行 発送リスト　印刷バッチ {batch.batch_key}　{len(requests)}件・お知らせ票 {notices}枚"
               f"　作成日時: {made:%Y-%m-%d %H:%M}")
    envelopes = []
    for number, request in enumerate(requests, start=1):
        kind, address = destination_of(request)
        envelopes.append((
            number, request.id, request.contract.customer_number, addressee_of(request), address, kind,
            _months_text(i.period for i in request.items), len(request.items),
            request.requested_at.astimezone(TOKYO).date(), REISSUE_STATUS_LABELS[request.status],
        ))

    def details() -> list[SummarySheet]:
        rows = []
        for request in requests:
            for notice in issued_notices(request):
                rows.append((len(rows) + 1, request.id, notice.customer_number, notice.period, notice.holder_name,
                             notice.usage_m3, notice.total))
        return [SummarySheet("明細", DETAIL_COLUMNS, rows)]

    write_report(path, sheet_title="発送リスト", heading=heading, columns=LIST_COLUMNS, rows=envelopes,
                 summaries=details)


# ---------------------------------------------------------------- the PDF

# reportlab's built-in Japanese CID fonts: nothing to install, text stays extractable (ToUnicode via UniJIS).
GOTHIC = "HeiseiKakuGo-W5"
MINCHO = "HeiseiMin-W3"


def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    registered = pdfmetrics.getRegisteredFontNames()
    for name in (GOTHIC, MINCHO):
        if name not in registered:
            pdfmetrics.registerFont(UnicodeCIDFont(name))


def notice_pdf(request: ReissueRequest, reissued: date) -> bytes:
    """A cover page addressed to today's holder, then one page per requested month as it was issued."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    _register_fonts()
    notices = issued_notices(request)
    out = io.BytesIO()
    # invariant: no timestamps or random ids inside, so the same batch gives the same bytes.
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1, pageCompression=1)
    pdf.setTitle(f"お知らせ票（再発行）{request.contract.customer_number}")
    pdf.setAuthor("大阪市水道局")
    pages = len(notices) + 1
    _cover_page(pdf, request, notices, reissued)
    _footer(pdf, request, 1, pages)
    pdf.showPage()
    for number, notice in enumerate(notices, start=2):
        _notice_page(pdf, notice, reissued)
        _footer(pdf, request, number, pages)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _reissue_stamp(pdf, reissued: date, right: float, top: float) -> None:
    from reportlab.lib import colors

    pdf.saveState()
    pdf.setStrokeColor(colors.HexColor("#c0392b"))
    pdf.setFillColor(colors.HexColor("#c0392b"))
    pdf.setLineWidth(2)
    pdf.roundRect(right - 130, top - 44, 130, 44, 6, stroke=1, fill=0)
    pdf.setFont(GOTHIC, 22)
    pdf.drawCentredString(right - 65, top - 30, "再発行")
    pdf.restoreState()
    pdf.setFont(GOTHIC, 9)
    pdf.drawRightString(right, top - 58, f"再発行日 {wareki_date(reissued)}")


def _cover_page(pdf, request: ReissueRequest, notices: list[IssuedNotice], reissued: date) -> None:
    from reportlab.lib.pagesizes import A4

    width, height = A4
    kind, address = destination_of(request)
    pdf.setFont(MINCHO, 11)
    # Where a window envelope shows it.
    y = height - 80
    for line in _wrap(address, 30):
        pdf.drawString(70, y, line)
        y -= 16
    pdf.setFont(MINCHO, 13)
    pdf.drawString(70, y - 8, addressee_of(request))
    _reissue_stamp(pdf, reissued, width - 50, height - 50)
    pdf.setFont(GOTHIC, 16)
    pdf.drawCentredString(width / 2, height - 250, "ご使用水量等のお知らせ（お知らせ票）の再発行について")
    pdf.setFont(MINCHO, 11)
    y = height - 300
    for line in (
        "平素より水道事業にご理解とご協力をいただき、ありがとうございます。",
        "お申し込みいただいた下記のお知らせ票を再発行いたしましたので、お送りします。",
        "再発行したお知らせ票の記載内容（契約者名・お支払方法など）は、発行当時のものです。",
    ):
        pdf.drawString(70, y, line)
        y -= 20
    y -= 10
    pdf.setFont(GOTHIC, 11)
    pdf.drawString(70, y, f"お客さま番号　{request.contract.customer_number}")
    y -= 20
    pdf.drawString(70, y, f"再発行する月　{_months_text(n.period for n in notices)}（{len(notices)}枚）")
    y -= 20
    pdf.drawString(70, y, f"受付日　{wareki_date(request.requested_at.astimezone(TOKYO).date())}")
    y -= 40
    pdf.setFont(MINCHO, 10)
    pdf.drawString(70, y, "令和6年1月分以降のお知らせ票は、マイページの「実績」>「過去の利用履歴」>「PDF出力」から")
    pdf.drawString(70, y - 15, "いつでも印刷していただけます。")
    pdf.setFont(GOTHIC, 10)
    pdf.drawString(70, 120, CENTRE_CONTACT)


def _notice_page(pdf, notice: IssuedNotice, reissued: date) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4

    width, height = A4
    _reissue_stamp(pdf, reissued, width - 50, height - 50)
    pdf.setFont(GOTHIC, 18)
    pdf.drawString(60, height - 80, "ご使用水量等のお知らせ")
    pdf.setFont(GOTHIC, 12)
    pdf.drawString(60, height - 102, f"{wareki_month(notice.period)}分")
    reading_from = wareki_date(notice.reading_from) if notice.reading_from else ""
    rows = [
        ("お客さま番号", notice.customer_number),
        ("調定番号", notice.settlement_number),
        ("契約者", f"{notice.holder_name} 様"),
        ("使用場所", notice.usage_location),
        ("請求月", f"{wareki_month(notice.period)}分"),
        ("使用期間", f"{reading_from} 〜 {wareki_date(notice.reading_to)}"),
        ("検針日", wareki_date(notice.reading_date)),
        ("ご使用水量", f"{notice.usage_m3} m³"),
        ("水道料金", yen(notice.water_charge)),
        ("下水道使用料", yen(notice.sewer_charge)),
        ("合計金額", yen(notice.total)),
        ("お支払方法", notice.payment_method),
        ("納期限", wareki_date(notice.due_date)),
    ]
    left, label_width, right = 60, 120, width - 60
    row_height = 30
    top = height - 140
    pdf.setLineWidth(0.6)
    pdf.setStrokeColor(colors.black)
    for index, (label, value) in enumerate(rows):
        y = top - index * row_height
        pdf.setFillColor(colors.HexColor("#eef3f8"))
        pdf.rect(left, y - row_height, label_width, row_height, stroke=0, fill=1)
        pdf.setFillColor(colors.black)
        pdf.rect(left, y - row_height, right - left, row_height, stroke=1, fill=0)
        pdf.line(left + label_width, y, left + label_width, y - row_height)
        pdf.setFont(GOTHIC, 10)
        pdf.drawString(left + 8, y - 19, label)
        bold = label in ("ご使用水量", "合計金額")
        font, size = (GOTHIC, 13) if bold else (MINCHO, 11)
        if label in ("ご使用水量", "水道料金", "下水道使用料", "合計金額"):
            pdf.setFont(font, size)
            pdf.drawRightString(right - 12, y - 20, value)
        else:
            _draw_fitted(pdf, value, left + label_width + 10, y - 20, right - left - label_width - 20, font, size)
    y = top - len(rows) * row_height - 30
    pdf.setFont(MINCHO, 9)
    for line in (
        f"本書は、{wareki_month(notice.period)}分のお知らせ票を{wareki_date(reissued)}に再発行したものです。",
        "記載の内容（契約者名・お支払方法など）は発行当時のものです。",
    ):
        pdf.drawString(60, y, line)
        y -= 14


def _footer(pdf, request: ReissueRequest, page: int, pages: int) -> None:
    from reportlab.lib.pagesizes import A4

    width, _height = A4
    pdf.setFont(GOTHIC, 8)
    batch = request.batch.batch_key if request.batch else ""
    pdf.drawString(60, 40, f"受付番号 {request.id}　印刷バッチ {batch}")
    pdf.drawRightString(width - 60, 40, f"{page} / {pages}")


def _wrap(text: str, width: int) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def _draw_fitted(pdf, text: str, x: float, y: float, max_width: float, font: str, size: float) -> None:
    """Draw on one line, in a smaller size if the text is long (a long building name), never past max_width."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    while size > 7 and stringWidth(text, font, size) > max_width:
        size -= 0.5
    while text and stringWidth(text, font, size) > max_width:
        text = text[:-2] + "…"
    pdf.setFont(font, size)
    pdf.drawString(x, y, text)


# ---------------------------------------------------------------- lists for the pages

def status_counts(batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """Requests per status in each batch, in one query."""
    from sqlalchemy import func

    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for batch_id, status, count in db.session.execute(
        select(ReissueRequest.batch_id, ReissueRequest.status, func.count())
        .where(ReissueRequest.batch_id.in_(batch_ids))
        .group_by(ReissueRequest.batch_id, ReissueRequest.status)
    ):
        counts[batch_id][status] = count
    return counts
