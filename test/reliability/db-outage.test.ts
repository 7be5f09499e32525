/**
 * Database outage: a TCP proxy between the service and the real
 * PostgreSQL is cut (every connection destroyed, new ones refused) and restored.
 *
 * While cut: every data endpoint answers 503 `{"detail": ...}` within {@link ANSWER_BOUND_MS} (no
 * hang), `/readyz` 503, `/healthz` 200, and nothing is stored. After restore: the same process
 * serves again, and every write answered 201 (before, during and after the cut) is in the database,
 * checked directly with pg.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestSchema, TEST_DATABASE_URL, withSearchPath } from '../helpers/backends.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import type { Item } from '../helpers/item.js';

/** Longest a request may take to be answered while the database is unreachable. */
const ANSWER_BOUND_MS = 3000;
/** DB_CONNECTION_TIMEOUT_MS for the service under test: the pool gives up connecting after this. */
const CONNECTION_TIMEOUT_MS = 1000;

/** Sends a request and measures how long the answer took. */
async function timed(api: TestApp, path: string, init: RequestInit & { json?: unknown } = {}) {
  const started = performance.now();
  const response = await api.request(path, init);
  const text = await response.text();
  return { status: response.status, text, ms: performance.now() - started, headers: response.headers };
}

/** Reads the rows straight from PostgreSQL, not through the service. */
async function storedRows(schema: string): Promise<Item[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const result = await client.query<Item>(
      `SELECT id::int AS id, product, price FROM ${schema}.myapi_item ORDER BY id`,
    );
    return result.rows;
  } finally {
    await client.end();
  }
}

/** Polls `GET path` until it answers `status`, at most `timeoutMs`; returns how long it took. */
async function waitFor(api: TestApp, path: string, status: number, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  let last = 0;
  while (performance.now() - started < timeoutMs) {
    last = (await api.request(path)).status;
    if (last === status) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${path} still answers ${last}, not ${status}, after ${timeoutMs} ms`);
}

describe('PostgreSQL outage through a cut TCP proxy', () => {
  it('answers 503 {"detail"} fast while the link is cut, /healthz stays 200, recovers without restart, loses no 201', async (t) => {
    const schema = await createTestSchema(t);
    const proxy = await startTcpProxy(
      t,
      Number(new URL(TEST_DATABASE_URL).port || 5432),
      new URL(TEST_DATABASE_URL).hostname,
    );
    const viaProxy = new URL(TEST_DATABASE_URL);
    viaProxy.port = String(proxy.port);
    const api = await startTestApp(t, {
      DATABASE_URL: withSearchPath(viaProxy.toString(), schema),
      DB_CONNECTION_TIMEOUT_MS: String(CONNECTION_TIMEOUT_MS),
      DB_STATEMENT_TIMEOUT_MS: '2000',
      DB_POOL_MAX: '4',
    });

    const answered201: Item[] = [];
    const attempted = new Map<string, number>();
    const create = async (product: string, price: number) => {
      attempted.set(product, price);
      const result = await timed(api, '/api/items/', { method: 'POST', json: { product, price } });
      if (result.status === 201) answered201.push(JSON.parse(result.text) as Item);
      return result;
    };

    // Before: writes succeed and the pool holds open connections through the proxy.
    for (let i = 0; i < 10; i++) assert.equal((await create(`before ${i}`, i)).status, 201);
    assert.ok(proxy.accepted() > 0, 'the service connects through the proxy');
    const [first] = answered201;

    // A burst of writes in flight when the link is cut: each gets 201 or 503, nothing else.
    const burst = Array.from({ length: 40 }, (_, i) => create(`burst ${i}`, 100 + i));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await proxy.cut();
    for (const result of await Promise.all(burst)) {
      assert.ok([201, 503].includes(result.status), `in-flight write answered ${result.status} ${result.text}`);
    }

    // While cut: every data endpoint answers 503 {"detail": string} within the bound.
    const createdBeforeCut = answered201.length;
    const whileCut = {
      list: await timed(api, '/api/items/'),
      create: await create('during', 1),
      retrieve: await timed(api, `/api/items/${first!.id}/`),
      update: await timed(api, `/api/items/${first!.id}/`, { method: 'PUT', json: { product: 'changed', price: 1 } }),
      partial_update: await timed(api, `/api/items/${first!.id}/`, { method: 'PATCH', json: { price: 2 } }),
      destroy: await timed(api, `/api/items/${first!.id}/`, { method: 'DELETE' }),
      concurrent: await Promise.all(Array.from({ length: 20 }, (_, i) => create(`during ${i}`, i))),
    };
    for (const [action, value] of Object.entries(whileCut)) {
      for (const result of Array.isArray(value) ? value : [value]) {
        assert.equal(result.status, 503, `${action} while cut: ${result.text}`);
        assert.deepEqual(Object.keys(JSON.parse(result.text) as object), ['detail'], `${action}: {"detail"} body`);
        assert.ok(
          result.ms < ANSWER_BOUND_MS,
          `${action} answered in ${Math.round(result.ms)} ms (bound ${ANSWER_BOUND_MS})`,
        );
      }
    }
    assert.equal(answered201.length, createdBeforeCut, 'no write succeeds while cut');
    const health = await timed(api, '/healthz');
    assert.equal(health.status, 200, '/healthz while the database is unreachable');
    // /readyz reads the background probe (every second, 1 s timeout): 503 once it has seen the cut.
    const notReadyMs = await waitFor(api, '/readyz', 503, 4000);
    t.diagnostic(`/readyz 503 ${Math.round(notReadyMs)} ms after the checks above`);

    // Restore: the same process serves again.
    await proxy.restore();
    const recoveryMs = await waitFor(api, '/api/items/', 200);
    t.diagnostic(`recovered ${Math.round(recoveryMs)} ms after the link returned`);
    // The readiness probe runs every second: it finds the link back within about that.
    const readyMs = await waitFor(api, '/readyz', 200, 5000);
    t.diagnostic(`/readyz 200 again ${Math.round(readyMs)} ms after the API served`);
    for (let i = 0; i < 5; i++) assert.equal((await create(`after ${i}`, i)).status, 201, 'writes after recovery');

    // Every write answered 201 is stored exactly; every stored row is a write that was sent, whole.
    const rows = await storedRows(schema);
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const item of answered201) assert.deepEqual(byId.get(item.id), item, `201 item ${item.id} is stored`);
    for (const row of rows)
      assert.equal(attempted.get(row.product), row.price, `stored row ${JSON.stringify(row)} is a write that was sent`);
    // The unchanged first item proves the refused PUT/PATCH/DELETE did nothing.
    assert.deepEqual(byId.get(first!.id), first, 'refused update/destroy left the item as it was');
    t.diagnostic(`writes: ${attempted.size} sent, ${answered201.length} answered 201, ${rows.length} stored`);
  });
});
