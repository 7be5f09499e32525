/**
 * The database handle: a Kysely instance over SQLite (better-sqlite3) or PostgreSQL (pg.Pool).
 *
 * The table is `myapi_item`, the name Django gave the replaced service's `myapi.Item` model, so an
 * existing database can be taken over (see README, "Taking over an existing database").
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type CompiledQuery,
  type Generated,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import { openPgCursor, SqliteReaders, type RowCursor } from './cursor.js';
import { CursorsBusy } from './errors.js';
import { exactInteger, exactRow } from './integers.js';
import { registerUnicodeLower } from './unicode-lower.js';

export { exactInteger };

/**
 * Row of `myapi_item`. `id` is a PostgreSQL `bigint` identity / SQLite `INTEGER PRIMARY KEY
 * AUTOINCREMENT`, read as {@link exactInteger} does: a bigint beyond 2^53 - 1.
 */
interface ItemTable {
  id: Generated<number | bigint>;
  /** `varchar(20)`: 1 to 20 code points, trimmed. */
  product: string;
  /** `integer` with `CHECK (price >= 0)`. */
  price: number;
  /** Row version: 1 on insert, raised by one on every update; the item's `ETag` (migration 0004). */
  version: Generated<number>;
}

/**
 * Row of `idempotency_key`: the first answer to a request sent with an `Idempotency-Key`
 * (draft-ietf-httpapi-idempotency-key-header-09), stored with the change it answered.
 */
interface IdempotencyKeyTable {
  /** The header's value: 1 to 255 printable ASCII characters. */
  key: string;
  /** Digest of what the request asked for; the same key with another fingerprint is refused (422). */
  fingerprint: string;
  /** When the answer was stored, in milliseconds since the Unix epoch (`bigint`). */
  created_at: number;
  /** The answer's HTTP status. */
  status: number;
  /** The answer's body, as JSON text. */
  body: string;
}

/** Every table the service owns, for Kysely's typing. */
export interface Database {
  myapi_item: ItemTable;
  idempotency_key: IdempotencyKeyTable;
}

/** A Kysely handle plus what the service needs to know about where it points. */
export interface Db {
  readonly kysely: Kysely<Database>;
  readonly client: DatabaseConfig['client'];
  /**
   * Runs a `SELECT` behind a cursor and reads it `batchSize` rows at a time (see db/cursor.ts): on
   * PostgreSQL it holds a pooled connection, on SQLite a reader connection of its own, until closed.
   * `timeoutMs` replaces PostgreSQL's `statement_timeout` for this read, which otherwise bounds the
   * whole read, however slowly its batches are taken.
   *
   * @throws the pool's error when no connection can be had.
   */
  openCursor<R>(query: CompiledQuery<R>, batchSize: number, timeoutMs?: number): Promise<RowCursor<R>>;
  /**
   * Runs `select 1` on a connection of its own, never one of the pool's, so a readiness check does
   * not queue behind requests: on PostgreSQL one extra connection per process, opened at the first
   * call and again after a failure. Answers or fails within `timeoutMs` (connection included).
   *
   * @throws the driver's error, or an `Error` with code `ETIMEDOUT` after `timeoutMs`.
   */
  probe(timeoutMs: number): Promise<void>;
  /** Pool gauges for `/metrics`; zeros on SQLite (one connection, always open). */
  poolStats(): { total: number; idle: number; waiting: number };
  /** Closes the pool or file. Safe to call twice. */
  destroy(): Promise<void>;
}

/**
 * The driver's own handle behind a Kysely instance made by {@link createDb}: better-sqlite3's
 * `Database`, or the `pg.Pool`. For the few hot statements that gain from what Kysely does not offer:
 * a synchronous better-sqlite3 transaction of prepared statements, a named (server-side prepared)
 * PostgreSQL statement.
 */
export type DriverHandle = { client: 'sqlite'; database: SQLite.Database } | { client: 'postgres'; pool: pg.Pool };

const driverHandles = new WeakMap<Kysely<Database>, DriverHandle>();

/**
 * The {@link DriverHandle} of `kysely`.
 *
 * @throws {Error} when `kysely` was not made by {@link createDb} (a transaction's handle, for one).
 */
export function driverHandleOf(kysely: Kysely<Database>): DriverHandle {
  const handle = driverHandles.get(kysely);
  if (!handle) throw new Error('driverHandleOf: this Kysely instance was not made by createDb');
  return handle;
}

/** Pools found to sit behind a pooler that does not carry named statements. */
const withoutNamedStatements = new WeakSet<pg.Pool>();

/**
 * SQLSTATEs of a named statement that the server connection lacks (26000 invalid_sql_statement_name)
 * or already has (42P05 duplicate_prepared_statement): a transaction pooler (PgBouncer before 1.21)
 * handed pg's connection another server connection than the one it prepared on. Both fail at
 * Parse/Bind, before anything ran.
 */
const NAMED_STATEMENT_LOST = new Set(['26000', '42P05']);

/**
 * Runs `statement` as a named (server-side prepared) statement, parsed and planned once per
 * connection. When a transaction pooler in between shows it cannot carry named statements, runs it
 * again unnamed, and every later call on `pool` unnamed.
 *
 * Not an `async` function: it runs for every hot read, and each async layer costs a promise and
 * microtask turns (BENCHMARKS.md, "Round of 2026-12-05").
 *
 * @throws (rejects with) the driver's error.
 */
export function queryNamed<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  statement: { name: string; text: string },
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  if (withoutNamedStatements.has(pool)) return pool.query<R>({ text: statement.text, values });
  return pool.query<R>({ name: statement.name, text: statement.text, values }).catch((error: unknown) => {
    if (!NAMED_STATEMENT_LOST.has((error as { code?: string }).code ?? '')) throw error;
    withoutNamedStatements.add(pool);
    return pool.query<R>({ text: statement.text, values });
  });
}

/** OID of PostgreSQL `int8`/`bigint` (`pg_type.oid`), which pg returns as a string by default. */
const INT8_OID = 20;

/** How much longer than `statement_timeout` the client waits for a query's answer before it gives up. */
const QUERY_TIMEOUT_MARGIN_MS = 1000;

/** Type parsers of every PostgreSQL connection: `bigint` read exactly ({@link exactInteger}). */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? exactInteger : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Rejects with an `ETIMEDOUT` error after `ms`, unless `work` settles first. */
async function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(message), { code: 'ETIMEDOUT' })), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What {@link PoolClient} reads from the pool's options beside pg's own. */
interface PoolClientConfig extends pg.ClientConfig {
  /** Longest wait (ms) for a query's answer before the connection is closed; 0 for none. */
  queryBoundMs?: number;
}

/**
 * A pg client that notes when it was made (the pool makes one when a checkout finds no idle client),
 * and gives up on a query with no answer after `queryBoundMs`: it closes the connection, so the
 * query fails ("Connection terminated", a 503) and pg-pool drops the client rather than reuse a
 * connection whose server may still be running the query. Cursors (submittables) are left alone:
 * their reads are bounded by `LIST_STREAM_TIMEOUT_MS` (db/cursor.ts). pg's own `query_timeout` is not
 * used because it also arms on cursors and is never disarmed there (pg-cursor has no callback).
 */
class PoolClient extends pg.Client {
  readonly createdAt = performance.now();
  readonly #boundMs: number;

  constructor(config: PoolClientConfig = {}) {
    super(config);
    this.#boundMs = config.queryBoundMs ?? 0;
  }

  /** Closes the connection of a query that outlived the bound; one function for every query. */
  readonly #late = () => this.connection.stream.destroy();

  // pg's overloads (promise, callback, submittable) are passed through, with a timer around the first
  // two. Three named parameters, not a rest array: this runs for every query.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(config: any, values?: any, callback?: any): any {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const query = super.query as (...args: any[]) => any;
    if (this.#boundMs === 0 || typeof config?.submit === 'function') return query.call(this, config, values, callback);
    const timer = setTimeout(this.#late, this.#boundMs);
    if (typeof values === 'function' || typeof callback === 'function') {
      const done = (typeof values === 'function' ? values : callback) as (error: unknown, result: unknown) => void;
      const finish = (error: unknown, result: unknown) => {
        clearTimeout(timer);
        done(error, result);
      };
      return typeof values === 'function' ? query.call(this, config, finish) : query.call(this, config, values, finish);
    }
    const result = query.call(this, config, values) as Promise<unknown>;
    result.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    return result;
  }
}

/**
 * The pool's `onConnect` hook: a new connection counts as had only once it answered a query, within
 * `DB_CONNECTION_TIMEOUT_MS` of the checkout that made it. Behind PgBouncer in session mode (or
 * RDS Proxy) the login to the pooler succeeds at once while the session waits in the pooler's queue
 * for a server connection, so the TCP connect and login alone do not bound the wait.
 *
 * @throws an error whose message says `no first answer within …` (classified as unavailable).
 */
function firstAnswerWithin(timeoutMs: number) {
  return async (client: pg.ClientBase): Promise<void> => {
    const left = timeoutMs - (performance.now() - (client as PoolClient).createdAt);
    try {
      await within(client.query('select 1'), Math.max(1, left), `no first answer within ${timeoutMs} ms`);
    } catch (error) {
      (client as PoolClient).connection.stream.destroy();
      throw error;
    }
  };
}

/**
 * `select 1` on one long-lived client of its own (see {@link Db.probe}); a failed or late probe
 * closes it, and the next probe connects afresh.
 */
function pgProbe(connectionString: string, queryTimeoutMs: number) {
  let client: pg.Client | undefined;
  let connected: Promise<void> | undefined;
  const drop = () => {
    const stale = client;
    client = undefined;
    connected = undefined;
    void stale?.end().catch(() => {});
  };
  return {
    async probe(timeoutMs: number): Promise<void> {
      if (!client) {
        client = new pg.Client({
          connectionString,
          connectionTimeoutMillis: timeoutMs,
          query_timeout: queryTimeoutMs,
          application_name: 'itemstore readiness',
          types: TYPES,
        });
        client.on('error', drop);
        connected = client.connect().then(() => undefined);
      }
      const current = client;
      try {
        await within(
          connected!.then(() => current.query('select 1')),
          timeoutMs,
          `database did not answer within ${timeoutMs} ms`,
        );
      } catch (error) {
        if (client === current) drop();
        throw error;
      }
    },
    /** Ends the connection; one that does not end within a second has its socket closed. */
    close: async () => {
      const last = client;
      client = undefined;
      if (!last) return;
      await within(last.end(), 1000, 'probe connection did not end').catch(() => last.connection.stream.destroy());
    },
  };
}

function openSqlite(filename: string): SQLite.Database {
  if (filename !== ':memory:') fs.mkdirSync(path.dirname(filename), { recursive: true });
  // busy_timeout: wait for another process's lock instead of failing with SQLITE_BUSY.
  const database = new SQLite(filename, { timeout: 5000 });
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  // ?search= compares lower(product): fold Unicode as PostgreSQL does, not ASCII only.
  registerUnicodeLower(database);
  return database;
}

/** Most prepared statements kept per SQLite connection; the service issues a few dozen distinct SQL texts. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * A statement that reads integers exactly: better-sqlite3 returns every INTEGER as a rounded
 * number unless `safeIntegers` is on, which makes them all bigints; rows then go through
 * {@link exactRow}.
 */
function exactStatement(statement: SQLite.Statement): SqliteStatement {
  if (!statement.reader) return statement;
  statement.safeIntegers(true);
  return {
    reader: true,
    all: (parameters) => statement.all(parameters).map(exactRow),
    run: (parameters) => statement.run(parameters),
    *iterate(parameters) {
      for (const row of statement.iterate(parameters)) yield exactRow(row);
    },
  };
}

/**
 * better-sqlite3 seen through Kysely's `SqliteDatabase` interface, with each SQL text prepared
 * once: Kysely's driver calls `prepare()` for every query, a cost an A/B run shows above the
 * noise (BENCHMARKS.md). Safe because Kysely runs one query at a time on the connection and
 * nothing iterates a statement on it (cursors use connections of their own, db/cursor.ts). Reads
 * return integers beyond 2^53 - 1 as exact bigints ({@link exactInteger}).
 */
function withStatementCache(database: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => database.close(),
    prepare(sql) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
        statement = exactStatement(database.prepare(sql));
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * Opens the database described by `config`. Nothing is queried until first use, except that the
 * SQLite file (and its folder) is created at once.
 *
 * @example
 * const db = createDb({ client: 'sqlite', filename: 'data/db.sqlite3' });
 * await db.kysely.selectFrom('myapi_item').selectAll().execute();
 * await db.destroy();
 */
export function createDb(config: DatabaseConfig): Db {
  if (config.client === 'sqlite') {
    const database = openSqlite(config.filename);
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
    const readers = new SqliteReaders(config.filename, openSqlite, database);
    driverHandles.set(kysely, { client: 'sqlite', database });
    let destroyed = false;
    return {
      kysely,
      client: 'sqlite',
      openCursor: async (query, batchSize) => readers.openCursor(query, batchSize),
      probe: async () => {
        database.prepare('select 1').get();
      },
      poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
      async destroy() {
        if (destroyed) return;
        destroyed = true;
        readers.close();
        await kysely.destroy();
      },
    };
  }
  // No `statement_timeout` here: pg would send it as a startup parameter, which PgBouncer refuses
  // ("unsupported startup parameter") and RDS Proxy pins the session for. The server applies the
  // role's default instead (db/migrate.ts); `queryBoundMs` is the client's own bound on top.
  const queryTimeoutMs = config.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS;
  const poolConfig: pg.PoolConfig & PoolClientConfig = {
    Client: PoolClient,
    connectionString: config.connectionString,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectionTimeoutMs,
    queryBoundMs: queryTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'itemstore',
    types: TYPES,
    onConnect: firstAnswerWithin(config.connectionTimeoutMs),
  };
  const pool = new pg.Pool(poolConfig);
  const prober = pgProbe(config.connectionString, queryTimeoutMs);
  // An idle client losing its server (restart, failover) emits 'error' on the pool; without a
  // listener that would crash the process. The next query opens a fresh connection.
  pool.on('error', () => {});
  // A client checked out for a query has no pool listener (pg-pool removes its idle listener on
  // checkout), and pg emits 'error' on it when its connection drops mid-query: unhandled, that
  // would crash the process. The query itself still rejects with the
  // error (→ 503), and pg-pool discards the dead client when it is released.
  pool.on('connect', (client) => client.on('error', () => {}));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  driverHandles.set(kysely, { client: 'postgres', pool });
  let destroyed = false;
  // A cursor holds its pooled connection for as long as its client takes to read the list; slow
  // readers of long lists may hold at most half the pool, so that they cannot starve the rest.
  const cursorShare = Math.max(1, Math.floor(config.poolMax / 2));
  let openCursors = 0;
  return {
    kysely,
    client: 'postgres',
    async openCursor<R>(query: CompiledQuery<R>, batchSize: number, timeoutMs?: number): Promise<RowCursor<R>> {
      if (openCursors >= cursorShare) throw new CursorsBusy(cursorShare);
      openCursors++;
      let cursor: RowCursor<R>;
      try {
        cursor = await openPgCursor(
          pool,
          query,
          batchSize,
          timeoutMs,
          (timeoutMs ?? config.statementTimeoutMs) + QUERY_TIMEOUT_MARGIN_MS,
        );
      } catch (error) {
        openCursors--;
        throw error;
      }
      let closed = false;
      return {
        read: () => cursor.read(),
        async close(error?: unknown) {
          try {
            await cursor.close(error);
          } finally {
            if (!closed) openCursors--;
            closed = true;
          }
        },
      };
    },
    probe: (timeoutMs) => prober.probe(timeoutMs),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await prober.close();
      await kysely.destroy();
    },
  };
}
