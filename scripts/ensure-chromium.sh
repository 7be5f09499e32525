#!/usr/bin/env bash
# Run by `npm test` before the tests: the end-to-end tests (test/e2e/) drive a real Chromium through
# playwright-core, which never downloads a browser. Where none is present and this runs as root on
# Debian, install Debian's chromium package, so `npm test` passes on a fresh machine; otherwise say
# how, and let the end-to-end tests fail with the same advice.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "${browser}" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "npm test: installing Debian's chromium for the end-to-end tests (once)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "npm test: no browser at ${browser}; install chromium (sudo apt-get install chromium) or set CHROMIUM_PATH" >&2
