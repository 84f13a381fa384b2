"""`python -m tests.travel PROGRAM ARG…`: run one of this environment's console scripts (rq, flask)
on the test run's clock: moved by CONSOLE_TEST_CLOCK_OFFSET seconds when a --clock run set it."""

from __future__ import annotations

import os
import runpy
import sys
from datetime import timedelta
from pathlib import Path

from console import clock


def main() -> None:
    offset = os.environ.get("CONSOLE_TEST_CLOCK_OFFSET")
    if offset:
        import time_machine

        # Started before the program's own imports; an rq work horse is forked and keeps it.
        time_machine.travel(clock.now() + timedelta(seconds=float(offset)), tick=True).start()
    program, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_path(str(Path(sys.executable).with_name(program)), run_name="__main__")


if __name__ == "__main__":
    main()
