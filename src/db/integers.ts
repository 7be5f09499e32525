/**
 * 64-bit integers read exactly from either backend: PostgreSQL `int8` arrives as text, SQLite
 * integers as bigints in better-sqlite3's `safeIntegers` mode; both become a number while safe and
 * a bigint beyond 2^53 - 1, never a rounded number.
 *
 * @module
 */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A 64-bit integer from either backend as the service carries it: a number while it is a safe
 * integer, else a bigint with the exact value, never a rounded number (ids stay
 * exact JSON numbers; fast-json-stringify writes a bigint's digits). For the PostgreSQL `int8`
 * text pg hands over, and for the bigints better-sqlite3's `safeIntegers` mode reads.
 *
 * @example exactInteger('42') === 42; exactInteger('9007199254740993') === 9007199254740993n
 */
export function exactInteger(value: string | bigint): number | bigint {
  if (typeof value === 'bigint') return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : BigInt(value);
}

/** Integers of a row read in `safeIntegers` mode, as {@link exactInteger} carries them. */
export function exactRow(row: unknown): unknown {
  const record = row as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (typeof value === 'bigint') record[key] = exactInteger(value);
  }
  return record;
}
