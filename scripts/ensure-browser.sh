#!/usr/bin/env bash
# Make sure headless Chromium and its driver are there for the browser tests (tests/browser): install
# Debian's chromium and chromium-driver when missing and we are root with apt-get; else fail with a message.
set -euo pipefail

CHROMIUM=${CONSOLE_TEST_CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${CONSOLE_TEST_CHROMEDRIVER:-/usr/bin/chromedriver}

present() { [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; }
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

if ! present; then
  if can_install; then
    echo "ensure-browser: installing Chromium (Debian packages chromium, chromium-driver)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "ensure-browser: the browser tests need $CHROMIUM and $CHROMEDRIVER: install Debian's 'chromium' and" \
         "'chromium-driver' (or set CONSOLE_TEST_CHROMIUM / CONSOLE_TEST_CHROMEDRIVER)" >&2
    exit 1
  fi
  present || { echo "ensure-browser: $CHROMIUM or $CHROMEDRIVER still missing after installing" >&2; exit 1; }
fi
echo "ensure-browser: $("$CHROMEDRIVER" --version | head -n1)"
