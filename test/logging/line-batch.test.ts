/**
 * Log lines batched for a few milliseconds (src/platform/line-batch.ts): one hand-over per sink per
 * batch, and nothing held back by a flush.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { LINE_BATCH_MAX_CHARS, LINE_BATCH_MS, LineBatch } from '../../src/platform/line-batch.js';
import { createLogger, LOG_FILE_NAME } from '../../src/platform/logger.js';
import { scratchDir } from '../helpers/app.js';
import { PROJECT_ROOT } from '../helpers/process.js';

/** A sink that keeps every chunk it is handed. */
function recordingSink() {
  const chunks: string[] = [];
  return { chunks, write: (chunk: string) => chunks.push(chunk) };
}

describe('LineBatch', () => {
  it('hands the lines of several turns to every sink once, LINE_BATCH_MS after the first', async () => {
    const [a, b] = [recordingSink(), recordingSink()];
    const batch = new LineBatch(() => [a, b]);
    const started = performance.now();
    for (let i = 0; i < 10; i++) {
      batch.write(`{"n":${i}}\n`);
      await nextTurn();
    }
    // Ten turns take well under LINE_BATCH_MS unless the machine stalled; only then may a batch have gone.
    if (performance.now() - started < LINE_BATCH_MS) assert.deepEqual(a.chunks, [], 'nothing before LINE_BATCH_MS');
    await sleep(LINE_BATCH_MS * 4);
    const expected = Array.from({ length: 10 }, (_, i) => `{"n":${i}}\n`).join('');
    assert.equal(a.chunks.join(''), expected);
    assert.deepEqual(b.chunks, a.chunks);
    const handovers = a.chunks.length;
    batch.write('{"n":10}\n');
    await sleep(LINE_BATCH_MS * 4);
    assert.deepEqual(a.chunks.slice(handovers), ['{"n":10}\n'], 'a later batch, a later write');
  });

  it('hands over at once when LINE_BATCH_MAX_CHARS are held', () => {
    const sink = recordingSink();
    const batch = new LineBatch(() => [sink]);
    const line = `{"pad":"${'x'.repeat(1000)}"}\n`;
    const count = Math.ceil(LINE_BATCH_MAX_CHARS / line.length);
    for (let i = 0; i < count; i++) batch.write(line);
    assert.equal(sink.chunks.length, 1, 'handed over without waiting');
    assert.equal(sink.chunks[0], line.repeat(count));
  });

  it('flush() hands over at once what the batch holds', () => {
    const sink = recordingSink();
    const batch = new LineBatch(() => [sink]);
    batch.write('{"a":1}\n');
    batch.flush();
    assert.deepEqual(sink.chunks, ['{"a":1}\n']);
    batch.flush();
    assert.equal(sink.chunks.length, 1, 'nothing twice');
  });

  it('keeps serving the other sinks when one throws', async () => {
    const good = recordingSink();
    const batch = new LineBatch(() => [
      {
        write: () => {
          throw new Error('SonicBoom destroyed');
        },
      },
      good,
    ]);
    batch.write('{"a":1}\n');
    await sleep(LINE_BATCH_MS * 4);
    assert.deepEqual(good.chunks, ['{"a":1}\n']);
  });
});

describe('createLogger with batched lines', () => {
  it('writes lines just logged to the file and stdout when flushed', (t) => {
    const dir = scratchDir(t);
    const stdoutPath = path.join(dir, 'stdout.log');
    const stdoutFd = fs.openSync(stdoutPath, 'a');
    const sinks = createLogger({ level: 'info', logDir: dir, stdoutFd });
    // end() closes stdoutFd through its stream; closing it here instead would leave the stream
    // holding a number that the next descriptor opened takes.
    t.after(() => sinks.end());
    for (let i = 0; i < 500; i++) sinks.logger.info({ i }, 'line');
    sinks.flush();
    for (const file of [path.join(dir, LOG_FILE_NAME), stdoutPath]) {
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.length, 500, file);
      assert.deepEqual(
        lines.map((line) => (JSON.parse(line) as { i: number }).i),
        Array.from({ length: 500 }, (_, i) => i),
      );
    }
  });
});

describe('an ended logger', () => {
  it('has closed its descriptors, and a line logged after end() reaches no file, not even at exit', (t) => {
    const dir = scratchDir(t);
    const stdoutPath = path.join(dir, 'stdout.log');
    const nextPath = path.join(dir, 'next.log');
    // In a process of its own, so that the 'exit' flush runs: after end() the stdout descriptor's
    // number is free, and the next file opened (likely given that number) must get no log line.
    const script = `
      const fs = await import('node:fs');
      const { createLogger } = await import(${JSON.stringify(path.join(PROJECT_ROOT, 'dist/platform/logger.js'))});
      const stdoutFd = fs.openSync(${JSON.stringify(stdoutPath)}, 'a');
      const sinks = createLogger({ level: 'info', logDir: ${JSON.stringify(dir)}, stdoutFd });
      sinks.logger.info('before end');
      await sinks.end();
      let stdoutFdOpen = true;
      try { fs.fstatSync(stdoutFd); } catch { stdoutFdOpen = false; }
      const nextFd = fs.openSync(${JSON.stringify(nextPath)}, 'a');
      sinks.logger.info('after end');
      console.log(JSON.stringify({ stdoutFdOpen, reused: nextFd === stdoutFd }));
      process.exit(0);
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { stdoutFdOpen: boolean; reused: boolean };
    assert.equal(report.stdoutFdOpen, false, 'end() closed the descriptor it was given');
    for (const file of [stdoutPath, path.join(dir, LOG_FILE_NAME)]) {
      const text = fs.readFileSync(file, 'utf8');
      assert.match(text, /"before end"/, file);
      assert.doesNotMatch(text, /"after end"/, file);
    }
    assert.equal(fs.readFileSync(nextPath, 'utf8'), '', `next.log (descriptor number reused: ${report.reused})`);
  });
});

describe('a sink that refuses every write', () => {
  it('(/dev/full, ENOSPC) does not hold up flush(), end() or the flush at exit', (t) => {
    const dir = scratchDir(t);
    // Both sinks on /dev/full: stdout given as its descriptor, the file as a link to it. A flush
    // that retried failed writes would never return, and the process would never exit.
    fs.symlinkSync('/dev/full', path.join(dir, LOG_FILE_NAME));
    const script = `
      const fs = await import('node:fs');
      const { createLogger } = await import(${JSON.stringify(path.join(PROJECT_ROOT, 'dist/platform/logger.js'))});
      const stdoutFd = fs.openSync('/dev/full', 'w');
      const ended = createLogger({ level: 'info', logDir: ${JSON.stringify(dir)}, stdoutFd });
      for (let i = 0; i < 100; i++) ended.logger.info({ i }, 'line');
      await new Promise((resolve) => setTimeout(resolve, 20));
      ended.flush();
      await ended.end();
      const atExit = createLogger({ level: 'info', logDir: ${JSON.stringify(dir)}, stdoutFd: fs.openSync('/dev/full', 'w') });
      for (let i = 0; i < 100; i++) atExit.logger.info({ i }, 'line');
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (let i = 0; i < 100; i++) atExit.logger.info({ i }, 'line');
      process.exit(0);
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(run.signal, null, 'ended by itself, not by the 10 s bound');
    assert.equal(run.status, 0, run.stderr);
  });
});

describe('a process that dies', () => {
  it('of an uncaught exception keeps the lines it logged just before, in the file and on stdout', (t) => {
    const dir = scratchDir(t);
    // The built logger (npm test builds first), in a process of its own that throws 1 ms after
    // logging: before the batch's LINE_BATCH_MS have passed.
    const script = `
      const { createLogger } = await import(${JSON.stringify(path.join(PROJECT_ROOT, 'dist/platform/logger.js'))});
      const sinks = createLogger({ level: 'info', logDir: ${JSON.stringify(dir)} });
      for (let i = 0; i < 3; i++) sinks.logger.info({ i }, 'before the crash');
      setTimeout(() => { throw new Error('boom'); }, 1);
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.notEqual(run.status, 0, 'the process died');
    assert.match(run.stderr, /boom/);
    const count = (text: string) => text.split('\n').filter((line) => line.includes('"before the crash"')).length;
    assert.equal(count(run.stdout), 3, 'stdout');
    assert.equal(count(fs.readFileSync(path.join(dir, LOG_FILE_NAME), 'utf8')), 3, 'file');
  });
});
