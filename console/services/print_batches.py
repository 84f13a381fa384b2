"""Print batches of reissue requests (R15): gathered, their files written and downloaded, marked mailed."""

from __future__ import annotations

import io
import os
import re
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock
from ..documents.print_list import write_batch_list
from ..documents.reissued_notices import notice_pdf
from ..extensions import db
from ..formats import TOKYO
from ..models import (
    PrintBatch,
    ReissueRequest,
    ReissueStatus,
    Staff,
)
from . import DomainError
from .audit import record
from .permissions import SUPERVISORS, requires

DOWNLOAD_REFUSED = "印刷バッチのファイルはスーパーバイザーがダウンロードします。"


# daily-2026-11-25 from the scheduled job; manual-<yyyymmddHHMMSS>-<6 hex> from a supervisor's form.
BATCH_KEY_RE = re.compile(r"^(daily-\d{4}-\d{2}-\d{2}|manual-\d{14}-[0-9a-f]{6})$")


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


@requires(SUPERVISORS)
def view_print_batch(actor: Staff, batch: PrintBatch) -> list[ReissueRequest]:
    """A batch's page lists every request's customer and destination: personal data, so audited."""
    requests = batch_requests(batch)
    record(actor, "print_batch.view", target=batch,
           detail={"batch": batch.batch_key, "requests": [r.id for r in requests]})
    return requests


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
