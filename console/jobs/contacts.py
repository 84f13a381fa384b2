"""The daily job that removes contacts' memos past their retention period (R21, issue 14)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from .. import clock, transaction
from ..formats import TOKYO
from ..services import contacts
from .queue import schedule_at, with_app_context

log = logging.getLogger(__name__)

# Japan time of the daily run: after the desk has gone home, before the monthly reports (03:00).
RUN_AT = time(2, 30)


@with_app_context
def remove_expired_contact_memos(day: str | None = None) -> int:
    """Remove the memos older than CONTACT_MEMO_RETENTION_YEARS as of day (Japan date, default today).

    Safe to run twice: a removed memo is empty and is not selected again, so a second run removes
    nothing more (and says so in its audit row). It schedules the next day's run first, so one failure
    does not end the chain."""
    today = date.fromisoformat(day) if day else clock.today()
    schedule_contact_memo_removal()
    removed = contacts.remove_expired_memos(None, today=today)
    transaction.commit()
    log.info("contact memos: %s removed (retention as of %s)", removed, today)
    return removed


def next_run(now: datetime | None = None) -> datetime:
    """The next RUN_AT (Japan time) after now."""
    now = (now or clock.now()).astimezone(TOKYO)
    run_at = datetime.combine(now.date(), RUN_AT, tzinfo=TOKYO)
    return run_at if run_at > now else run_at + timedelta(days=1)


def schedule_contact_memo_removal(now: datetime | None = None) -> str | None:
    """Schedule the next daily run on the rq scheduler (job id contact-memos-<day>); None when inline.

    Called by every worker at start and by each run: the deterministic job id keeps one entry per day."""
    run_at = next_run(now)
    day = run_at.date().isoformat()
    return schedule_at(run_at, remove_expired_contact_memos, day, job_id=f"contact-memos-{day}")
