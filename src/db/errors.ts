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
 * PostgreSQL SQLSTATEs (Appendix A, "PostgreSQL Error Codes") that are transient:
 * class 08 connection exceptions, 53300 too_many_connections, 57014 query_canceled (statement
 * timeout), 57P01–57P03 admin/crash shutdown and cannot_connect_now.
 */
const TRANSIENT_SQLSTATE = /^(08...|53300|57014|57P0[123])$/;

/** SQLite result codes for a lock held too long by another connection. */
const SQLITE_LOCKED = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);

/** pg's own messages for a pool timeout or a dropped connection (they carry no code). */
const PG_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/;

/**
 * Whether `error` means the database is unavailable (down, unreachable, overloaded, timed out),
 * which the API answers with 503 and `/readyz` reports.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (
    typeof code === 'string' &&
    (NETWORK_CODES.has(code) || TRANSIENT_SQLSTATE.test(code) || SQLITE_LOCKED.has(code))
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
