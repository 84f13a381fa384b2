"""Shared helpers for the benchmarks: the city database's app, a signed-in client, percentiles."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable

from sqlalchemy.engine import make_url

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_PASSWORD = "bench-password-2026-long"
# The bench staff's second factor, provisioned at creation (issue 16); sign_in_code() gives its code now.
BENCH_TOTP_SECRET = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"


def database_url(name: str) -> str:
    """The URL of a benchmark database on the local PostgreSQL."""
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def libpq_url(name: str) -> str:
    """database_url without SQLAlchemy's driver name: what psycopg.connect takes."""
    return make_url(database_url(name)).set(drivername="postgresql").render_as_string(hide_password=False)


def city_app(database: str, **overrides):
    """An app on the city database (instance files under /tmp so the repository stays clean)."""
    import os

    os.environ.setdefault("CONSOLE_INSTANCE_PATH", "/tmp/console-bench-instance")
    from console import create_app
    from console.web import prepare_web_worker

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(database), **overrides})
    prepare_web_worker()  # as gunicorn.conf.py's post_worker_init does in each web worker
    return app


def bench_staff(app, role: str = "operator"):
    """A staff member for the benchmarks (created once, committed; the bench database is ours)."""
    from console.extensions import db
    from console.services.staff import create_staff, find_staff

    email = f"bench-{role}@bench.example.jp"
    with app.app_context():
        staff = find_staff(email) or create_staff(None, email, f"ベンチ{role}", [role], BENCH_PASSWORD,
                                                  totp_secret=BENCH_TOTP_SECRET)
        provision_bench_second_factor(staff)
        db.session.commit()
        return staff.id, email


def provision_bench_second_factor(staff) -> None:
    """A bench member made before the second factor existed gets BENCH_TOTP_SECRET (the bench database is ours)."""
    from console import clock

    if not staff.has_second_factor:
        staff.totp_secret, staff.totp_enrolled_at = BENCH_TOTP_SECRET, clock.now()


def signed_in_client(app, email: str):
    """A test client signed in through the real form, with a code the console has not taken yet."""
    from console.services.staff import find_staff

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": email, "password": BENCH_PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login/code", response.status_code
    with app.app_context():
        step = unused_sign_in_step(find_staff(email).totp_last_step)
    page = client.get("/login/code").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login/code", data={"code": sign_in_code(step), "csrf_token": token})
    assert response.status_code == 302 and not response.headers["Location"].startswith("/login"), \
        f"the bench member could not sign in: {response.status_code}"
    return client


def unused_sign_in_step(*last_steps: int | None) -> int:
    """The time step whose code the console will take from bench members whose last accepted steps these
    are: now's or the next (it takes one step either side of now, each once). A bench run again within
    30 s finds both taken, and waits for the next step here instead of sending a code the console refuses
    and counts (five refusals lock the member)."""
    import pyotp

    from console import clock

    last = max((s for s in last_steps if s is not None), default=-1)
    while True:
        now_step = pyotp.TOTP(BENCH_TOTP_SECRET).timecode(clock.now())
        if last < now_step + 1:
            return max(now_step, last + 1)
        time.sleep(30.1 - clock.now().timestamp() % 30)


def sign_in_code(step: int) -> str:
    """The bench staff's second-factor code for the time step `step` (unused_sign_in_step's)."""
    import pyotp

    return pyotp.TOTP(BENCH_TOTP_SECRET).generate_otp(step)


def timed(func: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    func()
    return (time.perf_counter() - started) * 1000


def summary(name: str, samples: list[float], target: float | None = None) -> str:
    """p50 / p95 / p99 / max in ms, with the p95 target if there is one."""
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[max(0, int(len(ordered) * p) - 1)]

    p95 = pct(0.95)
    line = (f"{name:<38} n={len(ordered):>4}  p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms  "
            f"p99 {pct(0.99):7.1f} ms  max {ordered[-1]:7.1f} ms")
    if target is not None:
        line += f"  (target p95 ≤ {target:g} ms: {'OK' if p95 <= target else 'MISSED'})"
    return line
