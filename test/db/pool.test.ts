/**
 * The PostgreSQL connection pool and the `DB_*` variables the
 * replaced service's deployments set.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/database.js';
import { scratchDir, startTestApp } from '../helpers/app.js';
import { TEST_DATABASE_URL, createTestSchema, withSearchPath } from '../helpers/backends.js';
import { startServer } from '../helpers/process.js';

describe('PostgreSQL connection pool', () => {
  it('defaults DB_POOL_MAX to 10', () => {
    const database = loadConfig({ DATABASE_URL: 'postgres://u@db.example/app' }).database;
    assert.equal(database.client === 'postgres' && database.poolMax, 10);
  });

  it('never opens more than DB_POOL_MAX connections; extra queries wait their turn', async (t) => {
    const databaseUrl = withSearchPath(TEST_DATABASE_URL, await createTestSchema(t));
    const db = createDb(loadConfig({ DATABASE_URL: databaseUrl, DB_POOL_MAX: '2' }).database);
    t.after(() => db.destroy());
    let maxTotal = 0;
    let maxWaiting = 0;
    const sample = setInterval(() => {
      const stats = db.poolStats();
      maxTotal = Math.max(maxTotal, stats.total);
      maxWaiting = Math.max(maxWaiting, stats.waiting);
    }, 10);
    const rows = await Promise.all(
      Array.from({ length: 6 }, () =>
        sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.1)`
          .execute(db.kysely)
          .then((r) => r.rows[0]!.pid),
      ),
    );
    clearInterval(sample);
    assert.equal(new Set(rows).size, 2, 'six queries ran on two server processes');
    assert.equal(maxTotal, 2);
    assert.ok(maxWaiting >= 1, `queries queued for a connection (max waiting ${maxWaiting})`);
  });

  it('serves 50 concurrent requests through a pool of 2', async (t) => {
    const databaseUrl = withSearchPath(TEST_DATABASE_URL, await createTestSchema(t));
    const { request, db } = await startTestApp(t, { DATABASE_URL: databaseUrl, DB_POOL_MAX: '2' });
    assert.equal((await request('/api/items/', { method: 'POST', json: { product: 'Apple', price: 1 } })).status, 201);
    const statuses = await Promise.all(Array.from({ length: 50 }, () => request('/api/items/').then((r) => r.status)));
    assert.deepEqual(statuses, Array(50).fill(200));
    assert.ok(db.poolStats().total <= 2);
  });
});

describe('DB_* variables (no DATABASE_URL)', () => {
  it('DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD select PostgreSQL', async (t) => {
    const schema = await createTestSchema(t);
    const target = new URL(TEST_DATABASE_URL);
    const server = await startServer(t, {
      DATABASE_URL: '',
      DB_HOST: target.hostname,
      DB_PORT: target.port || '5432',
      DB_NAME: decodeURIComponent(target.pathname.slice(1)),
      DB_USER: decodeURIComponent(target.username),
      DB_PASSWORD: decodeURIComponent(target.password),
      // libpq's PGOPTIONS (read by pg) puts this run in its own schema; DB_* has no place for it.
      PGOPTIONS: `-c search_path=${schema}`,
      LOG_DIR: scratchDir(t),
      LOG_LEVEL: 'warn',
    });
    const created = await fetch(`${server.baseUrl}/api/items/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ product: 'Kiwi', price: 7 }),
    });
    assert.equal(created.status, 201);
    assert.equal(await (await fetch(`${server.baseUrl}/api/items/`)).text(), '[{"id":1,"product":"Kiwi","price":7}]');
    const check = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await check.connect();
    t.after(() => check.end());
    const { rows } = await check.query(`select product, price from ${schema}.myapi_item`);
    assert.deepEqual(rows, [{ product: 'Kiwi', price: 7 }]);
  });
});
