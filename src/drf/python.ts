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

/** Strips Python whitespace from both ends, as `str.strip()` does. */
export function pythonStrip(value: string): string {
  return value.replace(new RegExp(`^[${PYTHON_WHITESPACE}]+|[${PYTHON_WHITESPACE}]+$`, 'gu'), '');
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
 * Parses `text` as Python's `int()` would, as a BigInt (so no digit string is rounded).
 *
 * @returns the value, or `undefined` when Python would raise `ValueError`.
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
  const value = BigInt(ascii);
  return match[1] === '-' ? -value : value;
}
