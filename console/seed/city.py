"""City-scale data (PostgreSQL): 1.5 M contracts, 600 k portal accounts, 24 months of bills each.

Contracts and accounts are generated in Python (the lookup keys must be exactly what normalise.py
computes) and streamed with COPY; bills (≈ 36 M rows) are generated inside PostgreSQL. Secondary
indexes and unique/foreign-key constraints of the big tables are read from the catalogue, dropped
for the load and rebuilt afterwards from those same definitions, then everything is VACUUMed and ANALYZEd:
the state autovacuum keeps a running database in (visibility map and hint bits set), which the benches
must measure against even where autovacuum is off (CI's PostgreSQL). Without it every index-only scan
read the table too, and the first reads of each page wrote it back (a contract's older bills: 14 pages
read, 2.0 ms, against 0.14 ms from the index alone).
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import psycopg
from sqlalchemy.engine import make_url

from .. import clock
from ..extensions import db
from ..formats import TOKYO
from ..services.calendar import add_months, month_start
from . import generate

CONTRACTS = 1_500_000
ACCOUNTS = 600_000
BILL_MONTHS = 24
COMPANY_ACCOUNTS = 40
COMPANY_NUMBERS = 250
BIG_TABLES = ["contract", "contract_holder", "portal_account", "account_link", "bill", "contact", "follow_up"]
# Contacts (issue 14): about two per contract per year over two years, by a desk of this many staff.
CONTACTS_PER_CONTRACT = 4
CONTACT_DAYS = 730
DESK_STAFF = 30
# Follow-ups: this many wait for the desk ("take next"), as many more are held by someone, and
# three times as many are closed.
OPEN_DESK_FOLLOW_UPS = 10_000
# Slices loaded in parallel (one per core here); fixed so that the same seed gives the same data.
CHUNKS = 2

CONTRACT_COLUMNS = [
    "id", "customer_number", "settlement_number", "holder_name", "holder_kana", "holder_kind", "holder_name_key",
    "holder_kana_key", "ward_code", "town", "address_line", "building", "room", "usage_address_key",
    "contract_phone", "contract_phone_digits", "mailing_address", "payment_method", "bank_last4",
    "meter_reading_day", "start_date", "stop_date", "created_at",
]
ACCOUNT_COLUMNS = [
    "id", "email", "email_key", "name", "name_kana", "name_key", "name_kana_key", "sms_phone", "sms_phone_digits",
    "registration_step", "registration_status", "registered_at", "failed_login_count", "locked_at",
    "global_notifications", "withdrawn_at", "created_at",
]
LINK_COLUMNS = ["account_id", "contract_id", "is_main", "source", "linked_at"]


class CityLoadError(RuntimeError):
    """The city load cannot run here (not PostgreSQL, or the database is not empty)."""


def load(seed: int, echo: Callable[[str], None] = print, *, scale: float = 1.0) -> dict:
    """Load city-scale data (scale < 1 for tests) into an empty, migrated PostgreSQL database."""
    url = make_url(str(db.engine.url))
    if url.get_backend_name() != "postgresql":
        raise CityLoadError("city-scale data needs PostgreSQL (set CONSOLE_DATABASE_URL to a PostgreSQL database)")
    n_contracts, n_accounts = int(CONTRACTS * scale), int(ACCOUNTS * scale)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with psycopg.connect(conninfo) as conn:
        if conn.execute("SELECT EXISTS (SELECT 1 FROM contract)").fetchone()[0]:
            raise CityLoadError("the database already holds contracts: load city-scale data into a fresh database")
        rng = random.Random(seed)
        today = clock.today()
        with _phase("drop indexes and constraints", timings, echo):
            definitions = _drop_secondary(conn)
        with _phase(f"contracts ({n_contracts:,})", timings, echo):
            chunks = [(conninfo, seed, k, n_contracts, today) for k in range(CHUNKS)]
            # spawn, not fork: a forked child inherits whatever lock another thread of this process
            # held (a test's SMTP server, a connection pool) and can wait on it for ever.
            with multiprocessing.get_context("spawn").Pool(CHUNKS) as pool:
                pool.map(_load_contract_chunk, chunks)
            conn.execute(
                "INSERT INTO contract_holder (contract_id, holder_name, holder_kana, holder_kind, effective_from, "
                "recorded_at) SELECT id, holder_name, holder_kana, holder_kind, start_date, created_at FROM contract"
            )
            conn.commit()
        with _phase(f"portal accounts ({n_accounts:,}) and links", timings, echo):
            links = []
            _copy(conn, "portal_account", ACCOUNT_COLUMNS, _account_rows(rng, n_accounts, n_contracts, today, links))
            _copy(conn, "account_link", LINK_COLUMNS, iter(links))
            conn.commit()
        with _phase(f"bills ({BILL_MONTHS} months per contract)", timings, echo):
            bounds = [(k * n_contracts // CHUNKS, (k + 1) * n_contracts // CHUNKS) for k in range(CHUNKS)]
            _parallel(conninfo, [lambda c, b=b: _bills(c, seed, today, *b) for b in bounds])
        with _phase(f"contacts ({CONTACTS_PER_CONTRACT} per contract) and follow-ups", timings, echo):
            staff_ids = _desk_staff(conn)
            bounds = [(k * n_contracts // CHUNKS, (k + 1) * n_contracts // CHUNKS) for k in range(CHUNKS)]
            _parallel(conninfo, [lambda c, b=b: _contacts(c, seed, staff_ids, *b) for b in bounds])
            _follow_ups(conn, n_contracts, staff_ids, today)
            conn.commit()
        with _phase("rebuild indexes and constraints", timings, echo):
            _recreate(conninfo, definitions)
            for table in BIG_TABLES:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce((SELECT max(id) FROM {table}), 1))"
                )
            conn.commit()
        with _phase("vacuum and analyze", timings, echo):
            conn.autocommit = True
            for table in BIG_TABLES:
                conn.execute(f"VACUUM (ANALYZE) {table}")
        sizes = _sizes(conn)
    timings["total"] = time.perf_counter() - started
    echo(f"city data loaded in {timings['total']:.1f} s")
    for table, (rows, size) in sizes.items():
        echo(f"  {table:<16} {rows:>12,} rows {size / 2**20:>10,.1f} MiB (with indexes)")
    return {"timings": timings, "sizes": sizes}


class _phase:
    """Times one phase and prints it."""

    def __init__(self, name, timings, echo):
        self.name, self.timings, self.echo = name, timings, echo

    def __enter__(self):
        self.start = time.perf_counter()
        self.echo(f"- {self.name} …")

    def __exit__(self, *exc):
        self.timings[self.name] = time.perf_counter() - self.start
        if exc[0] is None:
            self.echo(f"  {self.name}: {self.timings[self.name]:.1f} s")


def _drop_secondary(conn) -> list[str]:
    """Drop unique/foreign-key constraints and secondary indexes of the big tables; return their DDL."""
    tables = tuple(BIG_TABLES)
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype "
        "FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('u', 'f') "
        "ORDER BY c.contype DESC",  # unique before foreign keys on re-creation
        (list(tables),),
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        (list(tables),),
    ).fetchall()
    for table, name, _definition, contype in sorted(constraints, key=lambda c: c[3] != "f"):
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _table, name, _definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    recreate = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, kind in constraints if kind == "u"]
    recreate += [d for _t, _n, d in indexes]
    recreate += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, kind in constraints if kind == "f"]
    return recreate


def _recreate(conninfo: str, definitions: list[str]) -> None:
    """Unique constraints and indexes in parallel, bill's last-longest first; foreign keys after."""
    foreign = [d for d in definitions if "FOREIGN KEY" in d]
    others = sorted((d for d in definitions if "FOREIGN KEY" not in d), key=lambda d: " bill " not in d)

    def task(statement):
        def run(conn):
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute(statement)
        return run

    _parallel(conninfo, [task(d) for d in others])
    _parallel(conninfo, [task(d) for d in foreign])


def _copy(conn, table: str, columns: list[str], rows: Iterator[tuple]) -> None:
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _load_contract_chunk(args) -> None:
    """One worker process: generate and COPY one slice of the contracts (deterministic per slice)."""
    conninfo, seed, chunk, count, today = args
    per_chunk = -(-count // CHUNKS)
    first, last = chunk * per_chunk + 1, min(count, (chunk + 1) * per_chunk)
    rng = random.Random(f"{seed}:{chunk}")
    with psycopg.connect(conninfo) as conn:
        _copy(conn, "contract", CONTRACT_COLUMNS, _contract_rows(rng, first, last, today))
        conn.commit()


def _contract_rows(rng: random.Random, first: int, last: int, today: date) -> Iterator[tuple]:
    created = datetime.combine(today, datetime.min.time(), tzinfo=TOKYO)
    for index in range(first, last + 1):
        values = generate.contract_values(rng, index, today, kind="company" if index % 97 == 0 else "person")
        if index % 41 == 0:
            values["stop_date"] = today - timedelta(days=rng.randint(1, 700))
        values["id"], values["created_at"] = index, created
        yield tuple(values[c] for c in CONTRACT_COLUMNS)


def _account_rows(rng, count: int, n_contracts: int, today: date, links: list) -> Iterator[tuple]:
    """Accounts with their links: most hold one number, some two or three, a few companies hundreds."""
    next_contract = 1
    for account_id in range(1, count + 1):
        if account_id <= COMPANY_ACCOUNTS:
            held = max(1, min(COMPANY_NUMBERS, n_contracts // 100))
            name, kana = generate.company(rng)
        else:
            held = rng.choices([1, 2, 3], weights=[88, 10, 2])[0]
            name, kana = generate.person(rng)
        held = min(held, n_contracts - next_contract + 1)
        created = datetime.combine(today - timedelta(days=rng.randint(1, 900)), datetime.min.time(), tzinfo=TOKYO)
        phone = generate.mobile(rng)
        email = f"c{account_id:07d}@example.jp"
        locked = created + timedelta(days=1) if account_id % 500 == 0 else None
        registered = held > 0
        for k in range(held):
            links.append((account_id, next_contract + k, k == 0, "portal", created))
        next_contract += held
        yield (
            account_id, email, email, name, kana, generate.normalise.name_key(name), generate.normalise.name_key(kana),
            phone, generate.normalise.phone_digits(phone) or None,
            "sms_verified" if registered else "contract_info", "full" if registered else "in_progress",
            created if registered else None, 5 if locked else 0, locked, account_id % 10 != 0, None, created,
        )


def _parallel(conninfo: str, tasks: list[Callable]) -> None:
    """Run each task on its own connection, CHUNKS at a time, committing each."""

    def run(task):
        with psycopg.connect(conninfo) as conn:
            task(conn)
            conn.commit()

    with ThreadPoolExecutor(CHUNKS) as pool:
        list(pool.map(run, tasks))


def _bills(conn, seed: int, today: date, low: int, high: int) -> None:
    """Bills of contracts with low < id <= high: a month's once its meter has been read (by today), paid
    only on a day that has come."""
    last = month_start(today)
    first = add_months(last, -(BILL_MONTHS - 1))
    water, sewer = generate.CHARGES_SQL
    conn.execute(
        f"""
        INSERT INTO bill (contract_id, period, reading_date, usage_m3, water_charge, sewer_charge, due_date,
                          payment_method, notice_channel, payment_status, paid_on)
        SELECT id, period, reading, u, {water}, {sewer}, reading + 30, payment_method, channel,
               CASE WHEN p.paid_on IS NULL THEN 'unpaid' ELSE 'paid' END, p.paid_on
        FROM (
            SELECT c.id, c.payment_method, c.stop_date, (%(first)s::date + make_interval(months => g))::date AS period,
                   ((%(first)s::date + make_interval(months => g))::date + (c.meter_reading_day - 1)) AS reading,
                   CASE WHEN l.contract_id IS NULL THEN 'paper' ELSE 'portal' END AS channel,
                   abs(c.id * 2654435761 + g * 40503 + %(seed)s) AS h,
                   5 + abs(c.id * 2654435761 + g * 40503 + %(seed)s) %% 36
                     + CASE WHEN c.holder_kind = 'company' THEN 60 ELSE 0 END AS u
            FROM contract c
            LEFT JOIN account_link l ON l.contract_id = c.id AND l.ended_at IS NULL
            CROSS JOIN generate_series(0, %(months)s - 1) AS g
            WHERE c.id > %(low)s AND c.id <= %(high)s
        ) AS b
        -- Older months are paid; of last month's and this month's, two in three, each once its day has come.
        CROSS JOIN LATERAL (
            SELECT CASE WHEN (period < %(recent)s OR (h %% 3) > 0) AND reading + (10 + h %% 15)::int <= %(today)s
                        THEN reading + (10 + h %% 15)::int END AS paid_on
        ) AS p
        WHERE (stop_date IS NULL OR period <= stop_date) AND reading <= %(today)s
        """,
        {"first": first, "recent": add_months(last, -1), "today": today, "seed": seed, "months": BILL_MONTHS,
         "low": low, "high": high},
    )


def _desk_staff(conn) -> list[int]:
    """The operators who recorded the seeded contacts: former staff (inactive, no usable password)."""
    ids = []
    for n in range(1, DESK_STAFF + 1):
        (staff_id,) = conn.execute(
            "INSERT INTO staff (email, name, password_hash, active, failed_logins, created_at) "
            "VALUES (%s, %s, '!', false, 0, %s) RETURNING id",
            (f"city-desk-{n:02d}@seed.example.jp", f"市オペレーター{n:02d}", clock.now()),
        ).fetchone()
        conn.execute("INSERT INTO staff_role (staff_id, role) VALUES (%s, 'operator')", (staff_id,))
        ids.append(staff_id)
    conn.commit()
    return ids


def _contacts(conn, seed: int, staff_ids: list[int], low: int, high: int) -> None:
    """Contacts of contracts with low < id <= high, spread over the last CONTACT_DAYS days (no memo
    older than the retention period: two years of five)."""
    conn.execute(
        """
        INSERT INTO contact (at, staff_id, contract_id, channel, direction, category_id, caller_relation,
                             caller_phone, memo, outcome)
        SELECT %(now)s::timestamptz - make_interval(mins => (h %% (%(days)s * 1440))::int),
               (%(staff)s::int[])[1 + h %% %(n_staff)s], c.id,
               CASE WHEN h %% 5 = 0 THEN 'counter' ELSE 'phone' END,
               CASE WHEN h %% 7 = 0 THEN 'outbound' ELSE 'inbound' END,
               cat.ids[1 + (h / 7) %% array_length(cat.ids, 1)],
               CASE WHEN h %% 4 = 0 THEN 'family' ELSE 'holder' END,
               c.contract_phone_digits, 'お問い合わせの内容（シード）', '案内済み'
        FROM contract c
        CROSS JOIN generate_series(1, %(per)s) AS g
        CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM contact_category) AS cat
        CROSS JOIN LATERAL (SELECT abs(c.id * 2654435761 + g * 40503 + %(seed)s) AS h) AS x
        WHERE c.id > %(low)s AND c.id <= %(high)s
        """,
        {"now": clock.now(), "days": CONTACT_DAYS, "staff": staff_ids, "n_staff": len(staff_ids), "per": CONTACTS_PER_CONTRACT,
         "seed": seed, "low": low, "high": high},
    )


def _follow_ups(conn, n_contracts: int, staff_ids: list[int], today: date) -> None:
    """OPEN_DESK_FOLLOW_UPS open ones for the desk, as many held by staff, three times as many closed."""
    step = max(1, n_contracts // (OPEN_DESK_FOLLOW_UPS * 5))
    conn.execute(
        """
        INSERT INTO follow_up (contact_id, what, due_date, assignee_id, status, created_at, created_by_id,
                               taken_at, closed_at, closed_by_id)
        SELECT k.id, '折り返し連絡（シード）', %(today)s::date + (k.n %% 15 - 5)::int,
               CASE WHEN k.n %% 5 = 0 THEN NULL ELSE k.staff_id END,
               CASE WHEN k.n %% 5 IN (0, 1) THEN 'open' ELSE 'closed' END,
               k.at, k.staff_id,
               CASE WHEN k.n %% 5 = 0 THEN NULL ELSE k.at END,
               CASE WHEN k.n %% 5 IN (0, 1) THEN NULL ELSE k.at + interval '1 day' END,
               CASE WHEN k.n %% 5 IN (0, 1) THEN NULL ELSE k.staff_id END
        FROM (SELECT d.*, row_number() OVER (ORDER BY d.contract_id) AS n
              FROM (SELECT DISTINCT ON (contract_id) id, at, staff_id, contract_id
                    FROM contact WHERE contract_id %% %(step)s = 0 ORDER BY contract_id, at DESC) AS d) AS k
        WHERE k.n <= %(limit)s
        """,
        {"today": today, "step": step, "limit": OPEN_DESK_FOLLOW_UPS * 5},
    )


def _sizes(conn) -> dict[str, tuple[int, int]]:
    sizes = {}
    for table in BIG_TABLES:
        rows, size = conn.execute(
            f"SELECT (SELECT count(*) FROM {table}), pg_total_relation_size('{table}')"
        ).fetchone()
        sizes[table] = (rows, size)
    return sizes
