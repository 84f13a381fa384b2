"""The audit trail's monthly partitions, made ahead once a day (PostgreSQL).

Like the daily print batch, the job lives in rq's scheduled registry under one id per day: every worker
schedules the next run at start, and each run schedules the next, so a failure or a stopped scheduler
does not end the chain. The migration made AUDIT_PARTITIONS_AHEAD months to begin with, and
`flask audit partitions` makes them by hand (without Redis nothing is scheduled).
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from .. import clock, transaction
from ..services import audit_partitions
from .queue import JobsUnavailable, schedule_at, with_app_context

log = logging.getLogger(__name__)

# 02:30 in Japan: after the day's traffic, before the 03:00 reports.
RUN_AT = time(2, 30)


@with_app_context
def ensure_audit_partitions(schedule_next: bool = True) -> list[str]:
    """Make the partitions the next months need; idempotent."""
    if schedule_next:
        try:
            schedule_audit_partitions()
        except JobsUnavailable:
            log.warning("audit partitions: Redis unreachable, the next run is not scheduled (a worker's start will)")
    created = audit_partitions.ensure_partitions(None)
    transaction.commit()
    if created:
        log.info("audit partitions created: %s", ", ".join(created))
    return created


def next_run(now: datetime | None = None) -> datetime:
    now = (now or clock.now()).astimezone(clock.TOKYO)
    run_at = datetime.combine(now.date(), RUN_AT, tzinfo=clock.TOKYO)
    return run_at if run_at > now else run_at + timedelta(days=1)


def schedule_audit_partitions(now: datetime | None = None) -> str | None:
    """Schedule the next daily run (job id audit-partitions-<day>); None when jobs run inline."""
    run_at = next_run(now)
    day = run_at.date().isoformat()
    return schedule_at(run_at, ensure_audit_partitions, job_id=f"audit-partitions-{day}")
