"""Each SELECT of a console page planned for its values and planned once for any values, side by side.

    .venv/bin/python bench/generic_plans.py [--database console_bench_city] PATH [PATH …]

For every page path given (/customer/contract/777777, /customer/account/2/timeline, …) the page is
opened once as the bench operator, its SELECT statements are captured with their parameters, and each is
PREPAREd on a connection of its own and run by `EXPLAIN ANALYZE EXECUTE` under plan_cache_mode
force_custom_plan (planned for its values, as every console statement is by default) and
force_generic_plan (one plan for any values: what a page marked web.plans_reused runs with), best of
three. Prints planning and execution time of each, the page's totals, and flags a statement whose
generic plan runs over twice as long and 0.5 ms longer, with the first lines of both plans: before a page
is marked plans_reused, none of its statements should be flagged, for the customers it serves.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bench.common import bench_staff, city_app, libpq_url, signed_in_client  # noqa: E402

MODES = ("force_custom_plan", "force_generic_plan")


def _explain(conn, mode: str, arguments: str) -> tuple[float, float, list[str]]:
    """(planning ms, execution ms, plan lines) of EXECUTE p under the mode, the best of three."""
    best = None
    for _ in range(3):
        with conn.cursor() as cursor:
            cursor.execute(f"SET plan_cache_mode = {mode}")
            lines = [row[0] for row in cursor.execute(f"EXPLAIN (ANALYZE, SUMMARY) EXECUTE p{arguments}")]
        text = "\n".join(lines)
        planning = float(re.search(r"Planning Time: ([\d.]+)", text).group(1))
        execution = float(re.search(r"Execution Time: ([\d.]+)", text).group(1))
        if best is None or planning + execution < best[0] + best[1]:
            best = (planning, execution, lines)
    return best


def _prepared(conn, statement: str, parameters: dict) -> str:
    """PREPARE the statement as p ($1, $2 … for its named parameters); return EXECUTE's argument list."""
    names: list[str] = []

    def numbered(match):
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", numbered, statement)
    with conn.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
        cursor.execute(f"PREPARE p AS {prepared}")
    if not names:
        return ""
    return "(" + ", ".join(sql.Literal(parameters[n]).as_string(conn) for n in names) + ")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="console_bench_city")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    app = city_app(args.database, RATELIMIT_ENABLED=False)
    _staff_id, email = bench_staff(app)
    from console.extensions import db

    client = signed_in_client(app, email)
    with app.app_context():
        engine = db.engine
    captured: list[tuple[str, dict]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    with psycopg.connect(libpq_url(args.database), autocommit=True, prepare_threshold=None) as conn:
        for path in args.paths:
            client.get(path)  # the page's caches warm, as in a worker that has served it before
            captured.clear()
            event.listen(engine, "before_cursor_execute", capture)
            status = client.get(path).status_code
            event.remove(engine, "before_cursor_execute", capture)
            print(f"{path}: HTTP {status}, {len(captured)} SELECTs (ms: planning + execution)")
            totals = {mode: [0.0, 0.0] for mode in MODES}
            for statement, parameters in captured:
                arguments = _prepared(conn, statement, parameters)
                custom, generic = (_explain(conn, mode, arguments) for mode in MODES)
                for mode, result in zip(MODES, (custom, generic), strict=True):
                    totals[mode][0] += result[0]
                    totals[mode][1] += result[1]
                worse = generic[1] > 2 * custom[1] and generic[1] - custom[1] > 0.5
                print(f"  for its values {custom[0]:6.2f} + {custom[1]:7.2f} | for any values {generic[0]:6.2f} + "
                      f"{generic[1]:7.2f}{'  SLOWER' if worse else ''}  {' '.join(statement.split())[:80]}")
                if worse:
                    for label, result in (("for its values", custom), ("for any values", generic)):
                        print(f"    {label}:\n      " + "\n      ".join(result[2][:10]))
            for mode, (planning, execution) in totals.items():
                print(f"  total, {mode:<18} planning {planning:7.2f} ms  execution {execution:7.2f} ms")


if __name__ == "__main__":
    main()
