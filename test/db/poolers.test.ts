/**
 * PostgreSQL reached directly and through Debian's PgBouncer (stock settings, no
 * `ignore_startup_parameters`) in transaction and session mode: the service starts and serves, the
 * statement timeout holds, several migrators at once apply each migration once and leave no lock,
 * a held migration lock makes `npm run migrate` stop with one line, a database that refuses
 * connections or is gone answers 503, and a full session pool answers 503 within about
 * `DB_CONNECTION_TIMEOUT_MS`.
 *
 * Every test works as a role of its own (`createTestRole`): the statement timeout is that role's
 * default, and PgBouncer refuses the `options` parameter that would select a schema otherwise.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { MIGRATION_LOCK_CLASS } from '../../src/db/migrate.js';
import { startTestApp } from '../helpers/app.js';
import { TEST_DATABASE_URL, createTestRole } from '../helpers/backends.js';
import { runBuilt } from '../helpers/process.js';
import { startPgbouncer } from '../helpers/topology.js';

const STATEMENT_TIMEOUT_MS = 600;

async function connect(t: TestContext, connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString });
  client.on('error', () => {});
  await client.connect();
  t.after(() => client.end().catch(() => {}));
  return client;
}

/** The errors logged at `error` level, each as `CODE message`. */
function loggedErrors(logText: string): string[] {
  return logText
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: string; err?: { code?: string; message?: string } })
    .filter((entry) => entry.level === 'error')
    .map((entry) => `${entry.err?.code ?? ''} ${entry.err?.message ?? ''}`);
}

const ROUTES = ['direct', 'transaction', 'session'] as const;

describe('statement timeout without startup parameters or SET', () => {
  for (const route of ROUTES) {
    it(`a table lock held past DB_STATEMENT_TIMEOUT_MS gives 503 from the server's own timeout (${route})`, async (t) => {
      const { role, url: direct } = await createTestRole(t);
      const databaseUrl =
        route === 'direct'
          ? direct
          : (await startPgbouncer(t, { poolMode: route, users: [role], poolSize: 4 })).url(role);
      // Migrations on the direct endpoint, as the migration task does; it writes the role's timeout.
      const app = await startTestApp(
        t,
        {
          DATABASE_URL: databaseUrl,
          MIGRATION_DATABASE_URL: direct,
          DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        },
        { captureLog: true },
      );
      assert.equal(
        (await app.request('/api/items/', { method: 'POST', json: { product: 'Apple', price: 1 } })).status,
        201,
      );
      const { rows } = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(app.db.kysely);
      assert.equal(rows[0]?.statement_timeout, `${STATEMENT_TIMEOUT_MS}ms`, 'the session has the role default');

      const locker = await connect(t, direct);
      await locker.query('begin');
      await locker.query('lock table myapi_item in access exclusive mode');
      const started = performance.now();
      const res = await fetch(`${app.baseUrl}/api/items/`, { signal: AbortSignal.timeout(10_000) });
      const elapsed = performance.now() - started;
      await locker.query('rollback');
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.deepEqual(await res.json(), { detail: 'Database unavailable.' });
      t.diagnostic(`${route}: 503 after ${Math.round(elapsed)} ms (DB_STATEMENT_TIMEOUT_MS ${STATEMENT_TIMEOUT_MS})`);
      assert.ok(
        loggedErrors(await app.logText()).some((e) => e.startsWith('57014 ')),
        'the server cancelled it: SQLSTATE 57014 logged',
      );
      assert.equal((await fetch(`${app.baseUrl}/api/items/`)).status, 200, 'served again once the lock is gone');
    });
  }
});

describe('a query a pooler holds in its queue', () => {
  it('gets 503 once DB_STATEMENT_TIMEOUT_MS + 1 s pass with no answer (the client-side bound)', async (t) => {
    const { role, url: direct } = await createTestRole(t);
    const bouncer = await startPgbouncer(t, { poolMode: 'transaction', users: [role], poolSize: 1 });
    const app = await startTestApp(
      t,
      { DATABASE_URL: bouncer.url(role), MIGRATION_DATABASE_URL: direct, DB_STATEMENT_TIMEOUT_MS: '500' },
      { captureLog: true },
    );
    assert.equal((await app.request('/api/items/')).status, 200);
    // An open transaction holds PgBouncer's only server connection: the next query waits in its
    // queue (query_wait_timeout, 120 s by default), where no server-side timeout runs.
    const holder = await connect(t, bouncer.url(role));
    await holder.query('begin');
    await holder.query('select 1');
    const started = performance.now();
    const res = await fetch(`${app.baseUrl}/api/items/`, { signal: AbortSignal.timeout(10_000) });
    const elapsed = performance.now() - started;
    await holder.query('rollback');
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { detail: 'Database unavailable.' });
    t.diagnostic(`503 after ${Math.round(elapsed)} ms (DB_STATEMENT_TIMEOUT_MS 500 + 1 s)`);
    assert.ok(
      loggedErrors(await app.logText()).some((e) => /Connection terminated/.test(e)),
      'the client closed the connection',
    );
    assert.equal((await app.request('/api/items/')).status, 200, 'served again on a fresh connection');
  });
});

describe('keyed creates through PgBouncer in transaction mode', () => {
  it('40 concurrent creates with Idempotency-Key all answer 201, and each retry its stored answer', async (t) => {
    // PgBouncer 1.18 does not carry named statements between server connections in this mode.
    const { role, url: direct } = await createTestRole(t);
    const bouncer = await startPgbouncer(t, { poolMode: 'transaction', users: [role], poolSize: 4 });
    const app = await startTestApp(t, { DATABASE_URL: bouncer.url(role), MIGRATION_DATABASE_URL: direct });
    const create = (i: number) =>
      app.request('/api/items/', {
        method: 'POST',
        json: { product: `keyed ${i}`, price: i },
        headers: { 'idempotency-key': `key-${i}` },
      });
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => create(i)));
    assert.deepEqual(
      first.map((res) => res.status),
      Array(40).fill(201),
    );
    const ids = await Promise.all(first.map(async (res) => ((await res.json()) as { id: number }).id));
    const again = await Promise.all(Array.from({ length: 40 }, (_, i) => create(i)));
    const replayed = await Promise.all(
      again.map(async (res) => [res.status, ((await res.json()) as { id: number }).id]),
    );
    assert.deepEqual(
      replayed,
      ids.map((id) => [201, id]),
    );
  });
});

describe('migrations through PgBouncer in transaction mode', () => {
  it('four migrators at once on an empty schema apply each migration once and leave no advisory lock', async (t) => {
    const { role, schema } = await createTestRole(t);
    const bouncer = await startPgbouncer(t, { poolMode: 'transaction', users: [role], poolSize: 2 });
    const runs = Array.from({ length: 4 }, () => runBuilt(t, 'migrate.js', { DATABASE_URL: bouncer.url(role) }));
    const codes = await Promise.all(runs.map((run) => run.closed));
    assert.deepEqual(codes, [0, 0, 0, 0], runs.map((run) => run.stderr()).join('\n'));
    const outputs = runs.map((run) => run.stdout()).sort();
    assert.equal(outputs.filter((out) => out === 'No migrations to apply.\n').length, 3, outputs.join('\n---\n'));
    const admin = await connect(t, TEST_DATABASE_URL);
    const applied = await admin.query(`select name from ${schema}.kysely_migration order by name`);
    assert.deepEqual(
      applied.rows.map((r) => r.name),
      ['0001_create_item', '0002_product_trigram_index', '0003_product_index', '0004_item_version_idempotency_key'],
    );
    const locks = await admin.query(
      `select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
       where l.locktype = 'advisory' and a.usename = $1`,
      [role],
    );
    assert.deepEqual(locks.rows, [], 'no advisory lock held by the pooled server connections');
  });

  it('a migration lock held longer than MIGRATION_LOCK_TIMEOUT_MS stops npm run migrate with one line, exit 1', async (t) => {
    const { schema, url } = await createTestRole(t);
    const holder = await connect(t, TEST_DATABASE_URL);
    await holder.query('begin');
    await holder.query('select pg_advisory_xact_lock($1::int, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
    const run = runBuilt(t, 'migrate.js', { DATABASE_URL: url, MIGRATION_LOCK_TIMEOUT_MS: '300' });
    assert.equal(await run.closed, 1);
    await holder.query('rollback');
    const lines = run.stderr().trim().split('\n');
    assert.equal(lines.length, 1, run.stderr());
    assert.match(lines[0]!, /migration failed: .*migration lock .*300 ms \(MIGRATION_LOCK_TIMEOUT_MS\)/);
    const tables = await holder.query('select count(*)::int as n from pg_tables where schemaname = $1', [schema]);
    assert.equal(tables.rows[0].n, 0, 'nothing was created');
  });
});

describe('a database that cannot serve now answers 503', () => {
  it('ALLOW_CONNECTIONS false, then the database dropped: 503 {"detail"} with Retry-After, SQLSTATE logged', async (t) => {
    const name = `itemstore_db_${Math.random().toString(16).slice(2, 10)}`;
    // No statement timeout for these sessions: DROP DATABASE waits for a checkpoint, which the
    // other tests' writes can make outlast the role's default (the service's migrations set it).
    const admin = await connect(t, TEST_DATABASE_URL);
    await admin.query('set statement_timeout = 0');
    await admin.query(`create database ${name}`);
    t.after(async () => {
      const cleanup = await connect(t, TEST_DATABASE_URL);
      await cleanup.query('set statement_timeout = 0');
      await cleanup.query(`drop database if exists ${name} with (force)`);
    });
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${name}`;
    const app = await startTestApp(t, { DATABASE_URL: url.toString() }, { captureLog: true });
    assert.equal((await app.request('/api/items/')).status, 200);

    await admin.query(`alter database ${name} allow_connections false`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    for (let i = 0; i < 3; i++) {
      const res = await app.request('/api/items/');
      assert.equal(res.status, 503, `request ${i} while the database refuses connections`);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.deepEqual(await res.json(), { detail: 'Database unavailable.' });
    }
    await admin.query(`drop database ${name} with (force)`);
    const gone = await app.request('/api/items/');
    assert.equal(gone.status, 503, 'after the database is dropped');
    assert.deepEqual(await gone.json(), { detail: 'Database unavailable.' });
    const errors = loggedErrors(await app.logText());
    assert.ok(
      errors.some((e) => e.startsWith('55000 ')),
      `55000 logged (${errors.join('; ')})`,
    );
    assert.ok(
      errors.some((e) => e.startsWith('3D000 ')),
      `3D000 logged (${errors.join('; ')})`,
    );
  });

  it('PgBouncer in session mode with its pool taken: 503 within about DB_CONNECTION_TIMEOUT_MS, not its queue wait', async (t) => {
    const { role, url: direct } = await createTestRole(t);
    const bouncer = await startPgbouncer(t, { poolMode: 'session', users: [role], poolSize: 1 });
    // An outside session holds PgBouncer's only server connection for this role.
    const squatter = await connect(t, bouncer.url(role));
    await squatter.query('select 1');
    const app = await startTestApp(
      t,
      { DATABASE_URL: bouncer.url(role), MIGRATION_DATABASE_URL: direct, DB_CONNECTION_TIMEOUT_MS: '500' },
      { captureLog: true },
    );
    const started = performance.now();
    const res = await fetch(`${app.baseUrl}/api/items/`, { signal: AbortSignal.timeout(10_000) });
    const elapsed = performance.now() - started;
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { detail: 'Database unavailable.' });
    t.diagnostic(`503 after ${Math.round(elapsed)} ms (DB_CONNECTION_TIMEOUT_MS 500; PgBouncer would queue 120 s)`);
    assert.ok(
      loggedErrors(await app.logText()).some((e) => /no first answer within 500 ms/.test(e)),
      'the bound on the first answer fired',
    );
  });
});
