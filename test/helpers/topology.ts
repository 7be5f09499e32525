/**
 * Debian's PgBouncer and HAProxy as processes of one test, on free loopback ports, with
 * configuration files written to a scratch folder and the process stopped when the test ends.
 * Missing binaries fail the test with the command that installs them (`scripts/ensure-test-deps.sh`
 * does that for `npm test` when run as root on Debian); nothing is skipped.
 *
 * PgBouncer refuses to run as root, so it runs as `postgres` (`-u postgres`) when the test runs as
 * root, and its files are world-readable.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { scratchDir } from './app.js';
import { TEST_DATABASE_URL } from './backends.js';
import { freePort } from './process.js';

/** Where Debian installs the two programs. */
const PGBOUNCER = '/usr/sbin/pgbouncer';
const HAPROXY = '/usr/sbin/haproxy';

/** @throws naming the Debian package to install, when `binary` is not there. */
function requireBinary(binary: string, debianPackage: string): void {
  if (!fs.existsSync(binary)) {
    throw new Error(
      `${binary} is missing: install Debian's ${debianPackage} (apt-get install -y ${debianPackage}; npm test does it when run as root)`,
    );
  }
}

/** A started helper process. */
export interface Daemon {
  child: ChildProcess;
  port: number;
  /** Everything it wrote to stdout and stderr. */
  output(): string;
}

/** Resolves once `port` on 127.0.0.1 accepts a TCP connection. @throws after `timeoutMs` or when `child` exits. */
async function waitForPort(child: ChildProcess, port: number, output: () => string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${child.spawnfile} is not listening on ${port}:\n${output()}`);
}

/** Spawns `command`, collects its output, stops it (SIGTERM, then SIGKILL) after the test. */
function spawnDaemon(t: TestContext, command: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
  return { child, output: () => output };
}

export interface PgbouncerOptions {
  /** PgBouncer's `pool_mode`. */
  poolMode: 'transaction' | 'session';
  /** Roles that may log in (trust authentication: PgBouncer still wants them in its `auth_file`). */
  users: readonly string[];
  /** Server connections per database and user (`default_pool_size`). */
  poolSize: number;
}

/**
 * Starts PgBouncer in front of the PostgreSQL of {@link TEST_DATABASE_URL}, every database passed
 * through (`* =`), with the stock settings otherwise: in particular no `ignore_startup_parameters`,
 * so a client sending an unsupported startup parameter is refused as in production.
 */
export async function startPgbouncer(
  t: TestContext,
  options: PgbouncerOptions,
): Promise<Daemon & { url(user: string): string }> {
  requireBinary(PGBOUNCER, 'pgbouncer');
  const dir = scratchDir(t, 'itemstore-pgbouncer-');
  fs.chmodSync(dir, 0o755);
  const server = new URL(TEST_DATABASE_URL);
  const port = await freePort();
  const userlist = options.users.map((user) => `"${user}" ""`).join('\n');
  fs.writeFileSync(path.join(dir, 'userlist.txt'), `${userlist}\n`, { mode: 0o644 });
  const ini = `[databases]
* = host=${server.hostname} port=${server.port || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${path.join(dir, 'userlist.txt')}
pool_mode = ${options.poolMode}
default_pool_size = ${options.poolSize}
max_client_conn = 2000
`;
  const iniPath = path.join(dir, 'pgbouncer.ini');
  fs.writeFileSync(iniPath, ini, { mode: 0o644 });
  const asRoot = process.getuid?.() === 0;
  const { child, output } = spawnDaemon(t, PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), iniPath]);
  await waitForPort(child, port, output);
  return {
    child,
    port,
    output,
    url(user) {
      const url = new URL(TEST_DATABASE_URL);
      url.username = user;
      url.password = '';
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
  };
}

/**
 * Starts HAProxy balancing HTTP round robin over `servers` (loopback ports), each health-checked
 * with `GET /readyz` every 250 ms (down after two failures, up after one success). A request whose
 * server refused the connection or answered 503 is sent again to another server (`retry-on`,
 * `option redispatch`): the service answers 503 before a write is done (shutting down, database
 * unavailable, a statement cancelled and rolled back). A request whose server closed the connection
 * without answering is not retried: it may have been applied.
 */
export async function startHaproxy(t: TestContext, servers: readonly number[]): Promise<Daemon> {
  requireBinary(HAPROXY, 'haproxy');
  const dir = scratchDir(t, 'itemstore-haproxy-');
  const port = await freePort();
  const cfg = `global
  maxconn 4096

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch 1
  retry-on conn-failure 503

frontend api
  bind 127.0.0.1:${port}
  default_backend instances

backend instances
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  # A check answered within 2 s counts (without timeout check HAProxy allows only inter, 250 ms,
  # which an instance busy with 1,000 requests on a shared 2-core machine can miss, and then every
  # instance was marked down at once); three failures in a row mark an instance down (750 ms).
  timeout check 2s
  default-server inter 250ms fall 3 rise 1
${servers.map((server, i) => `  server instance${i} 127.0.0.1:${server} check`).join('\n')}
`;
  const cfgPath = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfgPath, cfg);
  const { child, output } = spawnDaemon(t, HAPROXY, ['-db', '-f', cfgPath]);
  await waitForPort(child, port, output);
  return { child, port, output };
}
