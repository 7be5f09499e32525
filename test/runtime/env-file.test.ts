/**
 * `.env` in the working folder is read at start, under the environment: the built server, as a real
 * process started in a scratch folder holding a `.env`, serves where that file says, while a
 * variable the environment sets, even to empty, keeps the environment's value. Run `npm run build`
 * first (`npm test` does).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { scratchDir } from '../helpers/app.js';
import { freePort, jsonLines, runBuilt, waitUntilHealthy } from '../helpers/process.js';

/** Variables this test gives through `.env` only; the test runner's own environment must not set them. */
const FROM_FILE = ['PORT', 'HOST', 'DATABASE_URL', 'SHUTDOWN_DRAIN_MS'];

describe('.env', () => {
  it('is read at start; the environment wins, even when set to empty', async (t) => {
    const inherited = FROM_FILE.filter((name) => process.env[name] !== undefined);
    assert.deepEqual(inherited, [], 'the test runner sets variables this test expects from .env');
    const dir = scratchDir(t);
    const port = await freePort();
    fs.writeFileSync(
      path.join(dir, '.env'),
      [
        '# as copied from .env.example and edited',
        `PORT=${port}`,
        'HOST=127.0.0.1',
        'DATABASE_URL=sqlite:///from-env-file.sqlite3',
        'SHUTDOWN_DRAIN_MS=0',
        'LOG_LEVEL=debug',
        'LOG_DIR=env-file-logs',
        '',
      ].join('\n'),
    );
    const run = runBuilt(t, 'server.js', { LOG_LEVEL: 'info', LOG_DIR: '' }, { cwd: dir });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitUntilHealthy(run, baseUrl);
    const created = await fetch(`${baseUrl}/api/items/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ product: 'Apple', price: 100 }),
    });
    assert.equal(created.status, 201);
    await created.arrayBuffer();
    run.child.kill('SIGTERM');
    assert.equal(await run.closed, 0, run.stderr());

    // DATABASE_URL from .env, relative to the working folder.
    assert.ok(fs.existsSync(path.join(dir, 'from-env-file.sqlite3')), 'the SQLite file .env names');
    // LOG_DIR="" from the environment beats .env's folder; LOG_LEVEL=info beats .env's debug.
    assert.equal(fs.existsSync(path.join(dir, 'env-file-logs')), false, 'no log folder: LOG_DIR="" won');
    const lines = jsonLines(run.stdout());
    assert.ok(lines.some((l) => l.msg === 'response' && l.status === 201));
    assert.equal(lines.filter((l) => l.level === 'debug').length, 0, 'LOG_LEVEL=info won over .env');
  });

  it('that cannot be read stops the start with one line', async (t) => {
    const dir = scratchDir(t);
    fs.mkdirSync(path.join(dir, '.env'));
    const run = runBuilt(
      t,
      'server.js',
      { HOST: '127.0.0.1', PORT: '0', DATABASE_URL: 'sqlite://:memory:' },
      { cwd: dir },
    );
    assert.equal(await run.closed, 1);
    const lines = run.stderr().split('\n').filter(Boolean);
    assert.equal(lines.length, 1, run.stderr());
    assert.match(lines[0]!, /^itemstore: invalid configuration: \.env cannot be read/);
    assert.equal(run.stdout(), '');
  });
});
