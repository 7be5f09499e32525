/**
 * Migrations on PostgreSQL go to the schema the connection's `search_path` selects, even when another
 * schema of the same database already holds Kysely's migration tables (another service, or another
 * test run sharing the database). Kysely's `Migrator` looks for its tables across all schemas unless told
 * which one, and then failed with `relation "kysely_migration_lock" does not exist`. Its table listing
 * reads every schema, and failed with 3F000 when another schema was dropped meanwhile.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { readDatabaseConfig } from '../../src/config.js';
import { createDb } from '../../src/db/database.js';
import { migrateToLatest, migrations } from '../../src/db/migrate.js';
import { TEST_DATABASE_URL, createTestSchema, withSearchPath } from '../helpers/backends.js';

describe('migrations on PostgreSQL, schema by schema', () => {
  it('migrate a second schema after a first one holds the Kysely tables, each fully', async (t) => {
    for (let i = 0; i < 2; i++) {
      const schema = await createTestSchema(t);
      const db = createDb(readDatabaseConfig({ DATABASE_URL: withSearchPath(TEST_DATABASE_URL, schema) }));
      t.after(() => db.destroy());
      const applied = await migrateToLatest(db.kysely);
      assert.deepEqual(
        applied.map((r) => [r.migrationName, r.status]),
        Object.keys(migrations).map((name) => [name, 'Success']),
        schema,
      );
      const tables = (await db.kysely.introspection.getTables({ withInternalKyselyTables: true }))
        .filter((table) => table.schema === schema)
        .map((table) => table.name)
        .sort();
      assert.deepEqual(tables, ['idempotency_key', 'kysely_migration', 'kysely_migration_lock', 'myapi_item'], schema);
      assert.deepEqual(await migrateToLatest(db.kysely), [], `${schema}: nothing left to apply`);
    }
  });

  it('migrate while other schemas, full of tables, are created and dropped', async (t) => {
    const churnPrefix = `itemstore_churn_${randomBytes(4).toString('hex')}`;
    let churning = true;
    // Three clients creating and dropping schemas of 30 tables each, as finished tests do.
    const churn = Array.from({ length: 3 }, async (_, client) => {
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      try {
        for (let i = 0; churning; i++) {
          const schema = `${churnPrefix}_${client}_${i}`;
          await admin.query(
            `CREATE SCHEMA ${schema}; ${Array.from({ length: 30 }, (_, j) => `CREATE TABLE ${schema}.t${j} (id serial, a int)`).join('; ')}`,
          );
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        }
      } finally {
        await admin.end();
      }
    });
    try {
      for (let i = 0; i < 12; i++) {
        const schema = await createTestSchema(t);
        const db = createDb(readDatabaseConfig({ DATABASE_URL: withSearchPath(TEST_DATABASE_URL, schema) }));
        try {
          const applied = await migrateToLatest(db.kysely);
          assert.equal(applied.length, Object.keys(migrations).length, schema);
        } finally {
          await db.destroy();
        }
      }
    } finally {
      churning = false;
      await Promise.all(churn);
    }
  });
});
