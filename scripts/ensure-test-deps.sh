#!/usr/bin/env bash
# Run by `npm test` before the tests. What the tests drive besides PostgreSQL:
# - Chromium, for the end-to-end tests (test/e2e/), through playwright-core, which never downloads a
#   browser: Debian's chromium at /usr/bin/chromium, or CHROMIUM_PATH;
# - PgBouncer and HAProxy, for the tests through a connection pooler and behind a balancer
#   (test/db/poolers.test.ts, test/reliability/topology.test.ts): Debian's pgbouncer and haproxy,
#   which the tests start themselves on free loopback ports (the packages' own services stay off).
# Where one is missing and this runs as root on Debian, install it with apt, so `npm test` passes on
# a fresh machine; otherwise say how, and let the tests that need it fail with the same advice.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
missing=()
[ -x "${browser}" ] || missing+=(chromium)
[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "npm test: installing Debian's ${missing[*]} for the tests (once)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "npm test: missing ${missing[*]}; install with: sudo apt-get install ${missing[*]} (or set CHROMIUM_PATH for the browser)" >&2
