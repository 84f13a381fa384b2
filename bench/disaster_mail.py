"""Publish a 12-ward actual outage notice on city-scale data; time recipient selection + enqueueing, then
the sending rate of two rq workers to a local SMTP sink. Prints figures; not a test.

    .venv/bin/python bench/disaster_mail.py --database console_bench_disaster [--send-seconds 60]

The database must hold city-scale data (bench/seed_city.py --database console_bench_disaster --scale 0.2
builds one). The benchmark WRITES a notice, its notification and one delivery row per recipient, so it
refuses console_bench_city, which other benchmarks share. Redis: CONSOLE_REDIS_URL or
redis://127.0.0.1:6379/12, on a queue of its own.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# The 12 most populous wards' worth of the city: about half the accounts.
WARDS = ("27102", "27103", "27104", "27106", "27107", "27108", "27109", "27111", "27113", "27114", "27115", "27116")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CountingSink:
    """An aiosmtpd handler that only counts messages."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.count += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_disaster")
    parser.add_argument("--redis", default=os.environ.get("CONSOLE_REDIS_URL", "redis://127.0.0.1:6379/12"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--send-seconds", type=float, default=60.0, help="how long to let the workers send")
    args = parser.parse_args()
    if args.database == "console_bench_city":
        sys.exit("this benchmark writes rows: run it on a copy (bench/seed_city.py --database console_bench_disaster)")

    url = make_url(ADMIN_URL).set(database=args.database).render_as_string(hide_password=False)
    queue_name = f"bench-disaster-{uuid.uuid4().hex[:6]}"
    from aiosmtpd.controller import Controller
    from sqlalchemy import func, select

    from console import create_app
    from console.extensions import db
    from console.jobs import disaster as jobs
    from console.models import Delivery, PortalAccount, Staff
    from console.services import outage_mail, outage_notices

    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": args.redis, "RQ_QUEUE": queue_name,
                      "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": controller.port})
    with app.app_context():
        accounts = db.session.scalar(select(func.count()).select_from(PortalAccount))
        staff = db.session.scalar(select(Staff).limit(1))
        if staff is None:
            from werkzeug.security import generate_password_hash

            from console.models import StaffRole

            staff = Staff(email="bench-coordinator@example.jp", name="ベンチ", password_hash=generate_password_hash("x"))
            staff.roles = [StaffRole(role="disaster_coordinator")]
            db.session.add(staff)
            db.session.commit()
        draft = outage_notices.create_draft(staff, outage_notices.NoticeInput(
            title="【ベンチマーク】断水のお知らせ", body="地震により配水管が破損し、断水しています。",
            guidance="応急給水拠点をご利用ください。", starts_at="2026-11-25T06:00", wards=WARDS))
        db.session.commit()
        started = time.perf_counter()
        _, notification_id = outage_notices.publish_draft(staff, draft.notice_id, "https://example.jp/public/alerts")
        selected = time.perf_counter()
        db.session.commit()
        committed = time.perf_counter()
        job_count = jobs.enqueue_outage_batches(notification_id)
        enqueued = time.perf_counter()
        recipients = db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.notification_id == notification_id))
    print(f"accounts in the database: {accounts:,}; recipients for 12 wards: {recipients:,} "
          f"({recipients / max(accounts, 1):.0%})")
    print(f"select recipients (INSERT … SELECT): {selected - started:.2f} s; commit: {committed - selected:.2f} s; "
          f"enqueue {job_count} jobs: {enqueued - committed:.2f} s; total {enqueued - started:.2f} s (target ≤ 30 s)")

    env = dict(os.environ, CONSOLE_DATABASE_URL=url, CONSOLE_REDIS_URL=args.redis, CONSOLE_RQ_QUEUE=queue_name,
               CONSOLE_MAIL_SERVER="127.0.0.1", CONSOLE_MAIL_PORT=str(controller.port),
               CONSOLE_INSTANCE_PATH=f"/tmp/bench-disaster-{queue_name}")
    # `flask worker` (make worker): the app is built once per worker and inherited by each work horse.
    flask = str(Path(sys.executable).with_name("flask"))
    workers = [subprocess.Popen([flask, "--app", "console", "worker", "--burst"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(args.workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    first = sink.count
    while time.perf_counter() - t0 < args.send_seconds and any(w.poll() is None for w in workers):
        time.sleep(1)
    elapsed = time.perf_counter() - t0
    sent_in_window = sink.count - first
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)  # warm shutdown: the current batch finishes
    for worker in workers:
        worker.wait(600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total_sent = sink.count - first
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    controller.stop()
    with app.app_context():
        progress = outage_mail.delivery_progress(notification_id)
    print(f"sending with {args.workers} rq workers: {sent_in_window:,} mails in {elapsed:.1f} s = "
          f"{sent_in_window / elapsed:.0f} mails/s (target ≥ 150)")
    print(f"worker CPU (user+sys, incl. work horses): {cpu:.1f} s for {total_sent:,} mails = "
          f"{1000 * cpu / max(total_sent, 1):.2f} ms per mail; progress now {progress}")


if __name__ == "__main__":
    main()
