/**
 * Runs a built entry point (`dist/server.js`, `dist/migrate.js`) as a child process and keeps its
 * stdout and stderr apart, for tests that read what a process printed and how it ended.
 * Unlike {@link startServerProcess}, it does not wait for anything: call {@link waitUntilHealthy}
 * for a server, or await {@link ChildRun.closed} for a command. Run `npm run build` first.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { PROJECT_ROOT } from './server.js';

export interface ChildRun {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The exit code (or signal name), once the process has exited AND its output is fully read. */
  closed: Promise<number | string>;
}

/**
 * Spawns `node dist/<script>` from the project root with `env` added to the current environment.
 * The process is killed (SIGKILL) when the test ends, if it is still running.
 */
export function runBuilt(t: TestContext, script: string, env: Record<string, string>, cwd = PROJECT_ROOT): ChildRun {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', script)], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close' (not 'exit'): fires after the pipes have been drained, so no output is missed.
  const closed = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => stdout, stderr: () => stderr, closed };
}

/**
 * Polls `GET baseUrl/healthz` every 100 ms until it answers 200.
 *
 * @throws if the process ends first or `timeoutMs` passes; the message carries its output.
 */
export async function waitUntilHealthy(run: ChildRun, baseUrl: string, timeoutMs = 15_000): Promise<void> {
  let ended = false;
  void run.closed.then(() => (ended = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !ended) {
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
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
