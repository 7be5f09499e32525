/**
 * `/readyz` and `/metrics` on a real socket, over SQLite, a real
 * PostgreSQL, and a PostgreSQL port where nothing listens.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createLogger } from '../../src/platform/logger.js';
import { Readiness } from '../../src/ops/readiness.js';
import type { TestContext } from 'node:test';
import { startTestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';
import { freePort } from '../helpers/process.js';

/** One sample line of the Prometheus text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** The app on a real socket over `DATABASE_URL`, without migrating (readiness needs no tables). */
async function startApp(
  t: TestContext,
  env: Record<string, string>,
  options: { readiness?: Readiness; migrate?: boolean } = {},
) {
  const config = loadConfig({ LOG_LEVEL: 'silent', LOG_DIR: '', ...env });
  const db = createDb(config.database);
  if (options.migrate) await migrateToLatest(db.kysely);
  const app = await buildApp({
    config,
    db,
    logger: createLogger({ level: 'silent', logDir: '' }).logger,
    readiness: options.readiness,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await db.destroy();
  });
  const { port } = app.server.address() as { port: number };
  return (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
}

describe('GET /readyz', () => {
  for (const backend of BACKENDS) {
    it(`answers 200 while ${backend.name} answers`, async (t) => {
      const request = await startApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const ready = await request('/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready' });
      assert.equal(ready.headers.get('cache-control'), 'no-store');
    });
  }

  it('answers 503 {"detail"} while the database is unreachable; /healthz stays 200', async (t) => {
    const request = await startApp(t, { DATABASE_URL: `postgres://root@127.0.0.1:${await freePort()}/test` });
    const ready = await request('/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { detail: 'Database unavailable.' });
    assert.equal((await request('/healthz')).status, 200);
  });

  it('answers 503 {"detail":"Shutting down."} once shutdown has begun, while the API still serves', async (t) => {
    const readiness = new Readiness();
    const request = await startApp(t, { DATABASE_URL: 'sqlite://:memory:' }, { readiness, migrate: true });
    assert.equal((await request('/readyz')).status, 200);
    readiness.beginShutdown();
    const response = await request('/readyz');
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { detail: 'Shutting down.' });
    assert.equal((await request('/api/items/')).status, 200);
  });
});

describe('GET /metrics', () => {
  it('exposes requests by route pattern, method and status, latency, pool gauges and process metrics', async (t) => {
    const { request } = await startTestApp(t);
    const created = (await (
      await request('/api/items/', { method: 'POST', json: { product: 'Apple', price: 100 } })
    ).json()) as { id: number };
    await request(`/api/items/${created.id}/`);
    await request(`/api/items/${created.id}/`);
    await request('/api/items/999/');
    await request('/no/such/page');

    const response = await request('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const samples = parseMetrics(await response.text());

    assert.equal(
      find(samples, 'http_requests_total', { method: 'POST', route: '/api/items/', status_code: '201' })?.value,
      1,
    );
    assert.equal(
      find(samples, 'http_requests_total', { method: 'GET', route: '/api/items/:id/', status_code: '200' })?.value,
      2,
    );
    assert.equal(
      find(samples, 'http_requests_total', { method: 'GET', route: '/api/items/:id/', status_code: '404' })?.value,
      1,
    );
    assert.equal(
      find(samples, 'http_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' })?.value,
      1,
    );
    assert.ok(
      !samples.some((s) => s.labels.route?.includes(String(created.id)) || s.labels.route === '/no/such/page'),
      'raw URLs never become label values',
    );
    const count = find(samples, 'http_request_duration_seconds_count', {
      route: '/api/items/:id/',
      status_code: '200',
    });
    assert.equal(count?.value, 2);
    const inf = find(samples, 'http_request_duration_seconds_bucket', {
      route: '/api/items/:id/',
      status_code: '200',
      le: '+Inf',
    });
    assert.equal(inf?.value, 2);
    assert.ok(
      (find(samples, 'http_request_duration_seconds_sum', { route: '/api/items/:id/', status_code: '200' })?.value ??
        -1) > 0,
    );

    assert.equal(find(samples, 'db_pool_connections', { state: 'total' })?.value, 1);
    assert.equal(find(samples, 'db_pool_waiting_requests')?.value, 0);
    assert.ok(find(samples, 'process_resident_memory_bytes')!.value > 0);
    assert.ok(find(samples, 'nodejs_eventloop_lag_seconds') !== undefined);
  });

  it('reports the PostgreSQL pool as it is', async (t) => {
    const postgres = BACKENDS.find((b) => b.name === 'postgres')!;
    const request = await startApp(
      t,
      { DATABASE_URL: await postgres.databaseUrl(t), DB_POOL_MAX: '3' },
      { migrate: true },
    );
    // Requests use the pool; /readyz does not (its probe has a connection of its own).
    const answers = await Promise.all(Array.from({ length: 6 }, () => request('/api/items/')));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200, 200, 200],
    );
    const samples = parseMetrics(await (await request('/metrics')).text());
    const total = find(samples, 'db_pool_connections', { state: 'total' })!.value;
    assert.ok(total >= 1 && total <= 3, `pool total ${total} within DB_POOL_MAX`);
    assert.equal(find(samples, 'db_pool_connections', { state: 'idle' })?.value, total, 'all idle between requests');
  });
});

describe('methods of /healthz, /readyz and /metrics', () => {
  it('are alike: Allow: GET, HEAD, OPTIONS on OPTIONS (200) and on 405 {"detail"}; HEAD is answered', async (t) => {
    const api = await startTestApp(t);
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const response = await api.request(url, { method });
        assert.equal(response.status, 405, `${method} ${url}`);
        assert.equal(response.headers.get('allow'), 'GET, HEAD, OPTIONS', `${method} ${url}`);
        assert.deepEqual(await response.json(), { detail: `Method "${method}" not allowed.` }, `${method} ${url}`);
      }
      const options = await api.request(url, { method: 'OPTIONS' });
      assert.equal(options.status, 200, `OPTIONS ${url}`);
      assert.equal(options.headers.get('allow'), 'GET, HEAD, OPTIONS', `OPTIONS ${url}`);
      // /healthz keeps the replaced Django view's `OK`; the others answer no content.
      assert.equal(await options.text(), url === '/healthz' ? 'OK' : '', `OPTIONS ${url}`);
      assert.equal((await api.request(url, { method: 'HEAD' })).status, 200, `HEAD ${url}`);
    }
  });
});

describe('GET /favicon.ico', () => {
  it('serves the icon the management page links to', async (t) => {
    const api = await startTestApp(t);
    const response = await api.request('/favicon.ico');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^image\/(x-icon|vnd\.microsoft\.icon)/);
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 4)], [0, 0, 1, 0], 'an ICO header (reserved 0, type 1)');
    assert.match(await (await api.request('/')).text(), /<link rel="icon" href="\/favicon.ico" \/>/);
  });
});
