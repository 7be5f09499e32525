/**
 * Classifies database errors so the HTTP layer can answer 503 for "the database can't be reached
 * right now" and 500 for everything else, without knowing the driver.
 *
 * @module
 */

/** Node socket errors that mean the server is unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * PostgreSQL SQLSTATEs (Appendix A, "PostgreSQL Error Codes") meaning "the database cannot serve
 * this now; the same request may succeed later", by class where the whole class means that:
 *
 * - `08` connection exception, `53` insufficient resources (too many connections, out of memory or
 *   disk), `57` operator intervention (`57014` query_canceled, which a statement timeout raises;
 *   `57P01`–`57P05` admin/crash shutdown, cannot connect now, database dropped, idle session
 *   timeout), `58` system error;
 * - `28` invalid authorization (a password rotated under the running service), `3D` invalid
 *   catalog name (the database is gone or renamed);
 * - `55000` object_not_in_prerequisite_state (a database with `ALLOW_CONNECTIONS false`),
 *   `55P03` lock_not_available (`lock_timeout`), `25006` read_only_sql_transaction (a write that
 *   reached a standby during a failover), `40001` serialization_failure and `40P01`
 *   deadlock_detected (the transaction may simply be run again).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57|58|28|3D)...$|^(55000|55P03|25006|40001|40P01)$/;

/** SQLite result codes for a lock held too long by another connection. */
const SQLITE_LOCKED = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);

/**
 * pg's own messages (they carry no code) for a pool timeout, a dropped connection (also what a
 * query the client gave up on ends with), the readiness probe's `query_timeout`, and
 * db/database.ts's bound on a new connection's first answer.
 */
const PG_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|Query read timeout|no first answer within/;

/**
 * Whether `error` means the database is unavailable (down, unreachable, overloaded, timed out),
 * which the API answers with 503 and `/readyz` reports.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (
    typeof code === 'string' &&
    (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code) || SQLITE_LOCKED.has(code))
  ) {
    return true;
  }
  if (typeof message === 'string' && PG_MESSAGES.test(message)) return true;
  // AggregateError from a dual-stack connect attempt (IPv4 and IPv6 both refused)
  return Array.isArray(errors) && errors.some(isDatabaseUnavailable);
}

/**
 * Whether `error` is a unique or primary-key violation: PostgreSQL SQLSTATE 23505
 * (`unique_violation`), SQLite `SQLITE_CONSTRAINT_PRIMARYKEY` or `SQLITE_CONSTRAINT_UNIQUE`.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * Thrown by `Db.openCursor` on PostgreSQL when the cursors already hold their share of the pool
 * (half of `DB_POOL_MAX`): answered 503 with `Retry-After`, while every other request still finds
 * a connection.
 */
export class CursorsBusy extends Error {
  override name = 'CursorsBusy';
  constructor(readonly share: number) {
    super(`${share} long lists are already being read, the most the connection pool allows at once`);
  }
}
