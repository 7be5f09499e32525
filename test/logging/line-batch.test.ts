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
    t.after(() => fs.closeSync(stdoutFd));
    const sinks = createLogger({ level: 'info', logDir: dir, stdoutFd });
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
