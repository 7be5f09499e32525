/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header-09): reading it,
 * fingerprinting the request, and the answers the draft gives (§2.7 "Error Handling"):
 * 400 for a key that cannot be used, 409 while a request with the key is still being processed,
 * 422 for the key reused with another request. Storing answers is the resource's job, in the same
 * transaction as its change (db/idempotency-keys.ts).
 *
 * @module
 */
import { hash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseItem } from 'structured-headers';
import type { KeyedOutcome } from '../db/idempotency-keys.js';
import { ApiError } from './errors.js';
import { parseExactJson } from './json.js';

/** Longest key accepted, in characters (the common limit of APIs that take the header, and the column's width). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** What a key may hold once unquoted: printable ASCII. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * Reads `Idempotency-Key`. The draft (§2.1) makes it an Item Structured Header whose value is a
 * String (RFC 8941 §3.3.3): `"8e03978e-…"`, with `\"` and `\\` escapes, parsed by
 * `structured-headers`; parameters after it (`"k";a=1`) are allowed by RFC 8941's Item grammar and
 * ignored, as no parameter is defined for this header. Beyond the draft, the bare form many clients
 * send (`8e03978e-…`) is taken as is, unless it holds a `"` or a `,`: a comma is how a recipient joins
 * the header's field lines when it is sent more than once (RFC 9110 §5.3), so `a, b` and `"a", "b"`
 * are a list of keys, not one, and the draft has a single key.
 *
 * @returns the key, or `undefined` without the header.
 * @throws {ApiError} 400 `{"detail"}` for a list of keys (the header sent twice), a malformed quoted
 *   key, an empty key, one longer than {@link IDEMPOTENCY_KEY_MAX_LENGTH} characters, or one that is
 *   not printable ASCII.
 */
export function readIdempotencyKey(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  const raw = Array.isArray(header) ? header.join(', ') : header;
  const key = sfString(raw) ?? raw;
  if (key === raw && /[",]/.test(raw)) {
    throw new ApiError(400, {
      detail: 'Idempotency-Key must be one key, a quoted string ("key"); it was sent more than once or is malformed.',
    });
  }
  if (key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    throw new ApiError(400, {
      detail: `Idempotency-Key must be at most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters.`,
    });
  }
  if (!PRINTABLE_ASCII.test(key)) {
    throw new ApiError(400, { detail: 'Idempotency-Key must be 1 or more printable ASCII characters.' });
  }
  return key;
}

/** The String of an RFC 8941 Item field value (parameters ignored), or `undefined` when it is not one. */
function sfString(value: string): string | undefined {
  if (!value.startsWith('"')) return undefined;
  try {
    const [item] = parseItem(value);
    return typeof item === 'string' ? item : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The request's fingerprint (the draft's §2.4): SHA-256, base64url, of the method, the route and
 * what the request asks for once validated, so that the same item sent as JSON or as a form, with
 * keys in another order, is the same request.
 */
export function requestFingerprint(request: FastifyRequest, validated: unknown): string {
  return hash('sha256', `${request.method} ${request.routeOptions.url}\n${JSON.stringify(validated)}`, 'base64url');
}

/**
 * Answers a keyed write that this request did not perform: the stored answer again (its status and
 * body, whatever instance stored it) for a retry of the same request, with `headers`: the fields of
 * the first answer that describe its stored body (its `ETag`), which the resource recomputes from
 * that body rather than from the resource's current state, so the replay is the first answer.
 *
 * @throws {ApiError} 422 when the key was used with another request; 409 (with `Retry-After: 1`)
 *   while a request with the key is still being processed.
 */
export function replayKeyedOutcome(
  reply: FastifyReply,
  outcome: Exclude<KeyedOutcome<unknown>, { kind: 'done' }>,
  fingerprint: string,
  headers: Readonly<Record<string, string>> = {},
): FastifyReply {
  if (outcome.kind === 'in-progress') {
    throw new ApiError(
      409,
      { detail: 'A request with this Idempotency-Key is still being processed; retry later.' },
      { 'retry-after': '1' },
    );
  }
  if (outcome.answer.fingerprint !== fingerprint) {
    throw new ApiError(422, { detail: 'This Idempotency-Key was already used with a different request.' });
  }
  return reply.code(outcome.answer.status).headers(headers).send(parseExactJson(outcome.answer.body));
}
