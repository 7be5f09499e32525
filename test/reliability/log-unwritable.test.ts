/**
 * An unwritable log file never stops the service: it keeps serving, keeps logging
 * every line to stdout, and says once, in exactly one line, what went wrong. An unwritable stdout
 * never stops it either: every line still reaches the file, and SIGTERM still ends it.
 *
 * The tests run as root, so file modes stop nothing; each fault here really fails for root:
 * - a read-only file system (a `ro` tmpfs): the file cannot be opened at start-up (EROFS);
 * - `/dev/full` as `api_server.log`: it opens, and every write fails with ENOSPC;
 * - a 64 KiB tmpfs that fills up while the service runs: the first lines land, then ENOSPC.
 * ("The folder cannot be created" is in test/logging/request-log.test.ts.)
 *
 * The tmpfs cases mount file systems: they need root with mount rights (CI runs as root), and fail
 * loudly otherwise. Run `npm run build` first (`npm test` does).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { scratchDir } from '../helpers/app.js';
import { jsonLines, startServer, waitUntilHealthy, spawnServer } from '../helpers/process.js';

const UNWRITABLE = 'log file unwritable; logging to stdout only';

/** Mounts a tmpfs with `options` on a new folder, unmounted and removed when the test ends. */
function mountTmpfs(t: TestContext, options: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itemstore-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `cannot mount a tmpfs at ${dir} (this test needs root with mount rights): ${(error as { stderr?: Buffer }).stderr?.toString() ?? String(error)}`,
    );
  }
  t.after(() => {
    execFileSync('umount', ['-l', dir]);
    fs.rmdirSync(dir);
  });
  return dir;
}

/** Starts the built server with LOG_DIR=`logDir`, sends `n` creates, stops it, and returns what it printed. */
async function serveThenStop(t: TestContext, logDir: string, n: number) {
  const run = await startServer(t, {
    DATABASE_URL: `sqlite:///${path.join(scratchDir(t), 'db.sqlite3')}`,
    LOG_DIR: logDir,
    LOG_LEVEL: 'info',
  });
  const baseUrl = run.baseUrl;
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${baseUrl}/api/items/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `write-${i}` },
      body: JSON.stringify({ product: `item ${i}`, price: i }),
    });
    assert.equal(response.status, 201, `create ${i} while the log file fails`);
    await response.arrayBuffer();
  }
  run.child.kill('SIGTERM');
  // Bounded: a logger stuck on its failing file must fail this test, not hang it.
  const exitCode = await Promise.race([
    run.closed,
    new Promise((resolve) => setTimeout(() => resolve('no exit within 15 s of SIGTERM'), 15_000).unref()),
  ]);
  assert.equal(exitCode, 0, `exit code; stderr: ${run.stderr()}`);
  return jsonLines(run.stdout());
}

/** stdout holds every request's response line and exactly one line about the log file. */
function assertStdoutComplete(lines: Record<string, unknown>[], n: number, errorCode: string) {
  const responses = lines.filter((l) => l.msg === 'response' && l.path === '/api/items/');
  assert.equal(responses.length, n, 'every response line reached stdout');
  assert.deepEqual(new Set(responses.map((l) => l.reqId)), new Set(Array.from({ length: n }, (_, i) => `write-${i}`)));
  const problems = lines.filter((l) => l.msg === UNWRITABLE);
  assert.equal(problems.length, 1, `exactly one line says the log file is unwritable: ${JSON.stringify(problems)}`);
  const err = problems[0]!.err as { code?: string } | undefined;
  assert.equal(err?.code, errorCode, `the line names the cause: ${JSON.stringify(problems[0])}`);
  assert.equal(problems[0]!.level, 'error');
  assert.equal(lines.at(-1)?.msg, 'server closed', 'stdout logging went on to the end');
}

describe('unwritable log file', () => {
  it('read-only file system (EROFS, fails for root too): serves, logs to stdout, one line says why', async (t) => {
    const logDir = mountTmpfs(t, 'ro,size=64k');
    const lines = await serveThenStop(t, logDir, 20);
    assertStdoutComplete(lines, 20, 'EROFS');
    assert.equal(fs.existsSync(path.join(logDir, 'api_server.log')), false);
  });

  it('every write fails (api_server.log is /dev/full, ENOSPC): serves, logs to stdout, one line says why', async (t) => {
    const logDir = path.join(scratchDir(t), 'logs');
    fs.mkdirSync(logDir);
    fs.symlinkSync('/dev/full', path.join(logDir, 'api_server.log'));
    const lines = await serveThenStop(t, logDir, 50);
    assertStdoutComplete(lines, 50, 'ENOSPC');
  });

  it('the disk fills while serving (64 KiB tmpfs): the first lines land in the file, then stdout only, one line says why', async (t) => {
    const logDir = mountTmpfs(t, 'size=64k');
    // About 500 bytes of log per request: 400 requests are ~3 times what the file system holds.
    const n = 400;
    const lines = await serveThenStop(t, logDir, n);
    assertStdoutComplete(lines, n, 'ENOSPC');
    const file = fs.readFileSync(path.join(logDir, 'api_server.log'), 'utf8');
    assert.ok(file.length > 0 && file.length <= 64 * 1024, `the file holds what fitted (${file.length} bytes)`);
    const firstLines = file.split('\n').slice(0, 5);
    for (const line of firstLines)
      assert.doesNotThrow(() => JSON.parse(line), 'the lines written before the disk filled are whole');
  });
});

describe('unwritable stdout', () => {
  it('every write fails (stdout is /dev/full, ENOSPC): serves, every line in the file, SIGTERM ends it', async (t) => {
    const dir = scratchDir(t);
    const full = fs.openSync('/dev/full', 'w');
    t.after(() => fs.closeSync(full));
    const run = await spawnServer(
      t,
      { DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`, LOG_DIR: dir, LOG_LEVEL: 'info' },
      { stdoutFd: full },
    );
    await waitUntilHealthy(run, run.baseUrl);
    const n = 50;
    for (let i = 0; i < n; i++) {
      const response = await fetch(`${run.baseUrl}/api/items/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `write-${i}` },
        body: JSON.stringify({ product: `item ${i}`, price: i }),
      });
      assert.equal(response.status, 201, `create ${i} while stdout fails`);
      await response.arrayBuffer();
    }
    run.child.kill('SIGTERM');
    // Bounded: a logger retrying its failing stdout must fail this test, not hang it.
    const exitCode = await Promise.race([
      run.closed,
      new Promise((resolve) => setTimeout(() => resolve('no exit within 15 s of SIGTERM'), 15_000).unref()),
    ]);
    assert.equal(exitCode, 0, `exit code; stderr: ${run.stderr()}`);
    const lines = jsonLines(fs.readFileSync(path.join(dir, 'api_server.log'), 'utf8'));
    const responses = lines.filter((l) => l.msg === 'response' && l.path === '/api/items/');
    assert.deepEqual(
      new Set(responses.map((l) => l.reqId)),
      new Set(Array.from({ length: n }, (_, i) => `write-${i}`)),
      'every response line reached the file',
    );
    assert.equal(lines.at(-1)?.msg, 'server closed', 'file logging went on to the end');
  });
});
