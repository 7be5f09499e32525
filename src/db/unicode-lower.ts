/**
 * A Unicode `lower()` for SQLite that folds case as PostgreSQL's `lower()` does, so `?search=`
 * matches the same rows on both backends.
 *
 * SQLite's built-in `lower()` folds only ASCII (SQLite docs, "Built-in Scalar SQL Functions":
 * "lower(X) ... works for ASCII characters only"), while PostgreSQL's, under a UTF-8 libc locale
 * such as `C.UTF-8` or `en_US.UTF-8`, maps every code point through `towlower()`: Unicode's simple
 * lowercase mapping (UnicodeData.txt field 13), one code point to one code point.
 *
 * @module
 */
import type SQLite from 'better-sqlite3';

/**
 * Lowercases `text` one code point at a time with Unicode's simple mapping. JavaScript's
 * `toLowerCase()` applies the full mapping, which differs only for U+0130 (`İ` → `i` + U+0307) and
 * the context-dependent final sigma; taking the first code point of each character's own lowercase
 * gives the simple mapping (`İ` → `i`, `Σ` → `σ`), as PostgreSQL returns.
 *
 * @example unicodeLower('ÄPFEL İ') // 'äpfel i'
 */
export function unicodeLower(text: string): string {
  let out = '';
  for (const ch of text) out += String.fromCodePoint(ch.toLowerCase().codePointAt(0)!);
  return out;
}

/**
 * Replaces SQLite's ASCII-only `lower(X)` on `database` with {@link unicodeLower}. The function is
 * deterministic (usable in indexes and constant-folded) and returns NULL for NULL; non-text values
 * are converted as SQLite's own `lower()` converts them (to their text form).
 */
export function registerUnicodeLower(database: SQLite.Database): void {
  database.function('lower', { deterministic: true }, (value: unknown) =>
    value === null || value === undefined ? null : unicodeLower(typeof value === 'string' ? value : String(value)),
  );
}
