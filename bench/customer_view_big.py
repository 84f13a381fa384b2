"""The customer view of big accounts at city scale: a management company's 250 numbers and 1,000.

    .venv/bin/python bench/customer_view_big.py [--database console_bench_city] [--samples 50]

The 1,000-number account is made once in the bench database (a company account of the seed given
free contracts until it holds 1,000). Prints the service's time and SELECT count, the whole page's
time (Flask test client: routing, template, audit commit) and its HTML size, against the targets of
issue 17 (p95 ≤ 100 ms, HTML ≤ 300 KB, SELECTs not growing with the numbers), and the console's own CPU
time per page: on a shared VM the wall times of two runs can differ by a third, its CPU time less so.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402

from bench.common import bench_staff, city_app, signed_in_client, summary, timed  # noqa: E402

BIG = 1000


def _accounts(db) -> dict[str, int]:
    companies = db.session.execute(text(
        "SELECT account_id, count(*) FROM account_link WHERE ended_at IS NULL GROUP BY account_id "
        "HAVING count(*) >= 200 ORDER BY count(*) DESC, account_id LIMIT 2")).all()
    (big_id, held), (company_id, _) = companies[0], companies[-1]
    if held < BIG:
        db.session.execute(text(
            "INSERT INTO account_link (account_id, contract_id, is_main, source, linked_at) "
            "SELECT :a, c.id, false, 'staff', now() FROM contract c WHERE c.stop_date IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM account_link l WHERE l.contract_id = c.id AND l.ended_at IS NULL) "
            "ORDER BY c.id LIMIT :n"), {"a": big_id, "n": BIG - held})
        db.session.commit()
    single = db.session.scalar(text(
        "SELECT account_id FROM account_link WHERE ended_at IS NULL GROUP BY account_id HAVING count(*) = 1 LIMIT 1"))
    return {"1 number": single, "company, ≈250 numbers": company_id, f"company, {BIG:,} numbers": big_id}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_city")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    app = city_app(args.database, RATELIMIT_ENABLED=False)
    staff_id, email = bench_staff(app)

    from console.clock import today
    from console.extensions import db
    from console.models import Staff
    from console.services import customer

    with app.app_context():
        accounts = _accounts(db)
        actor = db.session.get(Staff, staff_id)
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        print("service (whole call, audit insert included; rolled back):")
        for label, account_id in accounts.items():
            held = db.session.scalar(text(
                "SELECT count(*) FROM account_link WHERE account_id = :a AND ended_at IS NULL"), {"a": account_id})
            times, counts = [], set()
            for _ in range(args.samples):
                statements.clear()
                times.append(timed(lambda a=account_id: customer.view_account(actor, a, today=today())))
                counts.add(sum(1 for s in statements if s.lstrip().upper().startswith("SELECT")))
                db.session.rollback()
            print("  " + summary(f"{label} ({held:,} linked)", times, 100) + f"  SELECTs per view {sorted(counts)}")

    client = signed_in_client(app, email)
    print("whole page:")
    for label, account_id in accounts.items():
        sizes: list[int] = []

        def page(a=account_id):
            response = client.get(f"/customer/account/{a}")
            assert response.status_code == 200
            sizes.append(len(response.get_data()))

        cpu_started = time.process_time()
        times = [timed(page) for _ in range(args.samples)]
        cpu = (time.process_time() - cpu_started) * 1000 / args.samples
        print("  " + summary(label, times, 100) + f"  HTML {max(sizes) / 1024:,.0f} KB (target ≤ 300 KB: "
              f"{'OK' if max(sizes) <= 300 * 1024 else 'MISSED'})  console CPU {cpu:.0f} ms per page")


if __name__ == "__main__":
    main()
