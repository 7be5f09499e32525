/**
 * Concurrency, through the real socket on both backends:
 * 1,000 creates fired at once give exactly 1,000 rows with distinct ids; concurrent PUT, PATCH and
 * DELETE on one row never give a 5xx; on SQLite, a second process holding the write lock
 * (`BEGIN IMMEDIATE`) for 2 s makes requests wait and succeed, never "database is locked".
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Agent, request } from 'undici';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';
import { PROJECT_ROOT } from '../helpers/process.js';
import type { Item } from '../helpers/item.js';

/** Concurrent creates per backend. */
const CREATES = 1000;
/** Keep-alive connections the client spreads them over (all requests are queued at once). */
const CONNECTIONS = 64;

/** An undici Agent with {@link CONNECTIONS} connections, closed when the test ends. */
function agent(t: { after(fn: () => Promise<void>): void }): Agent {
  const dispatcher = new Agent({ connections: CONNECTIONS, pipelining: 1 });
  t.after(() => dispatcher.close());
  return dispatcher;
}

async function send(
  api: TestApp,
  dispatcher: Agent,
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'GET',
  urlPath: string,
  json?: unknown,
) {
  const response = await request(api.baseUrl + urlPath, {
    method,
    dispatcher,
    headers: json === undefined ? {} : { 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.body.text();
  return { status: response.statusCode, text };
}

for (const backend of BACKENDS) {
  describe(`concurrency on ${backend.name}`, () => {
    it(`${CREATES} concurrent creates over ${CONNECTIONS} connections → ${CREATES} × 201 and ${CREATES} rows with distinct ids`, async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const dispatcher = agent(t);
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: CREATES }, (_, i) =>
          send(api, dispatcher, 'POST', '/api/items/', { product: `item ${i}`, price: i }),
        ),
      );
      t.diagnostic(`${CREATES} creates in ${Math.round(performance.now() - started)} ms`);
      const statuses = new Map<number, number>();
      for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      assert.deepEqual(
        [...statuses],
        [[201, CREATES]],
        `statuses: ${JSON.stringify([...statuses])} ${results.find((r) => r.status !== 201)?.text ?? ''}`,
      );
      const answered = results.map((r) => JSON.parse(r.text) as Item);
      assert.equal(new Set(answered.map((item) => item.id)).size, CREATES, 'distinct ids answered');
      const rows = await api.db.kysely.selectFrom('myapi_item').select(['id', 'product', 'price']).execute();
      assert.equal(rows.length, CREATES, 'rows stored');
      assert.equal(new Set(rows.map((row) => row.id)).size, CREATES, 'distinct ids stored');
      const stored = new Map(rows.map((row) => [row.id, row]));
      for (const item of answered) assert.deepEqual(stored.get(item.id), item, `item ${item.id} stored as answered`);
    });

    it('concurrent PUT, PATCH and DELETE on one row → only 200, 204 (once) and 404, never a 5xx', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const dispatcher = agent(t);
      const created = await send(api, dispatcher, 'POST', '/api/items/', { product: 'contended', price: 1 });
      assert.equal(created.status, 201);
      const { id } = JSON.parse(created.text) as Item;
      const url = `/api/items/${id}/`;
      const requests = Array.from({ length: 300 }, (_, i) => {
        if (i % 3 === 0) return send(api, dispatcher, 'PUT', url, { product: `put ${i}`, price: i });
        if (i % 3 === 1) return send(api, dispatcher, 'PATCH', url, { price: i });
        // Most deletes queue behind writes; one of them wins.
        return i % 30 === 17 ? send(api, dispatcher, 'DELETE', url) : send(api, dispatcher, 'GET', url);
      });
      const results = await Promise.all(requests);
      for (const r of results) assert.ok([200, 204, 404].includes(r.status), `status ${r.status}: ${r.text}`);
      assert.equal(results.filter((r) => r.status === 204).length, 1, 'exactly one DELETE succeeds');
      for (const r of results.filter((x) => x.status === 200)) {
        const item = JSON.parse(r.text) as Item;
        assert.equal(item.id, id, 'a 200 answers the contended item');
      }
      assert.equal(
        (await send(api, dispatcher, 'GET', url)).status,
        404,
        'the row is gone after the successful DELETE',
      );
    });
  });
}

describe('SQLite: another process holding the write lock', () => {
  it('requests wait for a 2 s BEGIN IMMEDIATE in another process and succeed (no "database is locked"); journal_mode is wal', async (t) => {
    const api = await startTestApp(t, { LOG_LEVEL: 'error' });
    const filename = (api.config.database as { filename: string }).filename;
    const probe = new SQLite(filename, { readonly: true });
    assert.equal(probe.pragma('journal_mode', { simple: true }), 'wal');
    probe.close();

    // A second process opens the same file, takes the write lock, holds it 2 s, then commits a row.
    const betterSqlite = createRequire(path.join(PROJECT_ROOT, 'package.json')).resolve('better-sqlite3');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require(${JSON.stringify(betterSqlite)}))(${JSON.stringify(filename)});
         db.exec('BEGIN IMMEDIATE');
         db.prepare("INSERT INTO myapi_item (product, price) VALUES ('other process', 1)").run();
         process.stdout.write('locked\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
         db.exec('COMMIT');
         process.stdout.write('released\\n');`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.after(() => {
      if (holder.exitCode === null) holder.kill('SIGKILL');
    });
    const exited = new Promise<number | null>((resolve) => holder.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('locked') && resolve());
      holder.once('exit', () => reject(new Error('lock holder exited before locking')));
    });

    const dispatcher = agent(t);
    const lockedAt = performance.now();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        send(api, dispatcher, 'POST', '/api/items/', { product: `during lock ${i}`, price: i }),
      ),
    );
    const waitedMs = performance.now() - lockedAt;
    assert.equal(await exited, 0, 'the lock holder committed and exited');
    for (const r of results) {
      assert.equal(r.status, 201, `status ${r.status}: ${r.text}`);
      assert.doesNotMatch(r.text, /locked|SQLITE_BUSY/i);
    }
    // The first write had to wait for the other process's commit.
    assert.ok(waitedMs >= 1000, `the writes waited for the lock (${Math.round(waitedMs)} ms)`);
    t.diagnostic(`100 creates during a 2 s external lock answered after ${Math.round(waitedMs)} ms`);
    const list = await send(api, dispatcher, 'GET', '/api/items/');
    const items = JSON.parse(list.text) as Item[];
    assert.equal(items.length, 101, "the 100 writes and the other process's row");
    assert.equal(new Set(items.map((item) => item.id)).size, 101, 'distinct ids');
  });
});
