"""The daily job that makes the audit trail's partitions ahead schedules its next run (rq scheduler)."""

from __future__ import annotations

from datetime import datetime

import pytest

from console import clock
from console.jobs import audit as audit_jobs


def test_next_run_is_the_next_0230_in_japan():
    before = datetime(2026, 12, 1, 1, 0, tzinfo=clock.TOKYO)
    after = datetime(2026, 12, 1, 3, 0, tzinfo=clock.TOKYO)
    assert audit_jobs.next_run(before) == datetime(2026, 12, 1, 2, 30, tzinfo=clock.TOKYO)
    assert audit_jobs.next_run(after) == datetime(2026, 12, 2, 2, 30, tzinfo=clock.TOKYO)


@pytest.mark.postgresql
def test_the_job_makes_partitions_and_schedules_tomorrow(app, database, rq_queue):
    from rq.registry import ScheduledJobRegistry

    audit_jobs.ensure_audit_partitions()
    day = audit_jobs.next_run().date().isoformat()
    assert f"audit-partitions-{day}" in ScheduledJobRegistry(queue=rq_queue).get_job_ids()
