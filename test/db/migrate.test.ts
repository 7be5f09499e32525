/**
 * One migration history for both backends, `npm run migrate` (dist/migrate.js) on
 * PostgreSQL, two migrators at once, the replaced service's schema, and taking over its table.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createItem } from '../../src/items/item.repository.js';
import { scratchDir } from '../helpers/app.js';
import { BACKENDS, TEST_DATABASE_URL, createTestSchema, withSearchPath } from '../helpers/backends.js';
import { PROJECT_ROOT, startServer } from '../helpers/process.js';

/** Runs `node dist/migrate.js` (what `npm run migrate` runs after building). */
async function runMigrate(databaseUrl: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'dist/migrate.js')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
  return stdout;
}

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const APPLIED_ALL =
  'Applying 0001_create_item... OK\nApplying 0002_product_trigram_index... OK\nApplying 0003_product_index... OK\n' +
  'Applying 0004_item_version_idempotency_key... OK\n';

describe('migrations on PostgreSQL', () => {
  it("npm run migrate creates the replaced service's table and the trigram index, then has nothing to do", async (t) => {
    const schema = await createTestSchema(t);
    const databaseUrl = withSearchPath(TEST_DATABASE_URL, schema);
    assert.equal(await runMigrate(databaseUrl), APPLIED_ALL);
    assert.equal(await runMigrate(databaseUrl), 'No migrations to apply.\n');
    await withClient(async (client) => {
      const columns = await client.query(
        `select column_name, data_type, character_maximum_length, is_nullable, identity_generation
         from information_schema.columns where table_schema = $1 and table_name = 'myapi_item' order by ordinal_position`,
        [schema],
      );
      assert.deepEqual(columns.rows, [
        {
          column_name: 'id',
          data_type: 'bigint',
          character_maximum_length: null,
          is_nullable: 'NO',
          identity_generation: 'BY DEFAULT',
        },
        {
          column_name: 'product',
          data_type: 'character varying',
          character_maximum_length: 20,
          is_nullable: 'NO',
          identity_generation: null,
        },
        {
          column_name: 'price',
          data_type: 'integer',
          character_maximum_length: null,
          is_nullable: 'NO',
          identity_generation: null,
        },
        {
          column_name: 'version',
          data_type: 'integer',
          character_maximum_length: null,
          is_nullable: 'NO',
          identity_generation: null,
        },
      ]);
      const checks = await client.query(
        `select pg_get_constraintdef(c.oid) as def from pg_constraint c
         where c.conrelid = $1::regclass and c.contype = 'c'`,
        [`${schema}.myapi_item`],
      );
      assert.deepEqual(checks.rows, [{ def: 'CHECK ((price >= 0))' }]);
      const indexes = await client.query(
        `select indexdef from pg_indexes where schemaname = $1 and indexname = 'myapi_item_product_trgm'`,
        [schema],
      );
      assert.match(indexes.rows[0]?.indexdef ?? '', /USING gin \(lower\(\(product\)::text\) (\w+\.)?gin_trgm_ops\)/);
    });
  });

  it('two migrators started at once apply each migration exactly once', async (t) => {
    const schema = await createTestSchema(t);
    const databaseUrl = withSearchPath(TEST_DATABASE_URL, schema);
    const outputs = await Promise.all([runMigrate(databaseUrl), runMigrate(databaseUrl), runMigrate(databaseUrl)]);
    // Whoever got Kysely's advisory lock first applied everything; the others found nothing to do.
    assert.deepEqual(outputs.sort(), ['No migrations to apply.\n', 'No migrations to apply.\n', APPLIED_ALL].sort());
    await withClient(async (client) => {
      const { rows } = await client.query(`select name from ${schema}.kysely_migration order by name`);
      assert.deepEqual(
        rows.map((r) => r.name),
        ['0001_create_item', '0002_product_trigram_index', '0003_product_index', '0004_item_version_idempotency_key'],
      );
    });
  });
});

describe('schema rules on both backends', () => {
  for (const backend of BACKENDS) {
    it(`the table itself refuses a negative price and a 21-character product (${backend.name})`, async (t) => {
      const db = createDb(loadConfig({ DATABASE_URL: await backend.databaseUrl(t) }).database);
      t.after(() => db.destroy());
      await migrateToLatest(db.kysely);
      await assert.rejects(
        createItem(db.kysely, { product: 'Bad', price: -1 }),
        /check constraint|CHECK constraint failed/i,
      );
      if (backend.name === 'postgres') {
        await assert.rejects(createItem(db.kysely, { product: 'x'.repeat(21), price: 1 }), /too long/);
      }
      assert.deepEqual(await db.kysely.selectFrom('myapi_item').selectAll().execute(), []);
    });
  }
});

describe("taking over the replaced Django service's database", () => {
  it("adopts Django 5's PostgreSQL table: old rows served, new ids continue after them", async (t) => {
    const schema = await createTestSchema(t);
    await withClient(async (client) => {
      // What `python manage.py migrate` created (BigAutoField, CharField(20), PositiveIntegerField).
      await client.query(`set search_path = ${schema}`);
      await client.query(`CREATE TABLE "myapi_item" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
        "product" varchar(20) NOT NULL, "price" integer NOT NULL CHECK ("price" >= 0))`);
      await client.query(`CREATE TABLE "django_migrations" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
        "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" timestamp with time zone NOT NULL)`);
      await client.query(
        `INSERT INTO myapi_item (product, price) VALUES ('Apple', 100), ('Banana', 50), ('Cherry', 300)`,
      );
      await client.query(`DELETE FROM myapi_item WHERE id = 3`);
    });
    const databaseUrl = withSearchPath(TEST_DATABASE_URL, schema);
    assert.equal(await runMigrate(databaseUrl), APPLIED_ALL);
    const server = await startServer(t, { DATABASE_URL: databaseUrl, LOG_DIR: scratchDir(t), LOG_LEVEL: 'warn' });
    assert.equal(
      await (await fetch(`${server.baseUrl}/api/items/`)).text(),
      '[{"id":1,"product":"Apple","price":100},{"id":2,"product":"Banana","price":50}]',
    );
    const created = await fetch(`${server.baseUrl}/api/items/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ product: 'Date', price: 20 }),
    });
    assert.equal(
      await created.text(),
      '{"id":4,"product":"Date","price":20}',
      'the identity continues; deleted id 3 is not reused',
    );
    // Migration 0004 gave the old rows version 1: they have an ETag and take conditional writes.
    assert.equal((await fetch(`${server.baseUrl}/api/items/1/`)).headers.get('etag'), '"1"');
    const conditional = await fetch(`${server.baseUrl}/api/items/2/`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'if-match': '"1"' },
      body: JSON.stringify({ price: 55 }),
    });
    assert.deepEqual([conditional.status, conditional.headers.get('etag')], [200, '"2"']);
    const keyed = await fetch(`${server.baseUrl}/api/items/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'adopted' },
      body: JSON.stringify({ product: 'Elderberry', price: 30 }),
    });
    assert.equal(keyed.status, 201);
  });

  it("adopts Django's SQLite db.sqlite3 table the same way", async (t) => {
    const file = path.join(scratchDir(t), 'db.sqlite3');
    const django = new SQLite(file);
    django.exec(`CREATE TABLE "myapi_item" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "product" varchar(20) NOT NULL,
      "price" integer unsigned NOT NULL CHECK ("price" >= 0))`);
    django.exec(`INSERT INTO myapi_item (product, price) VALUES ('Apple', 100), ('Banana', 50), ('Cherry', 300)`);
    django.exec('DELETE FROM myapi_item WHERE id = 3');
    django.close();
    const db = createDb({ client: 'sqlite', filename: file });
    t.after(() => db.destroy());
    await migrateToLatest(db.kysely);
    const created = await createItem(db.kysely, { product: 'Date', price: 20 });
    assert.equal(created.id, 4);
    const rows = await db.kysely.selectFrom('myapi_item').selectAll().orderBy('id').execute();
    assert.deepEqual(
      rows.map((r) => [r.product, r.version]),
      [
        ['Apple', 1],
        ['Banana', 1],
        ['Date', 1],
      ],
      'rows made by Django got version 1 from migration 0004',
    );
  });
});
