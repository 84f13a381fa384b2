"""50 operators at once on gunicorn + PostgreSQL + Redis with city-scale data (issue 9).

    .venv/bin/python bench/load_desk.py [--operators 50] [--seconds 120] [--warm-up 10] [--think 1.0]
                                        [--workers 5]

Each operator signs in (a staff account of its own); once all have, they work for --seconds, each in a
loop: a lookup typed the messy way, the customer view of a contract, now and then a company's account and
a deep page of the contract and bill lists. Prints how long the sign-ins took, then p50/p95/p99/max per
kind over the working time, requests per second and every error. The desk's steady state is measured
apart from fifty password checks at once (each is made slow on purpose), which no real shift has: the
operators start their loops at random within one think time, and what they do in the first --warm-up
seconds (new workers compiling templates and opening connections) is left out of the figures.

Over the working time it also reads what the machine spent (Linux /proc): the CPU time of the web workers
and of PostgreSQL per request, how busy the cores were and how much the hypervisor took (steal). On a
machine that is busy all through, the percentiles are a queue's: the per-request CPU then says how many
requests a second these cores can serve at all, and what a desk's peak needs. It also samples what
PostgreSQL's busy sessions waited for (pg_stat_activity every 50 ms): on a machine with idle cores, long
tails with "IO DataFileRead" or "IO WALSync" high are the disk's (pages not in memory, commits' flushes).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import (  # noqa: E402
    BENCH_PASSWORD,
    BENCH_TOTP_SECRET,
    city_app,
    database_url,
    libpq_url,
    provision_bench_second_factor,
    sign_in_code,
    summary,
    unused_sign_in_step,
)

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(database: str, operators: int) -> dict:
    """Staff accounts for the operators, and real values to look up."""
    app = city_app(database)
    from console.extensions import db
    from console.services.staff import create_staff, find_staff

    with app.app_context():
        emails, last_steps = [], []
        for i in range(operators):
            email = f"load-operator-{i:02d}@bench.example.jp"
            member = find_staff(email) or create_staff(None, email, f"負荷{i:02d}", ["operator"], BENCH_PASSWORD,
                                                       totp_secret=BENCH_TOTP_SECRET)
            provision_bench_second_factor(member)
            emails.append(email)
            last_steps.append(member.totp_last_step)
        db.session.commit()
        rows = db.session.execute(text(
            "SELECT id, customer_number, contract_phone, holder_kana FROM contract TABLESAMPLE SYSTEM (1) "
            "WHERE contract_phone IS NOT NULL LIMIT 2000")).all()
        emails_seen = db.session.scalars(text("SELECT email FROM portal_account TABLESAMPLE SYSTEM (1) LIMIT 1000")).all()
        # Management companies' accounts (hundreds of numbers each): the customer view's heaviest pages.
        companies = db.session.scalars(text(
            "SELECT account_id FROM account_link WHERE ended_at IS NULL GROUP BY account_id "
            "HAVING count(*) >= 100 LIMIT 50")).all()
        max_contract = db.session.scalar(text("SELECT max(id) FROM contract"))
        max_bill = db.session.scalar(text("SELECT max(id) FROM bill"))
        data_directory = db.session.scalar(text("SHOW data_directory"))
    queries = ([r.contract_phone.translate(FULL_WIDTH) for r in rows] + [r.customer_number.lower() for r in rows]
               + [e.upper() for e in emails_seen] + [r.holder_kana.split(" ")[0] for r in rows[:200]])
    return {"staff": emails, "step": unused_sign_in_step(*last_steps), "queries": queries,
            "contracts": [r.id for r in rows], "companies": companies, "max_contract": max_contract,
            "max_bill": max_bill, "postmaster": _postmaster_pid(data_directory),
            "url": libpq_url(database)}


_TICKS = os.sysconf("SC_CLK_TCK")  # Linux: this bench reads /proc


def _process_trees_cpu(*roots: int | None) -> list[float | None]:
    """CPU seconds of each root process and its descendants, those that ended included (a parent that
    reaped them counts their time as its children's): gunicorn's master and its workers, PostgreSQL's
    postmaster and its backends. None for a root not given. One pass over /proc for all of them."""
    children: dict[int, list[int]] = defaultdict(list)
    own: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we read
        pid, ppid = int(entry), int(fields[1])
        children[ppid].append(pid)
        # utime, stime, then the reaped children's cutime and cstime
        own[pid] = sum(int(v) for v in fields[11:15]) / _TICKS

    def tree(root: int) -> float:
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            total += own.get(pid, 0.0)
            stack.extend(children.get(pid, ()))
        return total

    return [None if root is None else tree(root) for root in roots]


def _postmaster_pid(data_directory: str) -> int | None:
    """The PostgreSQL server's own process (it runs on this machine here), from its data directory."""
    try:
        with open(Path(data_directory) / "postmaster.pid") as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def _machine_ticks() -> tuple[int, int, int]:
    """All CPU ticks, the idle ones (iowait included) and the stolen ones, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return sum(values[:8]), values[3] + values[4], values[7]


class Spent:
    """What the machine spent between two readings: web workers, PostgreSQL, all cores, steal; and, in
    between, what the console's PostgreSQL sessions were waiting for when they were busy (sampled)."""

    SAMPLE_EVERY = 0.05  # seconds

    def __init__(self, web: int, database: int | None, url: str):
        self.web, self.database, self.url = web, database, url
        self.readings: list[tuple] = []  # (web CPU s, PostgreSQL CPU s or None, ticks: all, idle, steal)
        self.waits: Counter = Counter()
        self.samples = 0

    def read(self) -> None:
        self.readings.append((*_process_trees_cpu(self.web, self.database), *_machine_ticks()))
        if len(self.readings) == 1:
            threading.Thread(target=self._sample_waits, daemon=True).start()

    def _sample_waits(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            while len(self.readings) < 2:
                self.waits.update(connection.execute(
                    "SELECT coalesce(wait_event_type || ' ' || wait_event, 'on CPU') FROM pg_stat_activity "
                    "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
                ).fetchall())
                self.samples += 1
                time.sleep(self.SAMPLE_EVERY)

    def report(self, requests: int) -> str:
        if len(self.readings) < 2 or not requests:
            return "  CPU: not read"
        (web0, db0, all0, idle0, steal0), (web1, db1, all1, idle1, steal1) = self.readings[:2]
        ticks = max(1, all1 - all0)
        web_ms = (web1 - web0) * 1000 / requests
        # PostgreSQL's own CPU is read where its server runs on this machine; elsewhere it is left out.
        db_ms = (db1 - db0) * 1000 / requests if db0 is not None else None
        cores = os.cpu_count() or 1
        busy, steal = 100 * (ticks - (idle1 - idle0)) / ticks, 100 * (steal1 - steal0) / ticks
        spent_ms = web_ms + (db_ms or 0.0)
        ceiling = f"{cores * 1000 / spent_ms:.0f}" if spent_ms else "?"
        waits = ", ".join(f"{what} {count / max(1, self.samples):.2f}"
                          for (what,), count in self.waits.most_common(5))
        return (f"  CPU per request: web {web_ms:.1f} ms, PostgreSQL "
                f"{'not read (not on this machine)' if db_ms is None else f'{db_ms:.1f} ms'}; {cores} cores "
                f"{busy:.0f} % busy (steal {steal:.0f} %); at this mix, with no load generator beside them, "
                f"these cores serve at most ≈ {ceiling} req/s\n"
                f"  PostgreSQL sessions at work, on average, by what they waited for: {waits or 'none seen'}")


class Operator(threading.Thread):
    """One operator's session, looping until the deadline."""

    def __init__(self, base, email, data, clock, think, results, errors, rng):
        super().__init__(daemon=True)
        # clock: a barrier the operators pass once all have signed in, and the deadline it sets.
        self.base, self.email, self.data, self.clock, self.think = base, email, data, clock, think
        self.results, self.errors, self.rng = results, errors, rng
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def _get(self, kind: str, path: str) -> str:
        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                body = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as exc:
            status, body = exc.code, ""
        except Exception as exc:  # noqa: BLE001 - counted and printed
            self.errors.append(f"{kind} {type(exc).__name__}: {exc}")
            return ""
        if kind == "sign-in page" or started >= self.clock["started"]:
            self.results[kind].append((time.perf_counter() - started) * 1000)
        if status >= 400:
            self.errors.append(f"{kind} HTTP {status} {path[:60]}")
        return body

    def sign_in(self) -> None:
        page = self._get("sign-in page", "/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"email": self.email, "password": BENCH_PASSWORD, "csrf_token": token}).encode()
        with self.opener.open(self.base + "/login", data=body, timeout=30) as response:
            assert response.url.endswith("/login/code"), f"password refused for {self.email}"
            page = response.read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"code": sign_in_code(self.data["step"]), "csrf_token": token}).encode()
        with self.opener.open(self.base + "/login/code", data=body, timeout=30) as response:
            assert "/login" not in response.url, f"sign-in failed for {self.email}"

    def run(self) -> None:
        try:
            self.sign_in()
        except BaseException:
            self.clock["signed_in"].abort()  # the others stop waiting; the error is printed
            raise
        self.clock["signed_in"].wait()
        data, rng = self.data, self.rng
        time.sleep(rng.uniform(0, self.think))  # a desk's operators are not in step
        while time.perf_counter() < self.clock["deadline"]:
            query = rng.choice(data["queries"])
            self._get("lookup", "/lookup/?" + urllib.parse.urlencode({"q": query}))
            self._get("customer view", f"/customer/contract/{rng.choice(data['contracts'])}")
            if data["companies"] and rng.random() < 0.05:
                self._get("customer view, company", f"/customer/account/{rng.choice(data['companies'])}")
            if rng.random() < 0.1:
                self._get("contract list, deep page", f"/contracts/?after={rng.randrange(1, data['max_contract'])}")
                self._get("bill list, deep page", f"/bills/?after={rng.randrange(1, data['max_bill'])}")
            if self.think:
                time.sleep(rng.uniform(0.5, 1.5) * self.think)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_city")
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--warm-up", type=int, default=10, help="seconds of work before the figures count")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between an operator's actions")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()
    data = _prepare(args.database, args.operators)
    port = _free_port()
    env = {**os.environ, "CONSOLE_DATABASE_URL": database_url(args.database), "CONSOLE_REDIS_URL": args.redis,
           "CONSOLE_SECRET_KEY": "bench-secret", "CONSOLE_INSTANCE_PATH": "/tmp/console-bench-instance",
           "CONSOLE_BIND": f"127.0.0.1:{port}",
           # All operators sign in from 127.0.0.1 here; the per-address limit is for the real desk.
           "CONSOLE_LOGIN_LIMIT_PER_ADDRESS": "1000 per minute"}
    if args.workers:
        env["CONSOLE_WEB_WORKERS"] = str(args.workers)
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "console:create_app()"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        results, errors = defaultdict(list), []
        clock: dict = {"started": float("inf")}  # until then, only the sign-ins count

        spent, readings = Spent(server.pid, data["postmaster"], data["url"]), []

        def start_work() -> None:  # run once, when the last operator has signed in
            clock["started"] = time.perf_counter() + args.warm_up
            clock["deadline"] = clock["started"] + args.seconds
            # The machine is read when the figures start counting and when the work ends.
            readings.extend(threading.Timer(at - time.perf_counter(), spent.read)
                            for at in (clock["started"], clock["deadline"]))
            for reading in readings:
                reading.start()

        clock["signed_in"] = threading.Barrier(args.operators, action=start_work, timeout=300)
        operators = [Operator(base, email, data, clock, args.think, results, errors, random.Random(i))
                     for i, email in enumerate(data["staff"])]
        signing_in = time.perf_counter()
        for operator in operators:
            operator.start()
        for operator in operators:
            operator.join()
        for reading in readings:
            reading.join()
        if clock["started"] == float("inf"):
            raise SystemExit("the operators could not all sign in (see the error above)")
        elapsed = time.perf_counter() - clock["started"]
        total = sum(len(v) for kind, v in results.items() if kind != "sign-in page")
        workers = args.workers or f"{os.cpu_count() + 1} (default)"
        signed_in = clock["started"] - args.warm_up - signing_in
        print(f"{args.operators} operators signed in within {signed_in:.1f} s, warmed up {args.warm_up} s, "
              f"then worked {args.seconds} s, think {args.think} s, gunicorn {workers} workers: "
              f"{total:,} requests, {total / elapsed:.0f} req/s, {len(errors)} errors")
        targets = {"lookup": 50, "customer view": 100, "customer view, company": 100}
        for kind, samples in sorted(results.items()):
            print("  " + summary(kind, samples, targets.get(kind)))
        print(spent.report(total))
        for error in errors[:20]:
            print("  error:", error)
    finally:
        server.terminate()
        server.wait(20)


if __name__ == "__main__":
    main()
