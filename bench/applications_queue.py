"""The start-application queue with 10,000 pending applications on city-scale contracts (issue 5).

    .venv/bin/python bench/applications_queue.py [--database console_bench_city] [--pending 10000]

The applications are inserted (at real addresses of the city, so the detail page finds neighbours),
measured, and deleted again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.common import bench_staff, city_app, signed_in_client, summary, timed  # noqa: E402

MARK = "ベンチ"


def _insert(db, pending: int) -> list[int]:
    db.session.execute(text("DELETE FROM start_application WHERE applicant_kana LIKE :m"), {"m": f"{MARK}%"})
    db.session.execute(text(
        "INSERT INTO start_application (channel, with_registration, applicant_name, applicant_kana, holder_kind, phone, "
        "phone_digits, ward_code, town, address_line, building, room, desired_start_date, payment_method, status, "
        "received_at) "
        "SELECT CASE WHEN i % 3 = 0 THEN 'phone' ELSE 'portal' END, false, c.holder_name, :m || ' ' || i, 'person', "
        "coalesce(c.contract_phone, ''), coalesce(c.contract_phone_digits, ''), c.ward_code, c.town, c.address_line, c.building, "
        "c.room, CURRENT_DATE + (i % 30)::int - 5, 'payment_notice', 'pending', now() - (i % 200) * interval '1 hour' "
        "FROM (SELECT row_number() OVER () AS i, * FROM contract TABLESAMPLE SYSTEM (2) LIMIT :n) c"),
        {"n": pending, "m": MARK})
    db.session.commit()
    db.session.execute(text("ANALYZE start_application"))
    return db.session.scalars(text("SELECT id FROM start_application WHERE applicant_kana LIKE :m ORDER BY random() "
                                   "LIMIT 200"), {"m": f"{MARK}%"}).all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_city")
    parser.add_argument("--pending", type=int, default=10_000)
    args = parser.parse_args()
    app = city_app(args.database)
    _staff_id, email = bench_staff(app)
    from console.extensions import db

    with app.app_context():
        sample = _insert(db, args.pending)
        pending = db.session.scalar(text("SELECT count(*) FROM start_application WHERE status = 'pending'"))
        print(f"{pending:,} pending start applications, "
              f"{db.session.scalar(text('SELECT count(*) FROM contract')):,} contracts")
    try:
        client = signed_in_client(app, email)
        pages = {
            "queue, first page": "/applications/",
            "queue, one ward": "/applications/?ward=27127",
            "queue, portal + registration": "/applications/?channel=portal&registration=no",
            "queue, page 50": "/applications/?page=50",
            "queue, date range": "/applications/?from=2026-12-01&to=2026-12-10",
        }
        for name, url in pages.items():
            assert client.get(url).status_code == 200
            times = [timed(lambda u=url: client.get(u)) for _ in range(100)]
            print("  " + summary(name, times, 100))
        times = [timed(lambda i=i: client.get(f"/applications/{i}")) for i in sample]
        print("  " + summary("detail next to the place", times))
        times = [timed(lambda: client.get("/applications/not-started")) for _ in range(50)]
        print("  " + summary("accepted but not started", times))
    finally:
        with app.app_context():
            db.session.execute(text("DELETE FROM start_application WHERE applicant_kana LIKE :m"), {"m": f"{MARK}%"})
            db.session.commit()


if __name__ == "__main__":
    main()
