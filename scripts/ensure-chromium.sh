#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright;
# Herald never downloads Playwright's own browser builds. Install it when missing and
# we may (root with apt-get); otherwise explain what to do and let the other tests run.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's Chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y chromium
  exit 0
fi

cat >&2 <<MSG

  WARNING: Chromium is not installed at $CHROMIUM, so the browser tests (marked
  "browser") will fail. Install it as root and run make test again:

      sudo apt-get update && sudo apt-get install -y chromium

  or leave the browser tests out:  make test ARGS='-m "not browser"'

MSG
