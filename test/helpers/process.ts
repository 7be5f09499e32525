/**
 * The one way tests run the built service (`dist/server.js`) or another built entry point
 * (`dist/migrate.js`) as a child process: start-up, signals, exit codes, what it printed, the log
 * file after exit. Run `npm run build` first (`npm test` does).
 *
 * - {@link runBuilt}: spawn `node dist/<script>`, keep stdout and stderr apart, wait for nothing.
 * - {@link spawnServer}: `dist/server.js` on a free port of 127.0.0.1, without waiting.
 * - {@link startServer}: the same, then wait until `/healthz` answers 200.
 *
 * Every process is SIGKILLed when its test ends, if still running. Servers started here get
 * `SHUTDOWN_DRAIN_MS=0` unless the test passes its own: the production default (5 s of `/readyz`
 * 503 after SIGTERM, for the load balancer) would make every SIGTERM in the suite wait 5 s.
 *
 * Isolation (the runner runs test files in parallel, see `test/helpers/README.md`): ports come from
 * {@link freePort}, folders from `scratchDir`, PostgreSQL schemas from `backends.ts`.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where `package.json` and `dist/` are). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Asks the kernel for a free TCP port on 127.0.0.1. The port is free when this resolves; another
 * process may take it before the caller binds it, which the kernel's ephemeral-port rotation makes
 * rare.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whoever ends the process: a test's `TestContext`, or for a script outside the test runner, any
 * object whose `after` runs the callback when the script is done.
 */
export interface ProcessOwner {
  after(fn: () => unknown): void;
}

export interface ChildRun {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Everything written to stdout and stderr so far, in arrival order. */
  output(): string;
  /** The exit code (or signal name), once the process has exited AND its output is fully read. */
  closed: Promise<number | string>;
}

export interface RunOptions {
  /** Working directory; the project root by default. */
  cwd?: string;
  /**
   * Start from an empty environment (only `PATH`) instead of this process's, for tests of what the
   * service reads from its environment.
   */
  cleanEnv?: boolean;
  /**
   * A file descriptor for the process's stdout instead of a pipe (e.g. `/dev/full`, where every
   * write fails); {@link ChildRun.stdout} then stays empty.
   */
  stdoutFd?: number;
}

/**
 * Spawns `node dist/<script>` with `env` added to the current environment (or to `PATH` alone,
 * see {@link RunOptions.cleanEnv}). The process is killed (SIGKILL) when the test ends, if it is
 * still running.
 */
export function runBuilt(
  t: ProcessOwner,
  script: string,
  env: Record<string, string>,
  { cwd = PROJECT_ROOT, cleanEnv = false, stdoutFd }: RunOptions = {},
): ChildRun {
  const base = cleanEnv ? { PATH: process.env.PATH ?? '' } : process.env;
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', script)], {
    cwd,
    env: { ...base, ...env },
    stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    output += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    output += chunk;
  });
  // 'close' (not 'exit'): fires after the pipes have been drained, so no output is missed.
  const closed = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => stdout, stderr: () => stderr, output: () => output, closed };
}

export interface ServerRun extends ChildRun {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
}

/**
 * Spawns `dist/server.js` on 127.0.0.1 and a {@link freePort} (unless `env` names `HOST`/`PORT`),
 * with `SHUTDOWN_DRAIN_MS=0` unless `env` sets it. Does not wait: for tests that watch start-up
 * itself (a start-up that fails, a log written before listening).
 */
export async function spawnServer(
  t: ProcessOwner,
  env: Record<string, string>,
  options: RunOptions = {},
): Promise<ServerRun> {
  const port = env.PORT === undefined ? await freePort() : Number(env.PORT);
  const run = runBuilt(
    t,
    'server.js',
    { HOST: '127.0.0.1', PORT: String(port), SHUTDOWN_DRAIN_MS: '0', ...env },
    options,
  );
  return { ...run, baseUrl: `http://127.0.0.1:${port}`, port };
}

/**
 * {@link spawnServer}, then {@link waitUntilHealthy}.
 *
 * @throws if the process ends first or does not answer within `timeoutMs`; the message carries its output.
 */
export async function startServer(
  t: ProcessOwner,
  env: Record<string, string>,
  options: RunOptions & { timeoutMs?: number } = {},
): Promise<ServerRun> {
  const server = await spawnServer(t, env, options);
  await waitUntilHealthy(server, server.baseUrl, options.timeoutMs);
  return server;
}

/**
 * Polls `GET baseUrl/healthz` every 50 ms until it answers 200.
 *
 * @throws if the process ends first or `timeoutMs` passes; the message carries its output.
 */
export async function waitUntilHealthy(run: ChildRun, baseUrl: string, timeoutMs = 30_000): Promise<void> {
  let ended = false;
  void run.closed.then(() => (ended = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !ended) {
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not become healthy at ${baseUrl}:\n${run.stdout()}\n${run.stderr()}`);
}

/** Parses JSON lines; a line that is not JSON fails the test with the line in the message. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
}
