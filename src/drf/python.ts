/**
 * Python's `int(str)` rules, which the DRF service applied to prices (`IntegerField`) and to ids in
 * URLs (Django's `BigAutoField.get_prep_value`): surrounding Unicode whitespace is ignored, one
 * optional sign, any Unicode decimal digits (`"１２３"` is 123), single underscores between digits
 * (`"1_000"`). Anything else is not an integer.
 *
 * @module
 */

/** Python's `str.isspace()` set (differs from JS `\s`: adds U+001C–U+001F and U+0085, drops U+FEFF). */
const PYTHON_WHITESPACE =
  '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const INT_PATTERN = new RegExp(`^[${PYTHON_WHITESPACE}]*([+-]?)(\\p{Nd}+(?:_\\p{Nd}+)*)[${PYTHON_WHITESPACE}]*$`, 'u');

/** One character of {@link PYTHON_WHITESPACE}; every one of them is a single UTF-16 code unit. */
const WHITESPACE_CHAR = new RegExp(`[${PYTHON_WHITESPACE}]`);

/**
 * Strips Python whitespace from both ends, as `str.strip()` does. A scan from each end, in time
 * linear in the whitespace found: a regular expression `[…]+$` is tried again from every position,
 * quadratic in a run of inner whitespace (a 100 KB product of spaces held the event loop 19 s).
 */
export function pythonStrip(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && WHITESPACE_CHAR.test(value[start]!)) start++;
  while (end > start && WHITESPACE_CHAR.test(value[end - 1]!)) end--;
  return value.slice(start, end);
}

let digitZeros: Map<number, number> | undefined;

/**
 * Unicode `Nd` digits come in runs of ten starting at zero (UnicodeData.txt), so a digit's value is
 * its distance from the start of its run, modulo 10. The table (all runs lie below U+20000) is
 * built on the first non-ASCII digit.
 */
function nonAsciiDigitValue(cp: number): number {
  digitZeros ??= buildDigitZeros();
  return (cp - (digitZeros.get(cp) ?? cp)) % 10;
}

function buildDigitZeros(): Map<number, number> {
  const zeros = new Map<number, number>();
  const nd = /\p{Nd}/u;
  let runStart = -1;
  for (let cp = 0; cp < 0x20000; cp++) {
    if (nd.test(String.fromCodePoint(cp))) {
      if (runStart < 0) runStart = cp;
      zeros.set(cp, runStart);
    } else {
      runStart = -1;
    }
  }
  return zeros;
}

/**
 * Python's `sys.int_info.default_max_str_digits` (3.11, and the 3.10.7 / 3.9.14 security releases):
 * `int()` of a longer digit string raises `ValueError`. Converting one would also take time
 * quadratic in its length.
 */
export const MAX_INT_DIGITS = 4300;

/**
 * Parses `text` as Python's `int()` would, as a BigInt (so no digit string is rounded).
 *
 * @returns the value, or `undefined` when Python would raise `ValueError` (also for more than
 *   {@link MAX_INT_DIGITS} digits).
 * @example parsePythonInt(' +1_000 ') === 1000n; parsePythonInt('0x10') === undefined
 */
export function parsePythonInt(text: string): bigint | undefined {
  const match = INT_PATTERN.exec(text);
  if (!match) return undefined;
  let ascii = '';
  for (const ch of match[2]!) {
    if (ch === '_') continue;
    const cp = ch.codePointAt(0)!;
    ascii += cp >= 0x30 && cp <= 0x39 ? ch : String(nonAsciiDigitValue(cp));
  }
  if (ascii.length > MAX_INT_DIGITS) return undefined;
  const value = BigInt(ascii);
  return match[1] === '-' ? -value : value;
}

/**
 * Python's `repr()`/`str()` of a float (`float_repr_style` "short", CPython `Python/pystrtod.c`):
 * the shortest digits that read back as the same double (as JavaScript picks them), in fixed
 * notation with at least one fractional digit when the decimal point falls within 16 digits of the
 * first one, else `d.ddde±XX`.
 *
 * @example pythonFloatStr(1) === '1.0'; pythonFloatStr(1e16) === '1e+16'; pythonFloatStr(1e-7) === '1e-07'
 */
function pythonFloatStr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  // toExponential() with no argument gives the shortest round-tripping digits (ECMA-262 Number::toExponential).
  const [mantissa = '', exponentText = ''] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  const point = exponent + 1; // digits before the decimal point
  if (point <= -4 || point > 16) {
    const lead = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${lead}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * Python's `str()` of the number `json.loads` makes of a JSON number literal: an `int` (exact, any
 * size) without fraction or exponent, else a `float` (see {@link pythonFloatStr}; `1e400` is `inf`).
 *
 * @param source a JSON number literal, e.g. `12345678901234567890` or `1e2`
 * @example pythonNumberStr('1e2') === '100.0'; pythonNumberStr('-0') === '0'
 */
export function pythonNumberStr(source: string): string {
  return /[.eE]/.test(source) ? pythonFloatStr(Number(source)) : BigInt(source).toString();
}
