/**
 * What conditional writes and retried creates need, on both backends:
 *
 * - `myapi_item.version`, a row version starting at 1 that every update of the service raises by one:
 *   the item's strong `ETag` (RFC 9110 §8.8.3), compared in the `UPDATE`/`DELETE` itself
 *   (`… WHERE id = $1 AND version = $2`). Added with a constant default, so a table taken over from
 *   the replaced Django service (which has no such column) gets `version = 1` on every existing row,
 *   without a table rewrite on PostgreSQL 11+ (`ALTER TABLE … ADD COLUMN … DEFAULT` stores the default
 *   in the catalogue) and as a plain `ADD COLUMN` on SQLite. A re-run finds the column and skips it.
 * - `idempotency_key`: the first answer to a create sent with an `Idempotency-Key` header
 *   (draft-ietf-httpapi-idempotency-key-header-09), written in the same transaction as the item,
 *   with the request's fingerprint and its creation time in milliseconds since the Unix epoch;
 *   `created_at` is indexed for the purge of expired keys. On SQLite the table is `WITHOUT ROWID`
 *   (https://sqlite.org/withoutrowid.html): the rows live in the primary key's B-tree, so a keyed
 *   create writes one page less than with a rowid table and a separate index on `key`.
 */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

/** Name of the key table. */
export const IDEMPOTENCY_KEY_TABLE = 'idempotency_key';

/** Index serving the purge (`created_at < cutoff`), in Django's `<table>_<column>_<suffix>` style. */
export const CREATED_AT_INDEX = 'idempotency_key_created_at_idx';

/**
 * Whether `myapi_item` already has `version`. Asked of the catalogue directly: Kysely's introspection
 * lists the tables of every PostgreSQL schema, not only the one the connection's `search_path` selects.
 */
async function hasVersionColumn(db: Kysely<unknown>): Promise<boolean> {
  const { rows } =
    db.getExecutor().adapter instanceof PostgresAdapter
      ? await sql`select 1 from information_schema.columns
          where table_schema = current_schema() and table_name = 'myapi_item' and column_name = 'version'`.execute(db)
      : await sql`select 1 from pragma_table_info('myapi_item') where name = 'version'`.execute(db);
  return rows.length > 0;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const onPostgres = db.getExecutor().adapter instanceof PostgresAdapter;
  if (!(await hasVersionColumn(db))) {
    await db.schema
      .alterTable('myapi_item')
      .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
      .execute();
  }
  await db.schema
    .createTable(IDEMPOTENCY_KEY_TABLE)
    .ifNotExists()
    .addColumn('key', 'varchar(255)', (col) => col.primaryKey())
    .addColumn('fingerprint', 'varchar(64)', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('status', 'smallint', (col) => col.notNull())
    .addColumn('body', 'text', (col) => col.notNull())
    .$call((table) => (onPostgres ? table : table.modifyEnd(sql`without rowid`)))
    .execute();
  await sql`create index if not exists ${sql.id(CREATED_AT_INDEX)} on ${sql.id(IDEMPOTENCY_KEY_TABLE)} (created_at)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable(IDEMPOTENCY_KEY_TABLE).ifExists().execute();
  if (await hasVersionColumn(db)) await db.schema.alterTable('myapi_item').dropColumn('version').execute();
}
