"""Load city-scale data into a fresh PostgreSQL database and print the time and table sizes.

    .venv/bin/python bench/seed_city.py [--scale 1.0] [--seed 1] [--keep]

The database (default console_bench_city) is dropped and created anew, migrated with Alembic,
then loaded by `seed --size city`. Other benchmarks reuse it (pass --database to them).
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fresh_database(name: str, admin_url: str = ADMIN_URL) -> str:
    """Drop and create a database; return its URL."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_city")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from console import create_app
    from console.seed.city import load

    url = fresh_database(args.database)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        migrated = time.perf_counter()
        result = load(args.seed, echo=print, scale=args.scale)
    print(f"migrate: {migrated - started:.1f} s; "
          f"load incl. indexes, VACUUM and ANALYZE: {result['timings']['total']:.1f} s; "
          f"wall time: {time.perf_counter() - started:.1f} s (target ≤ 600 s at scale 1.0)")


if __name__ == "__main__":
    main()
