/**
 * Creates `myapi_item` as the replaced Django service's migration `myapi/0001_initial` did:
 * `id` bigint identity (Django `BigAutoField`), `product varchar(20)`, `price integer CHECK (price >= 0)`
 * (Django `PositiveIntegerField`). `IF NOT EXISTS` lets it adopt that service's existing table.
 *
 * On SQLite the id is `INTEGER PRIMARY KEY AUTOINCREMENT`, so a deleted id is never handed out again
 * (the DRF service's behaviour, checked by the conformance cases).
 */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const onPostgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('myapi_item')
    .ifNotExists()
    .addColumn('id', onPostgres ? 'bigint' : 'integer', (col) =>
      onPostgres ? col.primaryKey().generatedByDefaultAsIdentity() : col.primaryKey().autoIncrement(),
    )
    .addColumn('product', 'varchar(20)', (col) => col.notNull())
    .addColumn('price', 'integer', (col) => col.notNull().check(sql`price >= 0`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('myapi_item').ifExists().execute();
}
