/**
 * JSON request bodies read as Python's `json.loads` reads them for DRF's `JSONParser`: each number
 * keeps its source text, so the serializer can apply Python's `str()` to the `int` or `float` that
 * Python would have made of it (`1.0` stays `"1.0"`, `12345678901234567890` keeps every digit).
 *
 * Parsing is lossless-json's; the error texts stay V8's `JSON.parse` ones (the `detail` the API has
 * always answered), and secure-json-parse's scan still drops `__proto__` and `constructor.prototype`
 * keys.
 *
 * @module
 */
import { parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import secureJson from 'secure-json-parse';
import { exactInteger } from '../db/integers.js';
import { MAX_INT_DIGITS } from './python.js';

/**
 * A JSON number as written in the body. Python's `json.loads` makes an `int` of a literal with
 * neither fraction nor exponent and a `float` of any other (`1.0`, `1e2`).
 */
export class JsonNumber {
  /** @param source the literal exactly as in the body, e.g. `-1.50e+3` */
  constructor(readonly source: string) {}

  /** Whether Python reads it as a `float` (it has a fraction or an exponent). */
  get isFloat(): boolean {
    return /[.eE]/.test(this.source);
  }

  /** Its nearest double, for logging the body with `JSON.stringify`. */
  toJSON(): number {
    return Number(this.source);
  }
}

const PROTOTYPE_KEYS = { protoAction: 'remove', constructorAction: 'remove' } as const;

/**
 * A literal as a {@link JsonNumber}, refusing an integer literal of more than {@link MAX_INT_DIGITS}
 * digits: Python's `json.loads` raises that `ValueError`, which DRF answers as a parse error.
 */
function readNumber(source: string): JsonNumber {
  const number = new JsonNumber(source);
  const digits = source.startsWith('-') ? source.length - 1 : source.length;
  if (digits > MAX_INT_DIGITS && !number.isFloat) {
    throw new TooManyDigits(
      `Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion: value has ${digits} digits; use sys.set_int_max_str_digits() to increase the limit`,
    );
  }
  return number;
}

/** Python's `ValueError` for an integer literal beyond {@link MAX_INT_DIGITS}, raised through the parse. */
class TooManyDigits extends SyntaxError {}

/**
 * Parses JSON text, numbers as {@link JsonNumber}. A repeated key keeps its last value, as in Python
 * and `JSON.parse`; `__proto__` and `constructor.prototype` keys are removed.
 *
 * @throws {SyntaxError} with `JSON.parse`'s message when `text` is not JSON, or when it is nested
 *   deeper than lossless-json's recursion can follow (thousands of levels).
 */
export function parseJsonText(text: string): unknown {
  let data: unknown;
  try {
    data = parseLossless(text, undefined, {
      parseNumber: readNumber,
      onDuplicateKey: ({ newValue }) => newValue,
    });
  } catch (error) {
    if (error instanceof TooManyDigits) throw error;
    // Malformed JSON: JSON.parse throws too, and says why in the words the API has always answered.
    JSON.parse(text);
    // Valid JSON nested deeper than lossless-json's recursion goes (a RangeError). Read by JSON.parse
    // instead, its numbers would be rounded (a product of 20 digits stored as another); Python's own
    // json.loads gives up far sooner, at its recursion limit of 1,000.
    throw new SyntaxError('nested too deeply to be read');
  }
  return typeof data === 'object' && data !== null ? secureJson.scan(data, PROTOTYPE_KEYS) : data;
}

/**
 * Re-indents JSON text without rounding any number (ids beyond 2^53 - 1 keep their digits).
 *
 * @param indent spaces per level, as `JSON.stringify`'s third argument.
 * @throws {SyntaxError} when `text` is not JSON.
 */
export function indentJson(text: string, indent: number): string {
  return stringifyLossless(parseLossless(text), undefined, indent) ?? text;
}

/**
 * Parses JSON text the service wrote itself (a stored answer), integers exact: a number while safe,
 * a bigint beyond 2^53 - 1 (which `JSON.parse` would round), so a replayed id keeps its digits.
 *
 * @throws {SyntaxError} when `text` is not JSON.
 */
export function parseExactJson(text: string): unknown {
  return parseLossless(text, undefined, (source) => (/^-?\d+$/.test(source) ? exactInteger(source) : Number(source)));
}
