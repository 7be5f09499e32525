/**
 * One migration history for both backends, applied by Kysely's `Migrator`.
 *
 * Migrations are imported statically (not read from a folder at run time), so the same list works
 * from `src/` under tsx and from `dist/` in the image. On PostgreSQL Kysely takes an advisory lock
 * while migrating, so two migrators started at once apply each migration exactly once
 * (test/db/migrate.test.ts). On SQLite Kysely takes no lock: a second process racing on the same
 * file fails on `kysely_migration`'s primary key and changes nothing (run one process per file). Add a migration by writing `NNNN_name.ts` and listing it below.
 *
 * @module
 */
import { Migrator, PostgresAdapter, sql, type Kysely, type Migration, type MigrationResult } from 'kysely';
import * as m0001 from './migrations/0001_create_item.js';
import * as m0002 from './migrations/0002_product_trigram_index.js';
import * as m0003 from './migrations/0003_product_index.js';
import * as m0004 from './migrations/0004_item_version_idempotency_key.js';

/** Every migration, keyed by a name that sorts in the order they apply. */
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_create_item': m0001,
  '0002_product_trigram_index': m0002,
  '0003_product_index': m0003,
  '0004_item_version_idempotency_key': m0004,
});

/**
 * On PostgreSQL, the schema the connection's `search_path` selects (`current_schema()`), where the
 * `kysely_migration` tables belong; `undefined` on SQLite or when no schema of the path exists.
 *
 * Named explicitly because Kysely's `Migrator` without `migrationTableSchema` looks for its tables
 * in every schema of the database (`introspection.getTables()`): a `kysely_migration_lock` in
 * another schema (another service, another test run) made it skip creating its own, and the
 * migration then failed with `relation "kysely_migration_lock" does not exist` (42P01).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see migrateToLatest
async function currentSchema(db: Kysely<any>): Promise<string | undefined> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return undefined;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? undefined;
}

/**
 * Applies every pending migration.
 *
 * @returns the migrations applied by this call (empty when the schema was already current).
 * @throws the first migration's error; migrations before it stay applied.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run before (and beyond) the typed schema
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResult[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableSchema: await currentSchema(db),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return results ?? [];
}
