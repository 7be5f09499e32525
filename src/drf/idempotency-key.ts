/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header-09): reading it,
 * fingerprinting the request, and the answers the draft gives (§2.7 "Error Handling"):
 * 400 for a key that cannot be used, 409 while a request with the key is still being processed,
 * 422 for the key reused with another request. Storing answers is the resource's job, in the same
 * transaction as its change (db/idempotency-keys.ts).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KeyedOutcome } from '../db/idempotency-keys.js';
import { ApiError } from './errors.js';

/** Longest key accepted, in characters (the common limit of APIs that take the header, and the column's width). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** The draft's value: a Structured Field String (RFC 8941 §3.3.3), `"..."` with `\"` and `\\` escapes. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

/** What a key may hold once unquoted: printable ASCII. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * Reads `Idempotency-Key`. The draft's form is a quoted String (`"8e03978e-…"`); the bare form
 * many clients send (`8e03978e-…`) is taken as is.
 *
 * @returns the key, or `undefined` without the header.
 * @throws {ApiError} 400 `{"detail"}` for an empty key, one longer than
 *   {@link IDEMPOTENCY_KEY_MAX_LENGTH} characters, or one that is not printable ASCII.
 */
export function readIdempotencyKey(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  const raw = Array.isArray(header) ? header.join(', ') : header;
  const quoted = SF_STRING.exec(raw);
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : raw;
  if (key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    throw new ApiError(400, {
      detail: `Idempotency-Key must be at most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters.`,
    });
  }
  if (!PRINTABLE_ASCII.test(key) || (!quoted && raw.startsWith('"'))) {
    throw new ApiError(400, { detail: 'Idempotency-Key must be 1 or more printable ASCII characters.' });
  }
  return key;
}

/**
 * The request's fingerprint (the draft's §2.4): SHA-256, base64url, of the method, the route and
 * what the request asks for once validated, so that the same item sent as JSON or as a form, with
 * keys in another order, is the same request.
 */
export function requestFingerprint(request: FastifyRequest, validated: unknown): string {
  return createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url}\n${JSON.stringify(validated)}`)
    .digest('base64url');
}

/**
 * Answers a keyed write that this request did not perform: the stored answer again (its status and
 * body, whatever instance stored it) for a retry of the same request.
 *
 * @throws {ApiError} 422 when the key was used with another request; 409 (with `Retry-After: 1`)
 *   while a request with the key is still being processed.
 */
export function replayKeyedOutcome(
  reply: FastifyReply,
  outcome: Exclude<KeyedOutcome<unknown>, { kind: 'done' }>,
  fingerprint: string,
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
  return reply.code(outcome.answer.status).send(JSON.parse(outcome.answer.body));
}
