#!/bin/sh
# What the browser tests (tests/browser) need: Debian's chromium, driven by the Python
# playwright package from the venv. Idempotent. The browser only ever comes from the
# distribution's packages: never `playwright install`, never a download from elsewhere.
set -eu

VENV=${VENV:-.venv}
CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "chromium present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
else
    echo "install chromium first (as root): apt-get install chromium" >&2
    exit 1
fi

if "$VENV/bin/python" -c "import playwright" 2>/dev/null; then
    echo "playwright present"
else
    # the same pin as in pyproject's dev extras, for venvs made before it
    "$VENV/bin/pip" install --quiet "playwright==1.65.2"
fi
