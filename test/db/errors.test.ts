/**
 * Database failures become JSON errors with no SQL, stack or
 * credentials in the body, and the full error in the log. Unavailable (refused, timed out) → 503,
 * a write the database rejects → 500.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { startTestApp } from '../helpers/app.js';
import { BACKENDS, createTestRole } from '../helpers/backends.js';
import { freePort } from '../helpers/process.js';

const SECRET = 's3cret-Pw';

/** What a 5xx body must never show: SQL, table names, stack frames, the password. */
function assertNothingLeaks(text: string): void {
  for (const leak of [/select|insert|update|myapi_item/i, /\bat \S+ \(/, /\.ts:\d+|\.js:\d+/, new RegExp(SECRET)]) {
    assert.doesNotMatch(text, leak);
  }
}

/** Log lines at level `error`, parsed. */
function errorLines(
  logText: string,
): Array<{ msg: string; err?: { message?: string; code?: string; stack?: string } }> {
  return logText
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.level === 'error');
}

describe('database errors over HTTP', () => {
  it('a refused connection answers 503 {"detail"} without hanging, /healthz stays 200', async (t) => {
    const closedPort = await freePort();
    const app = await startTestApp(
      t,
      { DATABASE_URL: `postgres://root:${SECRET}@127.0.0.1:${closedPort}/test`, DB_CONNECTION_TIMEOUT_MS: '2000' },
      { captureLog: true, migrate: false },
    );
    for (const path of ['/api/items/', '/api/items/1/']) {
      const res = await fetch(app.baseUrl + path, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      assert.equal(res.status, 503, path);
      assert.deepEqual(JSON.parse(text), { detail: 'Database unavailable.' });
      assertNothingLeaks(text);
    }
    const health = await fetch(`${app.baseUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(health.status, 200);
    const errors = errorLines(await app.logText());
    assert.ok(
      errors.some((e) => JSON.stringify(e.err).includes('ECONNREFUSED')),
      'the log carries ECONNREFUSED',
    );
    assert.doesNotMatch(await app.logText(), new RegExp(SECRET));
  });

  it('a statement that outlives DB_STATEMENT_TIMEOUT_MS is cancelled: 503, logged with SQLSTATE 57014, then recovers', async (t) => {
    // The timeout is the role's default, written by the migration: a role of this test's own.
    const { url: databaseUrl } = await createTestRole(t);
    const app = await startTestApp(
      t,
      { DATABASE_URL: databaseUrl, DB_STATEMENT_TIMEOUT_MS: '300' },
      { captureLog: true },
    );
    // Another session holds the table, so the list query waits for the lock until statement_timeout fires.
    const locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    t.after(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE myapi_item IN ACCESS EXCLUSIVE MODE');
    const res = await fetch(`${app.baseUrl}/api/items/`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    await locker.query('ROLLBACK');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.deepEqual(JSON.parse(text), { detail: 'Database unavailable.' });
    assertNothingLeaks(text);
    const logged = errorLines(await app.logText()).find((e) => e.err?.code === '57014');
    assert.ok(logged, 'an error line with SQLSTATE 57014');
    assert.match(logged.err!.message!, /canceling statement due to statement timeout/);
    assert.ok(logged.err!.stack, 'the log has the stack');
    assert.equal((await fetch(`${app.baseUrl}/api/items/`)).status, 200, 'the next request succeeds');
  });

  for (const backend of BACKENDS) {
    it(`a write the database rejects (constraint) answers 500 {"detail"} and stores nothing (${backend.name})`, async (t) => {
      const app = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) }, { captureLog: true });
      // A rule the API's validation does not know, as a DBA might add: the database is the last word.
      if (backend.name === 'postgres') {
        await sql`alter table myapi_item add constraint myapi_item_no_durian check (product <> 'Durian')`.execute(
          app.db.kysely,
        );
      } else {
        await sql`create trigger myapi_item_no_durian before insert on myapi_item when new.product = 'Durian'
          begin select raise(abort, 'CHECK constraint failed: myapi_item_no_durian'); end`.execute(app.db.kysely);
      }
      const res = await fetch(`${app.baseUrl}/api/items/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ product: 'Durian', price: 5 }),
      });
      const text = await res.text();
      assert.equal(res.status, 500);
      assert.deepEqual(JSON.parse(text), { detail: 'Internal server error.' });
      assertNothingLeaks(text);
      assert.equal(text.includes('myapi_item_no_durian'), false);
      const logged = errorLines(await app.logText()).find((e) => e.err?.message?.includes('myapi_item_no_durian'));
      assert.ok(logged, 'the constraint error is logged in full');
      assert.equal(await (await fetch(`${app.baseUrl}/api/items/`)).text(), '[]');
    });
  }
});
