"""Requests per second of the public supply-point JSON and GeoJSON (and the alerts feed) under gunicorn,
measured with wrk (Debian package `wrk`). Prints figures; not a test.

    .venv/bin/python bench/disaster_public.py --database console_bench_disaster [--duration 15]

The pages only read; when the database has no supply points yet, the demo's 72 points are added (never
on console_bench_city, which other benchmarks share).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy.engine import make_url

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PATHS = ("/public/supply-points.json", "/public/supply-points.geojson", "/public/alerts.atom")


def _ensure_points(url: str, database: str) -> int:
    from sqlalchemy import func, select

    from console import create_app
    from console.extensions import db
    from console.models import SupplyPoint

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(SupplyPoint))
        if count == 0 and database != "console_bench_city":
            from console.seed import demo

            count = demo._supply_points(random.Random(1))
            db.session.commit()
        db.engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_disaster")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--port", type=int, default=8871)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    url = make_url(ADMIN_URL).set(database=args.database).render_as_string(hide_password=False)
    points = _ensure_points(url, args.database)
    env = dict(os.environ, CONSOLE_DATABASE_URL=url, CONSOLE_INSTANCE_PATH="/tmp/bench-disaster-public",
               CONSOLE_SECRET_KEY="bench")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "-w", str(args.workers), "-b", f"127.0.0.1:{args.port}", "--log-level", "warning",
         "console:create_app()"], env=env,
    )
    try:
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + PATHS[0], timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        print(f"supply points: {points}; gunicorn {args.workers} sync workers; wrk 2 threads, "
              f"{args.connections} connections, {args.duration} s each")
        for path in PATHS:
            size = len(urllib.request.urlopen(base + path).read())
            out = subprocess.run(
                ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency", base + path],
                capture_output=True, text=True, check=True,
            ).stdout
            rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
            p99 = re.search(r"99%\s+(\S+)", out)
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(f"{path:<34} {float(rps):>8.0f} req/s  p99 {p99.group(1) if p99 else '?':>8}  "
                  f"body {size:,} B  non-2xx {errors.group(1) if errors else 0}  (target ≥ 500 req/s)")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
