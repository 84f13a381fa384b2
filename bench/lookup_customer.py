"""Lookup and customer-view latency on city-scale data (issue 3), service and whole page.

    .venv/bin/python bench/seed_city.py            # once: the city database
    .venv/bin/python bench/lookup_customer.py [--database console_bench_city] [--samples 200]

Queries are drawn at random from the data and typed the messy way an operator types them.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.common import bench_staff, city_app, signed_in_client, summary, timed  # noqa: E402

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _samples(db, n: int, rng: random.Random) -> dict[str, list]:
    """Real values from the city, typed in the ways the desk types them."""
    contracts = db.session.execute(text(
        "SELECT id, customer_number, contract_phone, holder_kana, town, address_line FROM contract "
        "TABLESAMPLE SYSTEM (1) WHERE contract_phone IS NOT NULL LIMIT :n"), {"n": n}).all()
    accounts = db.session.execute(text(
        "SELECT id, email, sms_phone FROM portal_account TABLESAMPLE SYSTEM (2) WHERE sms_phone IS NOT NULL LIMIT :n"),
        {"n": n}).all()
    return {
        "phone (contract, full-width)": [c.contract_phone.translate(FULL_WIDTH) for c in contracts],
        "phone (SMS, +81)": ["+81 " + a.sms_phone[1:] for a in accounts],
        "e-mail (upper case)": [a.email.upper() for a in accounts],
        "customer number (lower case)": [c.customer_number.lower() for c in contracts],
        "name kana prefix (surname)": [c.holder_kana.split(" ")[0] for c in contracts],
        "address partial (town + block)": [f"{c.town}{c.address_line.split('-')[0]}-" for c in contracts],
        "_contract_ids": [c.id for c in contracts],
        "_account_ids": [a.id for a in accounts],
    }


def _time_selects(engine) -> list[float]:
    """Milliseconds of each SELECT the engine runs (the list is cleared by the caller)."""
    import time

    from sqlalchemy import event

    spent: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, _cursor, _statement, _params, _context, _many):
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            spent.append((time.perf_counter() - conn.info["bench_started"]) * 1000)

    return spent


def _many_numbers(db, actor, select_ms, customer, today) -> None:
    """The customer view of an account holding 20 customer numbers (two years of bills each), and of a
    management company's 250: time and number of queries, which must not grow with the rows."""
    account_id = db.session.scalar(text(
        "SELECT account_id FROM account_link WHERE ended_at IS NULL GROUP BY account_id HAVING count(*) = 1 LIMIT 1"))
    free = db.session.scalars(text(
        "SELECT c.id FROM contract c WHERE NOT EXISTS (SELECT 1 FROM account_link l WHERE l.contract_id = c.id "
        "AND l.ended_at IS NULL) AND c.stop_date IS NULL LIMIT 19")).all()
    for contract_id in free:
        db.session.execute(text("INSERT INTO account_link (account_id, contract_id, is_main, source, linked_at) "
                                "VALUES (:a, :c, false, 'staff', now())"), {"a": account_id, "c": contract_id})
    company_id = db.session.scalar(text(
        "SELECT account_id FROM account_link WHERE ended_at IS NULL GROUP BY account_id HAVING count(*) >= 200 LIMIT 1"))
    for label, target in (("20 numbers", account_id), ("company, 250 numbers", company_id)):
        times, queries = [], set()
        for _ in range(50):
            select_ms.clear()
            times.append(timed(lambda t=target: customer.view_account(actor, t, today=today())))
            queries.add(len(select_ms))
        bills = db.session.scalar(text(
            "SELECT count(*) FROM bill b JOIN account_link l ON l.contract_id = b.contract_id "
            "WHERE l.account_id = :a AND l.ended_at IS NULL"), {"a": target})
        print("  " + summary(f"customer view, {label}", times, 100) + f"  SELECTs per view {sorted(queries)}, "
              f"{bills} bills")
    db.session.rollback()  # the 19 extra links were for this measurement only


def _seq_scan_baseline(db, samples) -> None:
    """What an exact phone lookup would cost without its index: the ratio to quote."""
    phone = samples["phone (contract, full-width)"][0]
    from console import normalise

    digits = normalise.phone_digits(phone)
    sql = text("EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM contract WHERE contract_phone_digits = :d LIMIT 51")
    indexed = db.session.execute(sql, {"d": digits}).scalar()[0]["Execution Time"]
    db.session.execute(text("SET LOCAL enable_indexscan = off"))
    db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
    scanned = db.session.execute(sql, {"d": digits}).scalar()[0]["Execution Time"]
    db.session.rollback()
    print(f"  baseline: exact phone by index {indexed:.2f} ms vs sequential scan of contract {scanned:.1f} ms "
          f"(×{scanned / max(indexed, 0.001):,.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_city")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(1)
    app = city_app(args.database)
    staff_id, email = bench_staff(app)

    from console.clock import today
    from console.extensions import db
    from console.models import Staff
    from console.services import customer, lookup

    with app.app_context():
        select_ms = _time_selects(db.engine)
        samples = _samples(db, args.samples, rng)
        actor = db.session.get(Staff, staff_id)
        print(f"city: {db.session.scalar(text('SELECT count(*) FROM contract')):,} contracts, "
              f"{db.session.scalar(text('SELECT reltuples::bigint FROM pg_class WHERE relname = :t'), {'t': 'bill'}):,} bills")
        print("service (whole call: matching, rows, audit insert; rolled back) and its SELECTs' database time:")
        for name, queries in samples.items():
            if name.startswith("_"):
                continue
            times, db_times = [], []
            for q in queries:
                select_ms.clear()
                times.append(timed(lambda q=q: lookup.search(actor, q)))
                db_times.append(sum(select_ms))
                db.session.rollback()
            exact = not ("prefix" in name or "partial" in name)
            print("  " + summary(name, times))
            print("  " + summary("  of which SELECTs", db_times, 2 if exact else 150))
        views = []
        for contract_id in samples["_contract_ids"]:
            views.append(timed(lambda i=contract_id: customer.view_contract(actor, i, today=today())))
            db.session.rollback()
        print("  " + summary("customer view (contract)", views, 100))
        views = []
        for account_id in samples["_account_ids"]:
            views.append(timed(lambda i=account_id: customer.view_account(actor, i, today=today())))
            db.session.rollback()
        print("  " + summary("customer view (account)", views, 100))

        _many_numbers(db, actor, select_ms, customer, today)
        _seq_scan_baseline(db, samples)

    client = signed_in_client(app, email)
    print("whole page (Flask test client: routing, session, template, audit commit):")
    for name, queries in samples.items():
        if name.startswith("_"):
            continue
        times = [timed(lambda q=q: client.get("/lookup/", query_string={"q": q})) for q in queries]
        print("  " + summary(f"/lookup {name}", times, 50 if "prefix" not in name and "partial" not in name else 150))
    times = [timed(lambda i=i: client.get(f"/customer/contract/{i}")) for i in samples["_contract_ids"]]
    print("  " + summary("/customer/contract/<id>", times, 100))
    times = [timed(lambda i=i: client.get(f"/customer/account/{i}")) for i in samples["_account_ids"]]
    print("  " + summary("/customer/account/<id>", times, 100))
    response = client.get("/lookup/", query_string={"phone": samples["phone (SMS, +81)"][0]})
    print(f"screen pop /lookup?phone=… → {response.status_code} {response.headers.get('Location', '')}")


if __name__ == "__main__":
    main()
