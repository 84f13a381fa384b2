#!/usr/bin/env bash
# Make sure headless Chromium and its driver are there for the browser tests (tests/browser), and
# LibreOffice for the report test that opens our .xlsx files: install Debian's chromium, chromium-driver
# and libreoffice-calc-nogui when missing and we are root with apt-get; else fail with a message.
set -euo pipefail
# shellcheck source=scripts/apt.sh
. "$(dirname "$0")/apt.sh"

CHROMIUM=${CONSOLE_TEST_CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${CONSOLE_TEST_CHROMEDRIVER:-/usr/bin/chromedriver}

present() { [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; }
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

if ! present; then
  if can_install; then
    echo "ensure-browser: installing Chromium (Debian packages chromium, chromium-driver)"
    apt_install chromium chromium-driver
  else
    echo "ensure-browser: the browser tests need $CHROMIUM and $CHROMEDRIVER: install Debian's 'chromium' and" \
         "'chromium-driver' (or set CONSOLE_TEST_CHROMIUM / CONSOLE_TEST_CHROMEDRIVER)" >&2
    exit 1
  fi
  present || { echo "ensure-browser: $CHROMIUM or $CHROMEDRIVER still missing after installing" >&2; exit 1; }
fi
echo "ensure-browser: $("$CHROMEDRIVER" --version | head -n1)"

# The reports' Excel files are also opened by LibreOffice in a test (tests/test_reports_excel.py).
if ! command -v soffice >/dev/null; then
  if can_install; then
    echo "ensure-browser: installing LibreOffice Calc (Debian package libreoffice-calc-nogui)"
    apt_install libreoffice-calc-nogui
  else
    echo "ensure-browser: the report test needs 'soffice': install Debian's 'libreoffice-calc-nogui'" >&2
    exit 1
  fi
fi
