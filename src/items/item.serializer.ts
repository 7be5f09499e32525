/**
 * DRF `ModelSerializer` validation for items, reproduced rule by rule so a front end sees the same
 * 400 bodies as from the replaced service (`rest_framework/fields.py`, `serializers.py`, DRF 3.14–3.16).
 * The limits are the constants {@link ItemWrite}'s schema is built from; the semantics (trim, code points, Python `int()`)
 * are DRF's.
 *
 * @module
 */
import { PRICE_MAXIMUM, PRICE_MINIMUM, PRODUCT_MAX_LENGTH, type ItemPatch, type ItemWrite } from './item.schema.js';
import { UploadedFile } from '../drf/body-parsers.js';
import { JsonNumber } from '../drf/json.js';
import { parsePythonInt, pythonNumberStr, pythonStrip } from '../drf/python.js';

/** DRF's error body: field → messages. */
type FieldErrors = Record<string, string[]>;

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

/** DRF `IntegerField.MAX_STRING_LENGTH`: longer numeric strings are refused before parsing. */
const MAX_INTEGER_STRING_LENGTH = 1000;

/** DRF `IntegerField.re_decimal`: `"5."`, `"5.00"` and `"1.0 "` count as integers. */
const TRAILING_DECIMAL_ZEROS = /\.0*\s*$/u;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;

const MESSAGES = {
  required: 'This field is required.',
  null: 'This field may not be null.',
  blank: 'This field may not be blank.',
  invalidString: 'Not a valid string.',
  invalidInteger: 'A valid integer is required.',
  maxStringLength: 'String value too large.',
  nullCharacters: 'Null characters are not allowed.',
} as const;

function pythonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof JsonNumber) return value.isFloat ? 'float' : 'int';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return typeof value;
}

/**
 * Python's `str()` of a JSON number as `json.loads` made it (`1.0` → `"1.0"`, `1e16` → `"1e+16"`,
 * big integers exact). A plain number (JSON nested too deep for the lossless parser) is read back
 * from its JavaScript text.
 */
function numberText(value: JsonNumber | number): string {
  return pythonNumberStr(value instanceof JsonNumber ? value.source : String(value));
}

/**
 * DRF `CharField` (`trim_whitespace=True`, `allow_blank=False`, `max_length`) plus Django's
 * `ProhibitNullCharactersValidator` and `ProhibitSurrogateCharactersValidator`. Numbers become
 * Python's `str()` of them (`123` → `"123"`, `1.0` → `"1.0"`, `1e2` → `"100.0"`); booleans,
 * arrays, objects and files are refused.
 */
function validateProduct(value: unknown): Validation<string> {
  if (value === null) return { ok: false, errors: { product: [MESSAGES.null] } };
  if (typeof value === 'string' && pythonStrip(value) === '')
    return { ok: false, errors: { product: [MESSAGES.blank] } };
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value instanceof JsonNumber || typeof value === 'number') text = numberText(value);
  else return { ok: false, errors: { product: [MESSAGES.invalidString] } };
  text = pythonStrip(text);
  const messages: string[] = [];
  if ([...text].length > PRODUCT_MAX_LENGTH)
    messages.push(`Ensure this field has no more than ${PRODUCT_MAX_LENGTH} characters.`);
  if (text.includes('\0')) messages.push(MESSAGES.nullCharacters);
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate) {
    const hex = surrogate[0].charCodeAt(0).toString(16).toUpperCase();
    messages.push(`Surrogate characters are not allowed: U+${hex}.`);
  }
  return messages.length ? { ok: false, errors: { product: messages } } : { ok: true, value: text };
}

/**
 * DRF `IntegerField(min_value=0, max_value=2147483647)`: Python `int()` of `str(value)` after
 * removing a trailing `.000`; so `"100"`, `" 7 "`, `1.0`, `1e2` and `"１２３"` are integers, while
 * `1.5`, `1e16` (`str()` gives `1e+16`), `"1e2"`, `"0x10"`, `true` and `""` are not. A file counts
 * by its name, as `str()` of a Django upload is.
 */
function validatePrice(value: unknown): Validation<number> {
  if (value === null) return { ok: false, errors: { price: [MESSAGES.null] } };
  if (typeof value === 'string' && value.length > MAX_INTEGER_STRING_LENGTH) {
    return { ok: false, errors: { price: [MESSAGES.maxStringLength] } };
  }
  let text: string | undefined;
  if (typeof value === 'string' || value instanceof UploadedFile) text = String(value);
  else if (value instanceof JsonNumber || typeof value === 'number') text = numberText(value);
  const parsed = text === undefined ? undefined : parsePythonInt(text.replace(TRAILING_DECIMAL_ZEROS, ''));
  if (parsed === undefined) return { ok: false, errors: { price: [MESSAGES.invalidInteger] } };
  if (parsed < BigInt(PRICE_MINIMUM)) {
    return { ok: false, errors: { price: [`Ensure this value is greater than or equal to ${PRICE_MINIMUM}.`] } };
  }
  if (parsed > BigInt(PRICE_MAXIMUM)) {
    return { ok: false, errors: { price: [`Ensure this value is less than or equal to ${PRICE_MAXIMUM}.`] } };
  }
  return { ok: true, value: Number(parsed) };
}

const FIELDS = { product: validateProduct, price: validatePrice } as const;

/**
 * Validates a request body as DRF's `ItemSerializer(data=…, partial=…)` does.
 *
 * `data` is the parsed body: an object (JSON or form fields), `undefined` or `null` when the request
 * had no body (DRF treats it as `{}`), or any other JSON value. `id` and unknown keys are ignored.
 *
 * @returns the cleaned fields, or DRF's error body: `{"product": [...], "price": [...]}`, or
 *   `{"non_field_errors": [...]}` when the body is not an object.
 * @example validateItem({ product: ' Apple ', price: '100' }, { partial: false })
 *   // → { ok: true, value: { product: 'Apple', price: 100 } }
 */
export function validateItem(data: unknown, options: { partial: true }): Validation<ItemPatch>;
export function validateItem(data: unknown, options: { partial: false }): Validation<ItemWrite>;
export function validateItem(data: unknown, { partial }: { partial: boolean }): Validation<ItemPatch> {
  const body = data ?? {};
  if (typeof body !== 'object' || Array.isArray(body) || body instanceof JsonNumber) {
    return {
      ok: false,
      errors: { non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonTypeName(body)}.`] },
    };
  }
  const value: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  for (const [name, validate] of Object.entries(FIELDS)) {
    if (!Object.hasOwn(body, name)) {
      if (!partial) errors[name] = [MESSAGES.required];
      continue;
    }
    const result = validate((body as Record<string, unknown>)[name]);
    if (result.ok) value[name] = result.value;
    else Object.assign(errors, result.errors);
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: value as ItemPatch };
}
