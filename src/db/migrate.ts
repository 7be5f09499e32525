/**
 * One migration history for both backends, applied by Kysely's `Migrator`.
 *
 * Migrations are imported statically (not read from a folder at run time), so the same list works
 * from `src/` under tsx and from `dist/` in the image. Add a migration by writing `NNNN_name.ts` and
 * listing it below.
 *
 * On PostgreSQL the whole run is one transaction that first takes a transaction-scoped advisory
 * lock (`pg_advisory_xact_lock`), instead of Kysely's session-level `pg_advisory_lock` /
 * `pg_advisory_unlock` pair. A session lock taken through a transaction pooler (PgBouncer in
 * transaction mode, RDS Proxy) lands on whatever server connection the pooler picks for that
 * statement, and the unlock on another one: the lock stays held by an idle pooled connection, and
 * every later migrator waits for it forever. A transaction-scoped lock is held by the connection
 * running the transaction, which a pooler keeps for the transaction, and PostgreSQL releases it at
 * commit or rollback, whatever happens to the client. RDS Proxy does not pin a session for
 * `pg_advisory_xact_lock` (AWS, "Avoiding pinning an RDS Proxy"). Several migrators at once thus
 * apply each migration once (test/db/migrate.test.ts), and a failed run changes nothing.
 *
 * On SQLite Kysely takes no lock: a second process racing on the same file fails on
 * `kysely_migration`'s primary key and changes nothing (run one process per file).
 *
 * @module
 */
import {
  Kysely,
  Migrator,
  PostgresAdapter,
  PostgresQueryCompiler,
  sql,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type TableMetadata,
  type Migration,
  type MigrationResult,
} from 'kysely';
import type { DatabaseConfig } from '../config.js';
import type { Database } from './database.js';
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

/** What a PostgreSQL migration run needs beyond the connection. */
export interface MigrateOptions {
  /**
   * Longest wait for a lock, in ms (`MIGRATION_LOCK_TIMEOUT_MS`): the migration lock while another
   * migrator holds it, and any table lock a migration needs. Default 60,000.
   */
  lockTimeoutMs?: number;
  /**
   * When given, the `statement_timeout` (ms) written as the default of the connecting role in this
   * database (`DB_STATEMENT_TIMEOUT_MS`; see {@link writeRoleStatementTimeout}).
   */
  roleStatementTimeoutMs?: number;
}

/** A migration lock that outlasted `MIGRATION_LOCK_TIMEOUT_MS`; its message is one line. */
class MigrationLockTimeoutError extends Error {
  override name = 'MigrationLockTimeoutError';
}

/**
 * First half of the migration lock's key (`pg_advisory_xact_lock(int, int)`); the second is
 * `hashtext(current_schema())`, so migrators of different schemas (other services, parallel test
 * runs) never wait on each other.
 */
export const MIGRATION_LOCK_CLASS = 0x6974656d; // "item"

/**
 * Kysely's PostgreSQL adapter without its session-level migration lock: the run holds a
 * transaction-scoped one already (see the module comment).
 */
class LockedByTransactionAdapter extends PostgresAdapter {
  override async acquireMigrationLock(): Promise<void> {}
  override async releaseMigrationLock(): Promise<void> {}
}

/**
 * What the `Migrator` asks about tables (whether its own exist), answered from the current schema
 * alone. Kysely's `PostgresIntrospector` reads every schema's tables and columns, and that query
 * fails with 3F000 (invalid_schema_name) when another schema is dropped while it runs (another
 * service's, a finished test's); columns are left empty, as the `Migrator` reads only names.
 */
class CurrentSchemaIntrospector implements DatabaseIntrospector {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see migrateToLatest
  constructor(private readonly db: Kysely<any>) {}

  async getSchemas() {
    const { rows } = await sql<{ name: string }>`select current_schema() as name`.execute(this.db);
    return rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string; view: boolean }>`
      select c.relname as name, n.nspname as schema, c.relkind in ('v', 'm') as view
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v', 'm')`.execute(this.db);
    return rows.map(({ name, schema, view }) => ({ name, schema, isView: view, columns: [] }));
  }

  async getMetadata() {
    return { tables: await this.getTables() };
  }
}

/**
 * A Kysely dialect over one connection that is already inside the migration's transaction, so every
 * query of the `Migrator` (its table checks included) runs in that transaction, after the lock.
 */
function inTransaction(connection: DatabaseConnection): Dialect {
  return {
    createDriver: () => ({
      init: async () => {},
      acquireConnection: async () => connection,
      beginTransaction: async () => {},
      commitTransaction: async () => {},
      rollbackTransaction: async () => {},
      releaseConnection: async () => {},
      destroy: async () => {},
    }),
    createAdapter: () => new LockedByTransactionAdapter(),
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createIntrospector: (db) => new CurrentSchemaIntrospector(db),
  };
}

/** Runs `migrator` to the latest migration. @throws the first migration's error. */
async function runMigrator(migrator: Migrator): Promise<MigrationResult[]> {
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return results ?? [];
}

/**
 * Makes `statement_timeout` the default of the connecting role in the current database
 * (`ALTER ROLE CURRENT_USER IN DATABASE … SET`), unless it already is. PostgreSQL applies it to every
 * session that role opens from then on, directly or through any pooler, with nothing sent per
 * session: no startup parameter (PgBouncer refuses unknown ones) and no `SET` (which pins an RDS
 * Proxy session). An ordinary role may set its own defaults (PostgreSQL docs, ALTER ROLE).
 * Sessions already open keep the value they started with.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see migrateToLatest
async function writeRoleStatementTimeout(db: Kysely<any>, ms: number, lockTimeoutMs: number): Promise<void> {
  const setting = `statement_timeout=${Math.floor(ms)}`;
  // Its own short transaction, after a lock per role: two writers of the same role's settings at
  // once would otherwise fail with "tuple concurrently updated".
  await db.transaction().execute(async (trx) => {
    await sql`select set_config('lock_timeout', ${String(lockTimeoutMs)}, true),
      pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_CLASS)}, hashtext('role ' || current_user))`.execute(trx);
    const { rows } = await sql<{ current: boolean }>`
    select exists (
      select from pg_db_role_setting s
      where s.setrole = (select oid from pg_roles where rolname = current_user)
        and s.setdatabase = (select oid from pg_database where datname = current_database())
        and ${setting} = any (s.setconfig)) as current`.execute(trx);
    if (rows[0]?.current) return;
    await sql`do $$ begin
    execute format('alter role %I in database %I set statement_timeout = %s',
      current_user, current_database(), ${sql.lit(Math.floor(ms))});
  end $$`.execute(trx);
  });
}

/** SQLSTATE 55P03 lock_not_available: `lock_timeout` expired. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Applies every pending migration.
 *
 * On PostgreSQL: one transaction on one connection of `db`'s pool; `lock_timeout` and a
 * `statement_timeout` of 0 (an index over millions of rows may take minutes) are `SET LOCAL`, so
 * they end with it. The role's statement timeout is written after, in a short transaction of its own.
 *
 * @returns the migrations applied by this call (empty when the schema was already current).
 * @throws {MigrationLockTimeoutError} when a lock was not had within `lockTimeoutMs`; the
 *   migration's own error otherwise. Either way, on PostgreSQL nothing of the run is kept.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run before (and beyond) the typed schema
export async function migrateToLatest(db: Kysely<any>, options: MigrateOptions = {}): Promise<MigrationResult[]> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) {
    return runMigrator(new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } }));
  }
  const lockTimeoutMs = Math.floor(options.lockTimeoutMs ?? 60_000);
  const results = await db.transaction().execute(async (trx) => {
    await sql`select set_config('lock_timeout', ${String(lockTimeoutMs)}, true),
        set_config('statement_timeout', '0', true)`.execute(trx);
    try {
      await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_CLASS)}, hashtext(current_schema()))`.execute(
        trx,
      );
    } catch (error) {
      if ((error as { code?: unknown }).code === LOCK_NOT_AVAILABLE) {
        throw new MigrationLockTimeoutError(
          `another migrator held the migration lock for over ${lockTimeoutMs} ms (MIGRATION_LOCK_TIMEOUT_MS); nothing was changed`,
          { cause: error },
        );
      }
      throw error;
    }
    const connection = await trx.getExecutor().provideConnection(async (c) => c);
    return runMigrator(
      new Migrator({
        db: new Kysely({ dialect: inTransaction(connection) }),
        provider: { getMigrations: async () => ({ ...migrations }) },
        migrationTableSchema: await currentSchema(trx),
        disableTransactions: true,
      }),
    );
  });
  if (options.roleStatementTimeoutMs !== undefined) {
    await writeRoleStatementTimeout(db, options.roleStatementTimeoutMs, lockTimeoutMs);
  }
  return results;
}

/**
 * The migration step of `npm run migrate` and of start-up: {@link migrateToLatest} on `db` (opened
 * on `MIGRATION_DATABASE_URL`) with `MIGRATION_LOCK_TIMEOUT_MS`, writing `DB_STATEMENT_TIMEOUT_MS`
 * as the role's statement timeout.
 *
 * @throws as {@link migrateToLatest}.
 */
export function migrateWithConfig(
  db: { kysely: Kysely<Database> },
  config: {
    database: DatabaseConfig;
    migrationLockTimeoutMs: number;
  },
): Promise<MigrationResult[]> {
  return migrateToLatest(db.kysely, {
    lockTimeoutMs: config.migrationLockTimeoutMs,
    roleStatementTimeoutMs: config.database.client === 'postgres' ? config.database.statementTimeoutMs : undefined,
  });
}
