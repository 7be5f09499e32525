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

/** What the response body becomes. `indent` is the `Accept: application/json; indent=N` request. */
export type Renderer = { kind: 'json'; indent?: number } | { kind: 'html' };

/** Media types the API renders, in DRF's renderer order (also shown by OPTIONS). */
export const RENDERED_MEDIA_TYPES = ['application/json', 'text/html'] as const;

interface MediaRange {
  type: string;
  subtype: string;
  params: Record<string, string>;
}

function parseMediaRange(text: string): MediaRange | undefined {
  const [full, ...rawParams] = text.split(';');
  const [type, subtype] = (full ?? '').trim().toLowerCase().split('/');
  if (!type || !subtype) return undefined;
  const params: Record<string, string> = {};
  for (const p of rawParams) {
    const eq = p.indexOf('=');
    if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
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

function rendererFor(mediaType: string, range: MediaRange): Renderer {
  if (mediaType === 'text/html') return { kind: 'html' };
  const indent = Number(range.params.indent);
  return Number.isInteger(indent) && indent >= 0 && indent <= 10 ? { kind: 'json', indent } : { kind: 'json' };
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
