/**
 * Reading a `SELECT` in batches from a database cursor, so a result of any size passes through the
 * process a batch at a time: PostgreSQL through pg-cursor (a named portal read with `Execute` and a
 * row limit, "Extended Query" in the PostgreSQL protocol docs), SQLite through better-sqlite3's
 * `Statement.iterate()` on a connection of its own.
 *
 * @module
 */
import type SQLite from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { exactRow } from './integers.js';

/**
 * An open cursor. It holds a database connection (a pooled pg client, or a SQLite reader) from
 * {@link openPgCursor} / {@link SqliteReaders.openCursor} until {@link RowCursor.close}.
 */
export interface RowCursor<R> {
  /**
   * The next batch: `batchSize` rows, fewer at the end, and `[]` once the result is exhausted.
   * Reads are paced ({@link nextSlice}): however many cursors are open, they hold the event loop for
   * about {@link SLICE_MS} per turn, so a long result never keeps other requests waiting.
   *
   * @throws the driver's error (connection lost, statement timeout, …); close the cursor with it.
   */
  read(): Promise<R[]>;
  /**
   * Ends the query and gives the connection back. Without `error` the connection returns to its
   * pool for reuse (after closing the portal, at most {@link PG_CLOSE_TIMEOUT_MS} ms on PostgreSQL);
   * with `error` it is discarded. Safe to call more than once, and while a read is in flight.
   */
  close(error?: unknown): Promise<void>;
}

/**
 * Time in ms that cursor reads, together with what their callers do with the rows before the
 * next read (serializing, writing to a socket), may take from one event-loop turn before they wait
 * for the next turn. Small against the batch's own cost (1,000 SQLite rows take 1–3 ms to read), so
 * a request that arrives meanwhile waits a few ms, not one batch per open cursor; measured in
 * BENCHMARKS.md ("Big lists").
 */
const SLICE_MS = 2;

/** `performance.now()` when the current slice began, or `undefined` between slices. */
let sliceStart: number | undefined;

/** Whether the current event-loop turn's slice is used up. */
function sliceUsed(): boolean {
  return sliceStart !== undefined && performance.now() - sliceStart >= SLICE_MS;
}

/**
 * Resolves at once while this event-loop turn's slice lasts, else in the first later turn where a
 * slice is free. A slice ends at the next check phase: the `setImmediate` queued when it began
 * runs ahead of the reads that found it used (they queue theirs later), so waiting reads take the
 * following slices in the order they came (Node.js docs, "The Node.js Event Loop": an immediate
 * queued while immediates run waits for the next turn, after its poll phase, where other
 * requests are answered).
 */
async function nextSlice(): Promise<void> {
  while (sliceUsed()) await new Promise((resolve) => setImmediate(resolve));
  if (sliceStart === undefined) {
    sliceStart = performance.now();
    setImmediate(() => (sliceStart = undefined));
  }
}

/** Rows read between two looks at the clock (a row takes 1–3 µs). */
const ROWS_PER_CLOCK_CHECK = 32;

/**
 * Longest wait for PostgreSQL to confirm a portal closed (one round trip normally). Past it the
 * connection is discarded rather than returned: a pooled connection must never wait on a query.
 */
const PG_CLOSE_TIMEOUT_MS = 1000;

/**
 * Opens a cursor on a client checked out of `pool` and sends the query at once (its first batch is
 * requested by the first {@link RowCursor.read}).
 *
 * PostgreSQL's `statement_timeout` runs from a portal's first `Execute` until the portal completes,
 * not per batch, so a long read would be cancelled at the pool's `DB_STATEMENT_TIMEOUT_MS`. With
 * `timeoutMs` the cursor runs in a transaction of its own with `SET LOCAL statement_timeout` to that
 * value instead: one more round trip before and one after, and PgBouncer in transaction mode keeps
 * the same server connection for all of it.
 *
 * Rows go through the client's own type parsers (pg sets them on the cursor's result), as
 * `pool.query` would parse them.
 *
 * Each read that gets no answer within `readBoundMs` closes the connection and fails ("Connection
 * terminated"): the client's own bound, for a read a pooler holds in its queue, where no server-side
 * timeout runs.
 *
 * @throws the pool's error when no connection can be had (e.g. `timeout exceeded when trying to connect`).
 */
export async function openPgCursor<R>(
  pool: pg.Pool,
  query: CompiledQuery<R>,
  batchSize: number,
  timeoutMs: number | undefined,
  readBoundMs: number,
): Promise<RowCursor<R>> {
  const client = await pool.connect();
  if (timeoutMs !== undefined) {
    try {
      await client.query(`begin; set local statement_timeout = ${Math.floor(timeoutMs)}`);
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
  }
  const cursor = client.query(new Cursor<R>(query.sql, [...query.parameters]));
  let closing: Promise<void> | undefined;
  return {
    async read() {
      const timer = setTimeout(() => client.connection.stream.destroy(), readBoundMs);
      let rows: R[];
      try {
        rows = await cursor.read(batchSize);
      } finally {
        clearTimeout(timer);
      }
      // pg parsed the rows as they arrived; what the caller does with them comes out of a slice.
      await nextSlice();
      return rows;
    },
    close(error?: unknown) {
      closing ??= (async () => {
        if (error !== undefined) {
          client.release(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            (async () => {
              await cursor.close();
              if (timeoutMs !== undefined) await client.query('commit');
            })(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('closing the cursor timed out')), PG_CLOSE_TIMEOUT_MS);
            }),
          ]);
          client.release();
        } catch (closeError) {
          client.release(closeError as Error);
        } finally {
          clearTimeout(timer);
        }
      })();
      return closing;
    },
  };
}

/**
 * Idle SQLite reader connections kept open for the next cursor: as many as lists commonly run at
 * once. Cursors share each event-loop turn's slice, so under load every list in flight holds its
 * reader for a turn or more; with 2 kept, 32 clients asking for a short filtered list made nearly
 * every request open (and then close) a connection of its own, and cost 2.7 times the CPU of what
 * they cost with 32 kept (BENCHMARKS.md, "SQLite readers kept for the next list"). A burst beyond
 * this opens more and closes them once done.
 */
const IDLE_READERS = 32;

/** Prepared statements kept per reader connection; lists use a few SQL texts (filters × orderings). */
const READER_STATEMENTS = 64;

/** Each reader connection's statements, by SQL text, prepared once with `safeIntegers`. */
const readerStatements = new WeakMap<SQLite.Database, Map<string, SQLite.Statement<unknown[], unknown>>>();

function readerStatement<R>(connection: SQLite.Database, sql: string): SQLite.Statement<unknown[], R> {
  let statements = readerStatements.get(connection);
  if (!statements) readerStatements.set(connection, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) {
    if (statements.size >= READER_STATEMENTS) statements.clear();
    statement = connection.prepare<unknown[], unknown>(sql).safeIntegers(true);
    statements.set(sql, statement);
  }
  return statement as SQLite.Statement<unknown[], R>;
}

/**
 * SQLite connections that only run cursors. While a statement is being iterated, better-sqlite3
 * refuses every other statement on the same connection ("This database connection is busy
 * executing a query"), so a cursor cannot share the connection that serves the other requests.
 * Each cursor takes a connection of its own; under WAL it reads a consistent snapshot while writers
 * go on (SQLite docs, "Write-Ahead Logging": "readers do not block writers").
 *
 * An in-memory database cannot be opened twice: there the cursor reads the whole result on the
 * main connection and hands it out in batches (the data is in memory already).
 */
export class SqliteReaders {
  readonly #filename: string;
  readonly #open: (filename: string) => SQLite.Database;
  readonly #main: SQLite.Database;
  readonly #idle: SQLite.Database[] = [];
  #closed = false;

  /**
   * @param filename the database file (`:memory:` for the in-memory fallback).
   * @param open opens a connection set up as the main one (pragmas, functions).
   * @param main the main connection, used only for an in-memory database.
   */
  constructor(filename: string, open: (filename: string) => SQLite.Database, main: SQLite.Database) {
    this.#filename = filename;
    this.#open = open;
    this.#main = main;
  }

  /**
   * Opens a cursor over `query`; the statement runs on the first {@link RowCursor.read}. SQLite has
   * no statement timeout to lift: the caller's own limit bounds the read.
   */
  openCursor<R>(query: CompiledQuery<R>, batchSize: number): RowCursor<R> {
    if (this.#closed) throw new Error('the database is closed');
    const inMemory = this.#filename === ':memory:';
    const connection = inMemory ? this.#main : (this.#idle.pop() ?? this.#open(this.#filename));
    let rows: Iterator<R> | undefined;
    let closed = false;
    const finish = (error?: unknown) => {
      if (closed) return;
      closed = true;
      rows?.return?.();
      if (inMemory) return;
      if (error !== undefined || this.#closed || this.#idle.length >= IDLE_READERS) connection.close();
      else this.#idle.push(connection);
    };
    let exhausted = false;
    return {
      read: async () => {
        const batch: R[] = [];
        while (batch.length < batchSize && !exhausted) {
          await nextSlice();
          if (closed) return [];
          if (!rows) {
            // One cursor at a time per reader connection, so its cached statement is never busy.
            const statement = inMemory
              ? connection.prepare<unknown[], R>(query.sql).safeIntegers(true)
              : readerStatement<R>(connection, query.sql);
            rows = inMemory
              ? statement.all(query.parameters as unknown[])[Symbol.iterator]()
              : statement.iterate(query.parameters as unknown[]);
          }
          do {
            const next = rows.next();
            if (next.done) {
              exhausted = true;
              break;
            }
            batch.push(exactRow(next.value) as R);
          } while (batch.length < batchSize && (batch.length % ROWS_PER_CLOCK_CHECK !== 0 || !sliceUsed()));
        }
        return batch;
      },
      close: async (error?: unknown) => finish(error),
    };
  }

  /** Closes the idle readers; readers in use close when their cursor does. */
  close(): void {
    this.#closed = true;
    for (const connection of this.#idle.splice(0)) connection.close();
  }
}
