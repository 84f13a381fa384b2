"""Jobs that gather reissue requests into print batches and write the batch files (R15)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from .. import clock, transaction
from ..extensions import db
from ..formats import TOKYO
from ..models import Staff
from ..services import print_batches
from .queue import schedule_at, with_app_context

log = logging.getLogger(__name__)


@with_app_context
def build_print_batch(batch_key: str, cutoff: str, staff_id: int | None = None) -> int | None:
    """Gather the requests recorded up to cutoff (ISO datetime) into batch batch_key and write its files.

    Safe to run twice: the key is unique, so a second run finds the batch the first one made and gathers
    nothing more (requests in a batch are no longer waiting); it only writes files still missing. The
    batch row and its requests are committed before any file is written, so a run killed halfway is
    finished by the next one. Returns the batch id, or None when nothing was waiting.
    """
    actor = db.session.get(Staff, staff_id) if staff_id is not None else None
    batch = print_batches.gather_print_batch(actor, batch_key, datetime.fromisoformat(cutoff))
    transaction.commit()
    if batch is None:
        log.info("print batch %s: no request waiting", batch_key)
        return None
    written = print_batches.write_batch_files(batch, only_missing=batch.built_at is not None)
    transaction.commit()
    log.info("print batch %s (#%s): %s files written", batch_key, batch.id, len(written))
    return batch.id


@with_app_context
def build_daily_print_batch(day: str | None = None) -> int | None:
    """The daily batch of day (Japan date, default today): requests recorded up to REISSUE_BATCH_TIME.

    Safe to run twice: its key is daily-<day> and its cut-off is fixed by the day, so a retry or a late
    run builds the same batch. It schedules the next day's run first, so one failure does not end the chain.
    """
    today = date.fromisoformat(day) if day else clock.today()
    schedule_daily_print_batch()
    cutoff = min(print_batches.cutoff_for_day(today), clock.now())
    return build_print_batch(print_batches.daily_batch_key(today), cutoff.isoformat())


def next_daily_run(now: datetime | None = None) -> datetime:
    """The next REISSUE_BATCH_TIME (Japan time) after now."""
    now = (now or clock.now()).astimezone(TOKYO)
    run_at = print_batches.cutoff_for_day(now.date())
    if run_at <= now:
        run_at = print_batches.cutoff_for_day(now.date() + timedelta(days=1))
    return run_at


def schedule_daily_print_batch(now: datetime | None = None) -> str | None:
    """Schedule the next daily batch on the rq scheduler (job id print-batch-daily-<day>); None when inline.

    Called by every worker at start and by each daily run: the deterministic job id keeps one entry per day.
    """
    run_at = next_daily_run(now)
    day = run_at.date().isoformat()
    return schedule_at(run_at, build_daily_print_batch, day, job_id=f"print-batch-daily-{day}")
