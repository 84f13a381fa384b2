"""The audit trail's monthly partitions on PostgreSQL (issue 17): made ahead, and old ones archived.

audit_event is partitioned by `at` over Japan months (migration 0016): audit_event_pYYYY_MM holds one
month, audit_event_legacy everything before partitioning began, audit_event_default whatever arrives
before its month's partition exists (it should stay empty: the daily job makes partitions
AUDIT_PARTITIONS_AHEAD months ahead). A month older than AUDIT_LIVE_MONTHS can be detached to the
audit_archive schema: out of the live table and its queries, still in the database until it is dumped
(pg_dump -t 'audit_archive.*') and dropped by the DBA. Detaching is not a DELETE; it is audited.
SQLite (the embedded default) keeps one table: the functions here say so and change nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from sqlalchemy import text
from sqlalchemy.engine import Connection

from .. import clock
from ..extensions import db
from ..models import Staff
from . import DomainError
from .audit import record
from .permissions import ADMINS, requires

DEFAULT_AHEAD = 3
ARCHIVE_SCHEMA = "audit_archive"
_BOUND = re.compile(r"FROM \((?:'([^']+)'|MINVALUE)\) TO \((?:'([^']+)'|MAXVALUE)\)")


def month_of(moment: datetime) -> date:
    """The first day of moment's month in Japan."""
    local = moment.astimezone(clock.TOKYO)
    return date(local.year, local.month, 1)


def next_month(month: date, count: int = 1) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def bound_literal(month: date) -> str:
    """A partition bound: midnight in Japan at the start of month."""
    return datetime.combine(month, time(0), tzinfo=clock.TOKYO).isoformat(sep=" ")


def partition_name(month: date) -> str:
    return f"audit_event_p{month:%Y_%m}"


def guard_truncate(conn: Connection, table: str) -> None:
    # Row triggers on the parent are cloned to every partition; TRUNCATE triggers are not.
    conn.execute(text(f"CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON {table} "
                      "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"))


def create_default(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT"))
    guard_truncate(conn, "audit_event_default")


def partitions(conn: Connection) -> list[tuple[str, datetime | None, datetime | None]]:
    """(name, from, to) of each range partition, oldest first; None for MINVALUE/MAXVALUE."""
    rows = conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_event'::regclass")).all()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound or "")
        if match is None:
            continue  # the DEFAULT partition
        low, high = (datetime.fromisoformat(v) if v else None for v in match.groups())
        found.append((name, low, high))
    return sorted(found, key=lambda p: p[1] or datetime.min.replace(tzinfo=clock.TOKYO))


def ensure_partitions_on(conn: Connection, start: date, months_ahead: int) -> list[str]:
    """Create the monthly partitions from start's month to months_ahead months later that no partition
    covers yet; returns their names."""
    covered = partitions(conn)
    created = []
    for offset in range(months_ahead + 1):
        month = next_month(start, offset)
        low = datetime.combine(month, time(0), tzinfo=clock.TOKYO)
        if any((lo is None or lo <= low) and (hi is None or low < hi) for _, lo, hi in covered):
            continue
        name = partition_name(month)
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF audit_event FOR VALUES FROM "
                          f"('{bound_literal(month)}') TO ('{bound_literal(next_month(month))}')"))
        guard_truncate(conn, name)
        created.append(name)
    return created


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


@requires(ADMINS, system=True)
def ensure_partitions(actor: Staff | None, *, months_ahead: int | None = None) -> list[str]:
    """This month's partition and the next months_ahead (AUDIT_PARTITIONS_AHEAD); idempotent."""
    from flask import current_app

    if not _postgresql():
        return []
    ahead = current_app.config["AUDIT_PARTITIONS_AHEAD"] if months_ahead is None else months_ahead
    created = ensure_partitions_on(db.session.connection(), month_of(clock.now()), ahead)
    if created:
        record(actor, "audit.partitions_created", detail={"partitions": created})
    return created


@requires(ADMINS, system=True)
def archive_before(actor: Staff | None, month: date) -> list[tuple[str, int]]:
    """Detach every partition that ends on or before month (Japan) to the audit_archive schema.

    Refused for months still inside AUDIT_LIVE_MONTHS. Returns (partition, rows) archived."""
    from flask import current_app

    if not _postgresql():
        raise DomainError("組込み既定（SQLite）の監査ログは月ごとに分かれていないため、切り離せません。")
    live = current_app.config["AUDIT_LIVE_MONTHS"]
    newest_allowed = next_month(month_of(clock.now()), -live)
    if month > newest_allowed:
        raise DomainError(f"監査ログは {live} か月分をコンソールに保持します。{newest_allowed:%Y-%m} より前の月を指定してください。")
    conn = db.session.connection()
    limit = datetime.combine(month, time(0), tzinfo=clock.TOKYO)
    archived = []
    conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {ARCHIVE_SCHEMA}"))
    for name, _low, high in partitions(conn):
        if high is None or high > limit:
            continue
        rows = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar()
        conn.execute(text(f"ALTER TABLE audit_event DETACH PARTITION {name}"))
        conn.execute(text(f"ALTER TABLE {name} SET SCHEMA {ARCHIVE_SCHEMA}"))
        archived.append((name, rows))
    if not archived:
        raise DomainError(f"{month:%Y-%m} より前に終わる月の監査ログはありません（切り離し済みか、まだありません）。")
    record(actor, "audit.archived", detail={"partitions": [{"name": n, "rows": r} for n, r in archived],
                                            "before": month.isoformat()})
    return archived
