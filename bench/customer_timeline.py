"""The customer view with its timeline and the outage banner (issue 14) on city-scale data.

    .venv/bin/python bench/seed_city.py                # once: the city database
    .venv/bin/python bench/customer_timeline.py [--database console_bench_city] [--entries 500] [--samples 100]
                                                [--account person|company]

One account gets `--entries` history entries (payment-method changes and reissue requests, committed so the
page sees them, deleted at the end) and its usage location an active outage (a published actual notice
written directly, without mail; deleted at the end). Printed: the first and a deep timeline page in the
service with their SELECT count, the outage check, and the whole customer page (target p95 ≤ 100 ms).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402

from bench.common import bench_staff, city_app, signed_in_client, summary, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_city")
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--account", choices=("person", "company"), default="person",
                        help="a person's account with one number (default), or the company with the most")
    args = parser.parse_args()
    app = city_app(args.database)
    staff_id, email = bench_staff(app)

    from console.extensions import db
    from console.models import Contract, PortalAccount
    from console.services import outage_desk, timeline

    with app.app_context():
        # A person's account (one live number), or the management company with the most numbers.
        holders = ("SELECT account_id FROM account_link WHERE ended_at IS NULL GROUP BY account_id "
                   + ("HAVING count(*) = 1" if args.account == "person" else "ORDER BY count(*) DESC LIMIT 1"))
        account_id, contract_id = db.session.execute(text(
            "SELECT l.account_id, l.contract_id FROM account_link l JOIN contract c ON c.id = l.contract_id "
            f"WHERE l.ended_at IS NULL AND c.stop_date IS NULL AND l.is_main AND l.account_id IN ({holders}) "
            "ORDER BY l.account_id LIMIT 1")).one()
        half = args.entries // 2
        # Only the rows added here are removed at the end.
        floor = {t: db.session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {t}"))
                 for t in ("payment_method_change", "reissue_request")}
        db.session.execute(text(
            "INSERT INTO payment_method_change (contract_id, account_id, from_method, to_method, channel, status, "
            "requested_at) SELECT :c, :a, 'payment_notice', 'e_payment', 'portal', 'applied', "
            "now() - make_interval(hours => g) FROM generate_series(1, :n) g"),
            {"c": contract_id, "a": account_id, "n": half})
        db.session.execute(text(
            "INSERT INTO reissue_request (contract_id, send_to, caller_relation, status, requested_by_id, "
            "requested_at) SELECT :c, 'mailing_address', 'holder', 'mailed', :s, "
            "now() - make_interval(hours => g, mins => 30) FROM generate_series(1, :n) g"),
            {"c": contract_id, "s": staff_id, "n": args.entries - half})
        contract = db.session.get(Contract, contract_id)
        notice_id = db.session.execute(text(
            "INSERT INTO outage_notice (status, created_at, created_by_id) VALUES ('published', now(), :s) "
            "RETURNING id"), {"s": staff_id}).scalar()
        version_id = db.session.execute(text(
            "INSERT INTO outage_notice_version (notice_id, version_no, version_type, kind, phenomenon, mode, title, "
            "body, starts_at, expected_restoration_at, created_at, created_by_id, published_at, published_by_id) "
            "VALUES (:n, 1, 'alert', 'emergency', 'outage', 'actual', 'ベンチの断水', '本文', now(), "
            "now() + interval '6 hours', now(), :s, now(), :s) RETURNING id"),
            {"n": notice_id, "s": staff_id}).scalar()
        db.session.execute(text("INSERT INTO outage_area (version_id, ward_code, town) VALUES (:v, :w, :t)"),
                           {"v": version_id, "w": contract.ward_code, "t": contract.town})
        db.session.commit()
    try:
        with app.app_context():
            selects: list[str] = []
            event.listen(db.engine, "before_cursor_execute", lambda *a: selects.append(a[2]))
            account = db.session.get(PortalAccount, account_id)
            contract = db.session.get(Contract, contract_id)
            scope = timeline.Scope.of(account, [contract])
            print(f"account #{account_id}: {len(timeline.page(scope, size=10_000).entries)} timeline entries")
            first, deep, counts = [], [], set()
            page = timeline.page(scope)
            for _ in range(args.entries // timeline.PAGE_SIZE - 2):
                page = timeline.page(scope, page.next_cursor)
            cursor = page.next_cursor
            for _ in range(args.samples):
                selects.clear()
                first.append(timed(lambda: timeline.page(scope)))
                counts.add(len(selects))
                selects.clear()
                deep.append(timed(lambda: timeline.page(scope, cursor)))
                counts.add(len(selects))
            print("  " + summary("timeline, first page (service)", first) + f"  SELECTs {sorted(counts)}")
            print("  " + summary("timeline, page ~" + str(args.entries // timeline.PAGE_SIZE - 1), deep))
            alerts = []
            for _ in range(args.samples):
                alerts.append(timed(lambda: outage_desk.outage_alerts([contract])))
            print("  " + summary("outage banner check (service)", alerts))
        client = signed_in_client(app, email)
        html = client.get(f"/customer/account/{account_id}").get_data(as_text=True)
        assert 'data-testid="outage-banner"' in html and 'data-testid="timeline-older"' in html
        times = [timed(lambda: client.get(f"/customer/account/{account_id}")) for _ in range(args.samples)]
        print("  " + summary("/customer/account/<id> (whole page)", times, 100))
        times = [timed(lambda: client.get(f"/customer/account/{account_id}/timeline",
                                          query_string={"before": cursor.text()})) for _ in range(args.samples)]
        print("  " + summary("/customer/account/<id>/timeline (deep)", times, 100))
    finally:
        with app.app_context():
            db.session.execute(text("DELETE FROM outage_area WHERE version_id = :v"), {"v": version_id})
            db.session.execute(text("DELETE FROM outage_notice_version WHERE id = :v"), {"v": version_id})
            db.session.execute(text("DELETE FROM outage_notice WHERE id = :n"), {"n": notice_id})
            for table, last in floor.items():
                db.session.execute(text(f"DELETE FROM {table} WHERE contract_id = :c AND id > :last"),
                                   {"c": contract_id, "last": last})
            db.session.commit()


if __name__ == "__main__":
    main()
