/**
 * PostgreSQL only: a `pg_trgm` GIN index on `lower(product)`, the exact expression `?search=`
 * filters on (`lower(product) LIKE lower('%term%') ESCAPE '\'`, item.repository.ts), so a substring
 * search over a million rows is an index scan instead of a sequential scan (PostgreSQL docs, F.35
 * "pg_trgm", section "Index Support": GIN `gin_trgm_ops` serves `LIKE` and `ILIKE`).
 *
 * The extension is created if missing (`pg_trgm` is a trusted extension since PostgreSQL 13: the
 * database owner or anyone with `CREATE` on the database may create it). When it already exists,
 * in whatever schema, that schema's operator class is used. On SQLite this migration does nothing.
 *
 * The index is built with a plain `CREATE INDEX`, which blocks writes to `myapi_item` while it
 * builds (seconds for a million rows); see README, "Taking over an existing database".
 */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

/** Name of the index, in Django's `<table>_<column>_<suffix>` style. */
export const TRIGRAM_INDEX = 'myapi_item_product_trgm';

async function trigramSchema(db: Kysely<unknown>): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string }>`
    select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_trgm'`.execute(db);
  return rows[0]?.schema;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  let schema = await trigramSchema(db);
  if (schema === undefined) {
    try {
      await sql`create extension if not exists pg_trgm`.execute(db);
    } catch (error) {
      throw new Error(
        `cannot create the pg_trgm extension (${(error as Error).message}); ` +
          'have the database owner run "CREATE EXTENSION pg_trgm;" once, then migrate again',
        { cause: error },
      );
    }
    schema = (await trigramSchema(db))!;
  }
  await sql`create index if not exists ${sql.id(TRIGRAM_INDEX)}
    on myapi_item using gin (lower(product) ${sql.id(schema)}.gin_trgm_ops)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  // The extension stays: other objects in the database may use it.
  await sql`drop index if exists ${sql.id(TRIGRAM_INDEX)}`.execute(db);
}
