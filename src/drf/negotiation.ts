/**
 * DRF's content negotiation (`rest_framework/negotiation.py`, `DefaultContentNegotiation`) for the
 * two renderers the replaced service had: JSON, and the Browsable API's HTML.
 *
 * `?format=json|api` (or a `.json` suffix) wins; otherwise the `Accept` media types are grouped by
 * specificity (q-values are ignored, as DRF does) and, within the most specific group, the first
 * renderer in the order JSON, HTML that matches is chosen. No match is 406; an unknown `?format=` is 404.
 *
 * @module
 */
import { notAcceptable, notFound } from './errors.js';
import { parsePythonInt } from './python.js';

/** What the response body becomes. `indent` is the `Accept: application/json; indent=N` request. */
export type Renderer = { kind: 'json'; indent?: number } | { kind: 'html' };

/** Media types the API renders, in DRF's renderer order (also shown by OPTIONS). */
export const RENDERED_MEDIA_TYPES = ['application/json', 'text/html'] as const;

interface MediaRange {
  type: string;
  subtype: string;
  params: Record<string, string>;
}

/** A parameter value without its quotes, as Django's `parse_header_parameters` gives it. */
function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replaceAll('\\\\', '\\').replaceAll('\\"', '"');
}

function parseMediaRange(text: string): MediaRange | undefined {
  const [full, ...rawParams] = text.split(';');
  const [type, subtype] = (full ?? '').trim().toLowerCase().split('/');
  if (!type || !subtype) return undefined;
  const params: Record<string, string> = {};
  for (const p of rawParams) {
    const eq = p.indexOf('=');
    if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = unquote(p.slice(eq + 1).trim());
  }
  return { type, subtype, params };
}

/** DRF `_MediaType.precedence`: 3 with parameters other than q, 2 for type/subtype, 1 for type/*, 0 for *\/*. */
function precedence(range: MediaRange): number {
  if (range.type === '*') return 0;
  if (range.subtype === '*') return 1;
  const keys = Object.keys(range.params);
  return keys.length === 0 || (keys.length === 1 && keys[0] === 'q') ? 2 : 3;
}

function matches(rendered: string, range: MediaRange): boolean {
  const [type, subtype] = rendered.split('/');
  return (range.type === '*' || range.type === type) && (range.subtype === '*' || range.subtype === subtype);
}

/**
 * The `indent` parameter as DRF's `JSONRenderer.get_indent` reads it:
 * `zero_as_none(max(min(int(indent), 8), 0))`, so Python's `int()` rules (`" 4"`, `"+4"`, `"1_0"`),
 * clamped to 0…8 spaces, 0 meaning none; a value `int()` refuses (`"4.0"`, `"x"`, over 4,300
 * characters) means none.
 */
function indentOf(param: string | undefined): number | undefined {
  const value = param === undefined ? undefined : parsePythonInt(param);
  if (value === undefined || value <= 0n) return undefined;
  return value >= 8n ? 8 : Number(value);
}

function rendererFor(mediaType: string, range: MediaRange): Renderer {
  if (mediaType === 'text/html') return { kind: 'html' };
  const indent = indentOf(range.params.indent);
  return indent === undefined ? { kind: 'json' } : { kind: 'json', indent };
}

/**
 * Chooses the renderer for a request.
 *
 * @param format the last `format` query value (or suffix), if any; `''` is no format.
 * @param accept the `Accept` header, if any; none is `*\/*`.
 * @throws {ApiError} 404 for an unknown format, 406 when nothing acceptable can be rendered.
 */
export function negotiate(format: string | undefined, accept: string | undefined): Renderer {
  const ranges = (accept ?? '*/*')
    .split(',')
    .map(parseMediaRange)
    .filter((r) => r !== undefined);
  if (format !== undefined && format !== '') {
    const mediaType = format === 'json' ? 'application/json' : format === 'api' ? 'text/html' : undefined;
    if (!mediaType) throw notFound();
    const range = ranges.find((r) => matches(mediaType, r));
    if (!range && ranges.length) throw notAcceptable();
    return rendererFor(mediaType, range ?? { type: '*', subtype: '*', params: {} });
  }
  if (!ranges.length) return { kind: 'json' };
  for (const level of [3, 2, 1, 0]) {
    const group = ranges.filter((r) => precedence(r) === level);
    for (const mediaType of RENDERED_MEDIA_TYPES) {
      const range = group.find((r) => matches(mediaType, r));
      if (range) return rendererFor(mediaType, range);
    }
  }
  throw notAcceptable();
}
