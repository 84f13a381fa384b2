"""The audit trail partitioned by month on PostgreSQL: append-only on every partition, partitions made
ahead by the daily job, old months detached to the archive by a command (issue 17)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from console import clock
from console.extensions import db
from console.models import AuditEvent
from console.services import DomainError, audit_partitions
from console.services.audit import record

pytestmark = pytest.mark.postgresql


def _names() -> set[str]:
    return {name for name, _, _ in audit_partitions.partitions(db.session.connection())}


def test_the_trail_is_partitioned_by_month_with_months_ahead(database):
    assert db.session.execute(text(
        "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'audit_event'::regclass")).scalar() == "r"
    this_month = audit_partitions.month_of(clock.now())
    audit_partitions.ensure_partitions(None)
    names = _names()
    for ahead in range(1, audit_partitions.DEFAULT_AHEAD + 1):
        assert audit_partitions.partition_name(audit_partitions.next_month(this_month, ahead)) in names
    assert db.session.execute(text("SELECT to_regclass('audit_event_default')")).scalar() is not None
    # A row lands in the partition of its Japan month.
    event = record(None, "audit.partitions_created", detail={"partitions": []})
    db.session.flush()
    where = db.session.execute(text("SELECT tableoid::regclass::text FROM audit_event WHERE id = :i"),
                               {"i": event.id}).scalar()
    assert where in names | {"audit_event_default"}


def _refused(statement: str) -> None:
    savepoint = db.session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    savepoint.rollback()


def test_append_only_on_the_parent_and_every_partition(database):
    event = record(None, "audit.partitions_created", detail={"partitions": []})
    db.session.flush()
    holder = db.session.execute(text("SELECT tableoid::regclass::text FROM audit_event WHERE id = :i"),
                                {"i": event.id}).scalar()
    for table in ("audit_event", holder):
        _refused(f"UPDATE {table} SET reason = 'changed' WHERE id = {event.id}")
        _refused(f"DELETE FROM {table} WHERE id = {event.id}")
    partitions = ["audit_event_legacy", "audit_event_default", *sorted(_names())]
    for table in ["audit_event", *partitions]:
        _refused(f"TRUNCATE {table}")
    # Every partition, empty ones included, carries the row trigger (cloned) and the TRUNCATE one.
    triggers = dict(db.session.execute(text(
        "SELECT c.relname, array_agg(t.tgname::text ORDER BY t.tgname) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname LIKE 'audit_event%' AND NOT t.tgisinternal "
        "GROUP BY c.relname")).all())
    for table in partitions:
        assert triggers[table] == ["audit_event_no_change", "audit_event_no_truncate"], table


def test_ensure_partitions_is_idempotent_and_audited(database):
    this_month = audit_partitions.month_of(clock.now())
    audit_partitions.ensure_partitions(None)
    far = audit_partitions.partition_name(audit_partitions.next_month(this_month, 8))
    created = audit_partitions.ensure_partitions(None, months_ahead=8)
    assert far in created and audit_partitions.ensure_partitions(None, months_ahead=8) == []
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.partitions_created")
                               .order_by(AuditEvent.id.desc())).first()
    assert far in event.detail["partitions"]


def test_recent_months_cannot_be_archived(database):
    with pytest.raises(DomainError, match="13 か月分"):
        audit_partitions.archive_before(None, audit_partitions.month_of(clock.now()))


def test_old_months_are_detached_to_the_archive(app, database, monkeypatch):
    event = record(None, "audit.partitions_created", detail={"partitions": ["kept in the archive"]})
    db.session.flush()
    kept = event.id
    # Pretend the live period is over for everything before next month (the legacy partition's end).
    monkeypatch.setitem(app.config, "AUDIT_LIVE_MONTHS", -1)
    archived = audit_partitions.archive_before(None, audit_partitions.next_month(audit_partitions.month_of(clock.now())))
    assert ("audit_event_legacy", pytest.approx(archived[0][1])) == archived[0] and archived[0][1] >= 1
    assert db.session.execute(text("SELECT count(*) FROM audit_event WHERE id = :i"), {"i": kept}).scalar() == 0
    assert db.session.execute(text("SELECT count(*) FROM audit_archive.audit_event_legacy WHERE id = :i"),
                              {"i": kept}).scalar() == 1
    done = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.archived")).one()
    assert done.detail["partitions"][0]["name"] == "audit_event_legacy"


def test_the_commands(app, database):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["audit", "partitions"])
    assert made.exit_code == 0 and "作成した区画" in made.output
    refused = runner.invoke(args=["audit", "archive", "--before", "2999-01"])
    assert refused.exit_code != 0 and "か月分をコンソールに保持します" in refused.output
    malformed = runner.invoke(args=["audit", "archive", "--before", "last year"])
    assert malformed.exit_code != 0 and "監査記録の月を YYYY-MM" in malformed.output and "請求月" not in malformed.output
