/**
 * The two storage backends every API test runs against: a fresh SQLite file, and a fresh schema in
 * the real PostgreSQL at `TEST_DATABASE_URL` (default `postgres://root@127.0.0.1:5432/test`).
 *
 * Each PostgreSQL run gets its own schema (`itemstore_test_<random>`, selected through the
 * connection's `search_path`), dropped when the test ends. A PostgreSQL that cannot be reached fails
 * the test loudly; it is never skipped.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { scratchDir } from './app.js';

/** Where the PostgreSQL half of the suite runs. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://root@127.0.0.1:5432/test';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** Creates an empty database for one test and returns the `DATABASE_URL` that reaches it. */
  databaseUrl(t: TestContext): Promise<string>;
}

/** Adds `options=-c search_path=<schema>` to a PostgreSQL URL. */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/**
 * Installs `pg_trgm` in `public` once per database. Without this, migration 0002 would create the
 * extension inside the first test schema, and dropping that schema (CASCADE) would take the
 * extension, and every trigram index of concurrently running tests, with it.
 */
async function ensureTrigramExtension(admin: pg.Client): Promise<void> {
  try {
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public');
  } catch (error) {
    // Two runs creating it at once: the loser gets unique_violation (23505); the extension is there.
    if ((error as { code?: string }).code !== '23505') throw error;
  }
}

/**
 * Creates a uniquely named schema and drops it (with everything in it) after the test.
 *
 * @throws when PostgreSQL at {@link TEST_DATABASE_URL} cannot be reached (the test fails).
 */
export async function createTestSchema(t: TestContext): Promise<string> {
  const schema = `itemstore_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL at ${TEST_DATABASE_URL} is unreachable (${(error as Error).message}); start it or set TEST_DATABASE_URL`,
    );
  }
  try {
    await ensureTrigramExtension(admin);
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  t.after(async () => {
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    try {
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await c.end();
    }
  });
  return schema;
}

export const BACKENDS: readonly Backend[] = [
  {
    name: 'sqlite',
    databaseUrl: async (t) => `sqlite:///${path.join(scratchDir(t), 'db.sqlite3')}`,
  },
  {
    name: 'postgres',
    databaseUrl: async (t) => withSearchPath(TEST_DATABASE_URL, await createTestSchema(t)),
  },
];

/** A login role of one test, with a schema of its own. */
export interface TestRole {
  role: string;
  schema: string;
  /** {@link TEST_DATABASE_URL} as that role; its `search_path` is a role default, not a URL parameter. */
  url: string;
}

/**
 * Creates a login role owning a new schema, with `search_path` set to that schema as the role's
 * default in the test database, and drops both (with the role's settings) after the test. For tests
 * whose service writes role-level settings (the statement timeout), so that no other test's role
 * changes, and for tests through PgBouncer, which refuses the `options` startup parameter
 * {@link withSearchPath} relies on.
 *
 * @throws when PostgreSQL at {@link TEST_DATABASE_URL} cannot be reached (the test fails).
 */
export async function createTestRole(t: TestContext): Promise<TestRole> {
  const suffix = randomBytes(6).toString('hex');
  const role = `itemstore_role_${suffix}`;
  const schema = `itemstore_test_${suffix}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await ensureTrigramExtension(admin);
    const { rows } = await admin.query<{ db: string }>('select current_database() as db');
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
    await admin.query(`ALTER ROLE ${role} IN DATABASE "${rows[0]!.db}" SET search_path = ${schema}`);
  } finally {
    await admin.end();
  }
  t.after(async () => {
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    try {
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.query(`DROP OWNED BY ${role}`);
      await c.query(`DROP ROLE IF EXISTS ${role}`);
    } finally {
      await c.end();
    }
  });
  const url = new URL(TEST_DATABASE_URL);
  url.username = role;
  url.password = '';
  return { role, schema, url: url.toString() };
}
