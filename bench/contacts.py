"""Contacts and follow-ups at city scale (issue 14): recording a contact in the service, "take next" with
10,000 open follow-ups waiting for the desk, a customer's contacts with 500 entries, and home's lists.

    .venv/bin/python bench/seed_city.py [--scale 1.0]        # contacts: ≈ 4 per contract (2 years)
    .venv/bin/python bench/contacts.py [--database console_bench_city] [--samples 200]

Every measured change is rolled back, so the database keeps its 10,000 open desk follow-ups.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.common import bench_staff, city_app, summary, timed  # noqa: E402

BUSY_CONTACTS = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_city")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    app = city_app(args.database)
    staff_id, _email = bench_staff(app)
    from console import transaction
    from console.extensions import db
    from console.models import Contract, Staff
    from console.services import contacts, follow_ups

    rng = random.Random(1)
    with app.app_context():
        sizes = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in ("contract", "contact", "follow_up")}
        desk = db.session.scalar(text("SELECT count(*) FROM follow_up WHERE status = 'open' AND assignee_id IS NULL"))
        print(f"{sizes['contract']:,} contracts, {sizes['contact']:,} contacts, {sizes['follow_up']:,} follow-ups "
              f"({desk:,} open for the desk)")
        top = db.session.scalar(text("SELECT max(id) FROM contract"))
        actor = db.session.get(Staff, staff_id)

        def record(with_follow_up: bool):
            contract = db.session.get(Contract, rng.randint(1, top))
            data = contacts.ContactInput(category=rng.choice(["login", "charges", "payment", "registration"]),
                                         caller_phone="06-6458-1132", memo="ベンチマークの応対", outcome="案内済み",
                                         follow_up_what="折り返し" if with_follow_up else "")
            return lambda: contacts.record_contact(actor, data, contract=contract)

        samples = []
        for n in range(args.samples):
            call = record(n % 4 == 0)
            samples.append(timed(call))
            transaction.rollback()
        print(summary("record a contact (service)", samples, 20))

        samples = []
        for _ in range(args.samples):
            samples.append(timed(lambda: follow_ups.take_next(actor)))
            transaction.rollback()
        print(summary(f"take next ({desk:,} open for the desk)", samples, 20))

        # A customer with 500 contacts: their newest page, and a page deep in their history.
        busy = db.session.get(Contract, rng.randint(1, top))
        db.session.execute(text(
            "INSERT INTO contact (at, staff_id, contract_id, channel, direction, category_id, caller_relation, outcome) "
            "SELECT now() - g * interval '1 day', :s, :c, 'phone', 'inbound', "
            "(SELECT min(id) FROM contact_category), 'holder', 'ベンチ' FROM generate_series(1, :n) g"),
            {"s": staff_id, "c": busy.id, "n": BUSY_CONTACTS})
        db.session.flush()
        samples = [timed(lambda: contacts.for_customer(actor, contract=busy)) for _ in range(args.samples)]
        print(summary(f"a customer's contacts ({BUSY_CONTACTS}), first page", samples))
        deep = contacts.for_customer(actor, contract=busy, limit=400).next_before
        samples = [timed(lambda: contacts.for_customer(actor, contract=busy, before=deep)) for _ in range(args.samples)]
        print(summary("a customer's contacts, page past 400", samples))
        transaction.rollback()

        samples = [timed(lambda: follow_ups.open_lists(actor)) for _ in range(args.samples)]
        transaction.rollback()
        print(summary("home: my and the desk's follow-ups", samples))
        from console.reports import dashboard

        samples = [timed(dashboard.desk_figures) for _ in range(max(5, args.samples // 20))]
        print(summary("supervisor's home: contact figures", samples))
        db.session.remove()


if __name__ == "__main__":
    main()
