/**
 * The list longer than one cursor batch, streamed: the same bytes as the whole array rendered at
 * once (JSON, `indent=N`, the Browsable API page), on both backends; and what happens to the
 * database connection when the client goes away, stops reading, or the database fails mid-list.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { renderBrowsablePage } from '../../src/drf/browsable.js';
import { LIST_BATCH_ROWS } from '../../src/items/item.routes.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS, TEST_DATABASE_URL, type Backend } from '../helpers/backends.js';
import { jsonLines } from '../helpers/process.js';
import type { Item } from '../helpers/item.js';

/** Product names that exercise JSON and HTML escaping and non-ASCII text. */
function productOf(i: number): string {
  return i % 5 === 0 ? `<b>"Q" & 'é' ${i}` : i % 7 === 0 ? `Äpfel\\ ${i}` : `Item ${i}`;
}

/** Inserts items 1…`count` in a few statements (names from {@link productOf}, price `(i * 37) % 1000`). */
async function seed(app: TestApp, count: number): Promise<void> {
  for (let start = 1; start <= count; start += 500) {
    const rows = Array.from({ length: Math.min(500, count - start + 1) }, (_, k) => ({
      product: productOf(start + k),
      price: ((start + k) * 37) % 1000,
    }));
    await app.db.kysely.insertInto('myapi_item').values(rows).execute();
  }
}

/** Inserts `count` plain items in one statement: fast enough for hundreds of thousands. */
async function seedMany(app: TestApp, backend: Backend, count: number): Promise<void> {
  if (backend.name === 'postgres') {
    await sql`insert into myapi_item (product, price)
      select 'Item ' || i, i % 1000 from generate_series(1, ${count}::int) as i`.execute(app.db.kysely);
  } else {
    await sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${count})
      insert into myapi_item (product, price) select 'Item ' || i, i % 1000 from s`.execute(app.db.kysely);
  }
}

async function allItems(app: TestApp): Promise<Item[]> {
  const rows = await app.db.kysely.selectFrom('myapi_item').select(['id', 'product', 'price']).orderBy('id').execute();
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}

/**
 * A raw HTTP/1.1 GET from a client that stops reading once the first bytes of the answer arrive
 * (so the response has started), until {@link readToEnd}.
 */
async function stalledGet(port: number, path: string) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const chunks: Buffer[] = [];
  const started = new Promise<void>((resolve) =>
    socket.once('data', () => {
      socket.pause();
      resolve();
    }),
  );
  const closed = new Promise<Buffer>((resolve) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', () => {});
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await started;
  return {
    socket,
    /** Reads everything the server sends until it closes the connection. */
    readToEnd: () => {
      socket.resume();
      return closed;
    },
  };
}

function portOf(app: TestApp): number {
  return Number(new URL(app.baseUrl).port);
}

/**
 * Polls `check` every 20 ms until it holds; returns the milliseconds waited. The bound only keeps a
 * broken test from hanging: milliseconds on a quiet machine, but the suite runs files in parallel
 * on a loaded runner, which can stall a process for seconds. Where a wait tells one cause from
 * another (released on disconnect, not by the stream timeout), the other cause is set far beyond it.
 */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

const held = (app: TestApp) => {
  const stats = app.db.poolStats();
  return stats.total - stats.idle;
};

/** Connections of this test's schema that are in a transaction or running a statement. */
async function busyBackends(schemaQuery: string): Promise<number[]> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ pid: number }>(
      `select pid from pg_stat_activity where pid <> pg_backend_pid() and state <> 'idle' and query like $1`,
      [`%${schemaQuery}%`],
    );
    return rows.map((r) => r.pid);
  } finally {
    await admin.end();
  }
}

/** Seeding 200,000 rows in one statement may outlast the default statement_timeout on a busy machine. */
const SLOW_SEED = { DB_STATEMENT_TIMEOUT_MS: '120000' };

/**
 * Rows whose JSON outgrows everything the kernel can buffer on loopback (the receiver's largest
 * autotuned window plus the sender's largest send buffer, `tcp_rmem`/`tcp_wmem` on Linux), at
 * ≥ 40 bytes a row: fewer, and a stalled client may still receive the whole list.
 */
function rowsBeyondSocketBuffers(): number {
  const largest = (file: string) => {
    try {
      return Number(readFileSync(`/proc/sys/net/ipv4/${file}`, 'utf8').trim().split(/\s+/)[2]);
    } catch {
      return 0;
    }
  };
  const bytes = largest('tcp_rmem') + largest('tcp_wmem');
  return Math.max(200_000, Math.ceil((bytes * 1.25) / 40));
}

/** A chunked body is complete only with its terminating zero-length chunk (RFC 9112 §7.1). */
const COMPLETE_CHUNKED = /\r\n0\r\n\r\n$/;

for (const backend of BACKENDS) {
  describe(`list longer than one batch (${backend.name})`, () => {
    it('streams exactly the bytes of the whole array, in every rendering, with filters and ordering', async (t: TestContext) => {
      const app = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      await seed(app, LIST_BATCH_ROWS * 2 + 500);
      const items = await allItems(app);

      const res = await app.request('/api/items/');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(res.headers.get('transfer-encoding'), 'chunked');
      assert.equal(res.headers.get('content-length'), null);
      assert.equal(res.headers.get('allow'), 'GET, POST, HEAD, OPTIONS');
      assert.equal(res.headers.get('vary'), 'Accept');
      assert.equal(await res.text(), JSON.stringify(items));

      const suffix = await app.request('/api/items.json');
      assert.equal(await suffix.text(), JSON.stringify(items));

      const indented = await app.request('/api/items/', { headers: { accept: 'application/json; indent=4' } });
      assert.equal(await indented.text(), JSON.stringify(items, null, 4));

      for (const url of ['/api/items/', '/api/items/?format=api']) {
        const html = await app.request(url, { headers: { accept: 'text/html' } });
        assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
        assert.equal(await html.text(), renderBrowsablePage('Item List', `GET ${url} → 200`, JSON.stringify(items)));
      }

      const wanted = items
        .filter((item) => item.product.toLowerCase().includes('item'))
        .sort((a, b) => b.price - a.price || a.id - b.id);
      assert.ok(wanted.length > LIST_BATCH_ROWS);
      const filtered = await app.request('/api/items/?search=ITEM&ordering=-price');
      assert.equal(await filtered.text(), JSON.stringify(wanted));

      const head = await app.request('/api/items/', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(await head.text(), '');
    });

    it('answers a list that fits one batch whole, with its Content-Length, as before', async (t: TestContext) => {
      const app = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      await seed(app, LIST_BATCH_ROWS - 1);
      const res = await app.request('/api/items/');
      const body = await res.text();
      assert.equal(body, JSON.stringify(await allItems(app)));
      assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(body)));
    });

    it('gives the connection back at once when the client disconnects mid-list', async (t: TestContext) => {
      // The stream timeout far beyond the release wait: only the disconnect can release it in time.
      const app = await startTestApp(t, {
        DATABASE_URL: await backend.databaseUrl(t),
        LIST_STREAM_TIMEOUT_MS: '600000',
        ...SLOW_SEED,
      });
      await seedMany(app, backend, 200_000);
      const client = await stalledGet(portOf(app), '/api/items/?ordering=product,-price');
      if (backend.name === 'postgres') {
        await waitFor('the list to hold a connection', () => held(app) === 1);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(held(app), 1, 'the stalled list still holds its connection');
        client.socket.destroy();
        const waited = await waitFor('the connection to return to the pool', () => held(app) === 0);
        t.diagnostic(`connection back in the pool ${waited} ms after the disconnect`);
        assert.equal(app.db.poolStats().total, 1, 'returned for reuse, not discarded');
        assert.deepEqual(await busyBackends('order by "product" asc, "price" desc'), []);
      } else {
        // A reader's snapshot keeps a checkpoint from copying the newer WAL frames; writes go on
        // meanwhile (WAL). PASSIVE never waits on the busy handler, which would block the loop.
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(
          (await app.request('/api/items/', { method: 'POST', json: { product: 'New', price: 1 } })).status,
          201,
        );
        const snapshotHeld = async () => {
          const [result] = (
            await sql<{ log: number; checkpointed: number }>`pragma wal_checkpoint(passive)`.execute(app.db.kysely)
          ).rows;
          return result!.checkpointed < result!.log;
        };
        assert.equal(await snapshotHeld(), true, 'the stalled list still holds its snapshot');
        client.socket.destroy();
        const waited = await waitFor('the reader to let go of its snapshot', async () => !(await snapshotHeld()));
        t.diagnostic(`snapshot released ${waited} ms after the disconnect`);
      }
      assert.equal((await app.request('/api/items/?product=Item%207')).status, 200);
    });

    it('cuts a client that stops reading after LIST_STREAM_TIMEOUT_MS, and logs it', async (t: TestContext) => {
      const app = await startTestApp(
        t,
        { DATABASE_URL: await backend.databaseUrl(t), LIST_STREAM_TIMEOUT_MS: '1000', ...SLOW_SEED },
        { captureLog: true },
      );
      // PostgreSQL reads in cursor round trips, far slower than the socket drains; SQLite can
      // render 200,000 rows into the kernel's buffers before the limit.
      await seedMany(app, backend, backend.name === 'sqlite' ? rowsBeyondSocketBuffers() : 200_000);
      const started = Date.now();
      const client = await stalledGet(portOf(app), '/api/items/');
      if (backend.name === 'postgres') {
        await waitFor('the list to hold a connection', () => held(app) === 1);
        await waitFor('the connection to return to the pool', () => held(app) === 0);
        assert.ok(Date.now() - started >= 900, 'held until the limit');
      }
      const body = (await client.readToEnd()).toString('latin1');
      assert.match(body, /^HTTP\/1\.1 200 /);
      assert.doesNotMatch(body, COMPLETE_CHUNKED, 'the body ends without its terminating chunk');
      const lines = jsonLines(await app.logText());
      const cut = lines.find((l) => l.msg === 'response cut: the client read too slowly');
      assert.ok(cut, `the cut is logged:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
      assert.equal(cut.level, 'warn');
    });
  });
}

describe('list read slower than the statement timeout (postgres)', () => {
  it('completes: the streamed read runs under LIST_STREAM_TIMEOUT_MS, not DB_STATEMENT_TIMEOUT_MS', async (t) => {
    const postgres = BACKENDS.find((b) => b.name === 'postgres')!;
    const databaseUrl = await postgres.databaseUrl(t);
    const app = await startTestApp(t, { DATABASE_URL: databaseUrl, DB_STATEMENT_TIMEOUT_MS: '1000' });
    const seeder = new pg.Client({ connectionString: databaseUrl });
    await seeder.connect();
    await seeder.query('set statement_timeout = 0');
    await seeder.query(`insert into myapi_item (product, price)
      select 'Item ' || i, i % 1000 from generate_series(1, 200000) as i`);
    await seeder.end();
    const client = await stalledGet(portOf(app), '/api/items/');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(held(app), 1, 'the list is still reading');
    const body = (await client.readToEnd()).toString('latin1');
    assert.match(body, COMPLETE_CHUNKED, 'the whole list arrived');
    await waitFor('the connection to return to the pool', () => held(app) === 0);
    assert.equal(app.db.poolStats().total, 1, 'returned for reuse');
    const res = await app.request('/api/items/?product=Item%207');
    assert.equal(res.status, 200, 'the connection is back to the normal statement timeout');
  });
});

describe('long lists read by stalled clients (postgres)', () => {
  it('hold at most half the pool: the next long list gets 503 with Retry-After, other requests are served', async (t) => {
    const postgres = BACKENDS.find((b) => b.name === 'postgres')!;
    const app = await startTestApp(t, {
      DATABASE_URL: await postgres.databaseUrl(t),
      DB_POOL_MAX: '4',
      LIST_STREAM_TIMEOUT_MS: '600000',
      ...SLOW_SEED,
    });
    await seedMany(app, postgres, 200_000);
    const stalled = [
      await stalledGet(portOf(app), '/api/items/'),
      await stalledGet(portOf(app), '/api/items/?ordering=-id'),
    ];
    await waitFor('both lists to hold a connection', () => held(app) === 2);
    const third = await app.request('/api/items/?ordering=price');
    assert.equal(third.status, 503);
    assert.equal(third.headers.get('retry-after'), '1');
    assert.deepEqual(await third.json(), { detail: 'Too many long lists are being read at once; retry shortly.' });
    for (const url of ['/api/items/7/', '/api/items/?product=Item%207']) {
      assert.equal((await app.request(url)).status, 200, url);
    }
    assert.equal(
      (await app.request('/api/items/', { method: 'POST', json: { product: 'New', price: 1 } })).status,
      201,
    );
    for (const client of stalled) client.socket.destroy();
    await waitFor('the lists to give their connections back', () => held(app) === 0);
    const again = await app.request('/api/items/?ordering=price');
    assert.equal(again.status, 200);
    await again.arrayBuffer();
  });
});

describe('list interrupted by the database (postgres)', () => {
  it('cuts the response (never a complete-looking 200), logs the error, and the pool recovers', async (t) => {
    const postgres = BACKENDS.find((b) => b.name === 'postgres')!;
    const app = await startTestApp(
      t,
      { DATABASE_URL: await postgres.databaseUrl(t), ...SLOW_SEED },
      { captureLog: true },
    );
    await seedMany(app, postgres, 200_000);
    const client = await stalledGet(portOf(app), '/api/items/?ordering=-price,product');
    await waitFor('the list to hold a connection', () => held(app) === 1);
    const pids = await busyBackends('order by "price" desc, "product" asc');
    assert.equal(pids.length, 1, 'one backend runs the list');
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pids[0]]);
    await admin.end();

    const body = (await client.readToEnd()).toString('latin1');
    assert.match(body, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(body, COMPLETE_CHUNKED, 'the body ends without its terminating chunk');
    const lines = jsonLines(await app.logText());
    const cut = lines.find((l) => l.msg === 'response cut: the list failed while it was being sent');
    assert.ok(cut, 'the failure is logged');
    assert.equal(cut.level, 'error');
    assert.ok((cut.err as { message: string }).message.length > 0);

    await waitFor('the broken connection to leave the pool', () => held(app) === 0);
    const after = await app.request('/api/items/?product=Item%207');
    assert.equal(after.status, 200);
    assert.equal(((await after.json()) as unknown[]).length, 1);
  });
});
