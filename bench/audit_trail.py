"""A year of audit trail at 100 requests/s, partitioned by month: the queries that read it and the insert.

    .venv/bin/python bench/audit_trail.py [--rows 50000000] [--months 12] [--database console_bench_audit] [--keep]

Makes a database of its own (migrated with Alembic), replaces the empty legacy partition with monthly
partitions for the last --months months, loads --rows audit rows spread over them (the mix of a desk:
customer views, lookups, list pages, changes; 1.5 M customer numbers, 600 k accounts, 60 staff), then
prints, against issue 17's targets:
- the customer view's "who viewed" panel (services/customer._audit_rows): p95 ≤ 10 ms, for random
  customers, a company's twenty numbers and a number with 6,000 entries in the 90 days, each planned per
  call and with its plan reused (web.plans_reused);
- an audit search by customer number over one month (rows and count, as /audit/ asks): p95 ≤ 200 ms;
- what one audit insert adds to a request (record() + flush): ≤ 1 ms;
and the projection of the table's size to a year at 100 requests/s (≈ 3.1 billion rows).
--keep reuses a loaded database.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text  # noqa: E402

from bench.common import ADMIN_URL, city_app, summary, timed  # noqa: E402

ACTIONS = [("customer.view", 40), ("lookup.search", 30), ("contract.list", 8), ("bill.list", 7),
           ("customer.reveal", 5), ("customer.identity_confirmed", 4), ("account.unlock", 3),
           ("name_change.request", 2), ("report.download", 1)]


def _fresh(name: str) -> None:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def _load(db, rows: int, months: int) -> None:
    from console import clock
    from console.services import audit_partitions as parts

    conn = db.session.connection()
    this_month = parts.month_of(clock.now())
    first = parts.next_month(this_month, -(months - 1))
    # The legacy partition of a fresh database is empty: monthly partitions take its place.
    conn.execute(text("ALTER TABLE audit_event DETACH PARTITION audit_event_legacy"))
    conn.execute(text("DROP TABLE audit_event_legacy"))
    # Past months are loaded as plain tables, indexed, then attached (as a DBA would load them); the
    # months from this one on are made by the console's own function.
    made = [parts.partition_name(parts.next_month(first, i)) for i in range(months)]
    made += parts.ensure_partitions_on(conn, parts.next_month(this_month), 2)
    conn.execute(text(
        "INSERT INTO staff (email, name, password_hash, active, failed_logins, created_at) "
        "SELECT 'desk' || g || '@bench.example.jp', '窓口' || g, 'x', true, 0, now() "
        "FROM generate_series(1, 60) g ON CONFLICT DO NOTHING"))
    staff = [r[0] for r in conn.execute(text("SELECT id FROM staff ORDER BY id LIMIT 60"))]
    db.session.commit()
    print(f"partitions: {len(made)} monthly ({made[0]} … {made[-1]})")
    weights = " ".join(f"WHEN r < {sum(w for _, w in ACTIONS[:i + 1]) / 100} THEN '{a}'"
                       for i, (a, _) in enumerate(ACTIONS))
    per_month = rows // months
    started = time.perf_counter()
    for i in range(months):
        month = parts.next_month(first, i)
        low = parts.bound_literal(month)
        high = parts.bound_literal(parts.next_month(month))
        conn = db.session.connection()
        name = parts.partition_name(month)
        conn.execute(text(f"CREATE TABLE {name} (LIKE audit_event INCLUDING DEFAULTS)"))
        conn.execute(text(f"""
            INSERT INTO {name} (at, staff_id, staff_email, action, target_type, target_id, customer_number,
                                     reason, detail, request_id, client_addr)
            SELECT ts, s, 'desk' || s || '@bench.example.jp', act,
                   CASE WHEN act IN ('customer.view', 'customer.reveal', 'customer.identity_confirmed',
                                     'account.unlock') THEN 'portal_account' END,
                   CASE WHEN act IN ('customer.view', 'customer.reveal', 'customer.identity_confirmed',
                                     'account.unlock') THEN (1 + (h % 600000))::text END,
                   CASE WHEN act NOT IN ('lookup.search', 'contract.list', 'report.download')
                        THEN 'K' || lpad((1 + (h / 7) % 1500000)::text, 9, '0') END,
                   CASE WHEN act = 'customer.reveal' THEN '本人からの問い合わせ' END,
                   CASE WHEN act = 'lookup.search' THEN '{{"kind": "phone", "results": 1}}'::json END,
                   md5(g::text), '10.0.0.' || (s % 250)
            FROM (
                SELECT g, timestamptz '{low}' + random() * (timestamptz '{high}' - timestamptz '{low}') AS ts,
                       {staff[0]} + (g % {len(staff)}) AS s, abs(hashint8(g + {i} * {per_month})) AS h,
                       CASE {weights} ELSE 'customer.view' END AS act
                FROM (SELECT g, random() AS r FROM generate_series(1, {per_month}) g) x
            ) y
            ORDER BY ts
        """))
        conn.execute(text(f"ALTER TABLE {name} ADD PRIMARY KEY (id, at)"))
        for columns in ("(action, at)", "(at)", "(customer_number, at)", "(staff_id, at)",
                        "(target_type, target_id, at)"):
            conn.execute(text(f"CREATE INDEX ON {name} {columns}"))
        conn.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_in_month "
                          f"CHECK (at >= '{low}' AND at < '{high}')"))
        conn.execute(text(f"ALTER TABLE audit_event ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')"))
        conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_in_month"))
        parts.guard_truncate(conn, name)
        db.session.commit()
        done = (i + 1) * per_month
        print(f"  {month:%Y-%m}: {done:,} rows, {done / (time.perf_counter() - started):,.0f} rows/s", flush=True)
    db.session.execute(text("ANALYZE audit_event"))
    db.session.commit()


BUSY = "K000000001"
BUSY_ROWS = 6_000  # a management company's number that the desk opens 70 times a day


def _busy_customer(db, now) -> str:
    """BUSY with BUSY_ROWS entries spread over the panel's 90 days (added once: the database is ours)."""
    from datetime import timedelta

    held = db.session.scalar(text("SELECT count(*) FROM audit_event WHERE customer_number = :n AND at >= :since"),
                             {"n": BUSY, "since": now - timedelta(days=90)})
    if held < BUSY_ROWS:
        db.session.execute(text(
            "INSERT INTO audit_event (at, staff_id, staff_email, action, target_type, target_id, customer_number) "
            "SELECT :now - (g * interval '1 second') * (86400 * 89 / :rows), NULL, 'bench@bench.example.jp', "
            "'customer.view', 'contract', '1', :n FROM generate_series(1, :rows) g"),
            {"now": now, "rows": BUSY_ROWS - held, "n": BUSY})
        db.session.execute(text("ANALYZE audit_event"))
        db.session.commit()
    return BUSY


def _panel(db, reused: bool, numbers, account):
    """services/customer._audit_rows in a transaction of its own; reused: as a plans_reused page runs it."""
    from console.services.customer import _audit_rows
    from console.web import PLANS_REUSED_SETTING

    if reused:
        db.session.execute(text(PLANS_REUSED_SETTING))
    rows = _audit_rows(numbers, account)
    db.session.rollback()
    return rows


def _panel_plan(db, numbers, account) -> list[str]:
    """EXPLAIN ANALYZE of the panel's statement, with its parameters."""
    from datetime import timedelta

    from console import clock
    from console.services import customer

    statement = customer._audit_panel(True, True, "postgresql")
    compiled = statement.compile(dialect=db.session.get_bind().dialect)
    params = compiled.construct_params({"since": clock.now() - timedelta(days=customer.AUDIT_PANEL_DAYS),
                                        customer.AUDITED_NUMBERS: numbers,
                                        customer.AUDITED_ACCOUNT: str(account.id)})
    lines = db.session.connection().exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}", params).scalars().all()
    db.session.rollback()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_audit")
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not args.keep:
        _fresh(args.database)
    from tests.factories import TEST_HASH_COST

    app = city_app(args.database, **TEST_HASH_COST)
    from flask_migrate import upgrade

    from console import clock
    from console.extensions import db
    from console.models import AuditEvent, PortalAccount, Staff
    from console.services import audit_partitions as parts
    from console.services.audit import record

    rng = random.Random(1)
    with app.app_context():
        if not args.keep:
            upgrade()
            _load(db, args.rows, args.months)
        total = db.session.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'audit_event_default'"))
        size = db.session.execute(text(
            "SELECT sum(pg_total_relation_size(c.oid)), sum(c.reltuples)::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_event'::regclass")).one()
        print(f"audit_event: {size[1]:,} rows in {len(parts.partitions(db.session.connection()))} partitions, "
              f"{float(size[0]) / 2**30:,.1f} GiB with indexes (default partition: {total or 0} rows)")
        per_row = float(size[0]) / max(int(size[1]), 1)
        year = 100 * 86400 * 365
        print(f"projection at 100 requests/s: {year:,} rows a year ≈ {year * per_row / 2**40:,.1f} TiB, "
              f"{year / 12 * per_row / 2**30:,.0f} GiB a month-partition")

        # The customer view's panel: a customer's numbers and their account; planned for each call's values
        # (as every console statement is by default) and as the customer page runs it, its plan reused.
        hot = _busy_customer(db, clock.now())
        for reused in (False, True):
            how = ", plan reused" if reused else ""
            panel = []
            for _ in range(args.samples):
                number = f"K{rng.randint(1, 1_500_000):09d}"
                account = PortalAccount(id=rng.randint(1, 600_000))
                panel.append(timed(lambda n=number, a=account: _panel(db, reused, [n], a)))
            print("  " + summary(f"who viewed (customer view panel){how}", panel, 10))
            twenty = []
            for _ in range(args.samples // 4):
                numbers = [f"K{rng.randint(1, 1_500_000):09d}" for _ in range(20)]
                account = PortalAccount(id=rng.randint(1, 600_000))
                twenty.append(timed(lambda n=numbers, a=account: _panel(db, reused, n, a)))
            print("  " + summary(f"who viewed, account with 20 numbers{how}", twenty, 10))
            busy = [timed(lambda: _panel(db, reused, [hot], None)) for _ in range(args.samples // 4)]
            print("  " + summary(f"who viewed, {hot} ({BUSY_ROWS:,} in 90 days){how}", busy, 10))

        # /audit/ filtered by customer number over one month: a page of rows and the count.
        month = parts.next_month(parts.month_of(clock.now()), -rng.randint(1, args.months - 1))
        low = parts.bound_literal(month)
        high = parts.bound_literal(parts.next_month(month))
        search = []
        for _ in range(args.samples):
            number = f"K{rng.randint(1, 1_500_000):09d}"
            where = [AuditEvent.customer_number == number, AuditEvent.at >= text(f"'{low}'::timestamptz"),
                     AuditEvent.at < text(f"'{high}'::timestamptz")]

            def run(w=where):
                db.session.scalars(select(AuditEvent).where(*w).order_by(AuditEvent.at.desc()).limit(20)).all()
                db.session.scalar(select(text("count(*)")).select_from(AuditEvent).where(*w))

            search.append(timed(run))
        print("  " + summary(f"audit search: customer number, {month:%Y-%m}", search, 200))

        # What one audit row adds to a request.
        actor = db.session.scalars(select(Staff).limit(1)).one()
        inserts = []
        for _ in range(args.samples * 5):
            inserts.append(timed(lambda: (record(actor, "customer.view", target_type="portal_account",
                                                 target_id=str(rng.randint(1, 600_000)),
                                                 customer_number=f"K{rng.randint(1, 1_500_000):09d}"),
                                          db.session.flush())))
        db.session.rollback()
        print("  " + summary("audit insert (record + flush)", inserts, 1))
        print("  plan of the panel's statement for a company's numbers and its account (first lines):")
        for line in _panel_plan(db, [f"K{n:09d}" for n in range(1000, 1020)], PortalAccount(id=12345))[:12]:
            print("    " + line)

if __name__ == "__main__":
    main()
