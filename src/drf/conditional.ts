/**
 * Conditional requests (RFC 9110 §13): entity tags, `If-Match` and `If-None-Match`.
 *
 * A resource gives its current strong entity tag; these functions say whether a request's
 * precondition holds. The resource itself performs a write's `If-Match` check atomically (in the
 * write's own statement), so here an `If-Match` list is only parsed into the strong tags it accepts.
 *
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** An entity tag (RFC 9110 §8.8.3): `"xyz"` (strong) or `W/"xyz"` (weak). */
interface EntityTag {
  weak: boolean;
  /** The opaque-tag with its double quotes, e.g. `"3"`. */
  opaque: string;
}

/** A field value of `If-Match` or `If-None-Match`: `*`, or a list of entity tags. */
type EntityTagCondition = { any: true } | { any: false; tags: EntityTag[] };

/** `[W/]"etagc*"` (RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text) with the list's OWS and commas. */
const LIST_ELEMENT = /\s*(?:(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*)?(?:,|$)/y;

/**
 * Parses an `If-Match` / `If-None-Match` field value (RFC 9110 §13.1.1, §13.1.2): `*` or a
 * comma-separated list of entity tags (empty list elements are skipped, RFC 9110 §5.6.1).
 *
 * @returns `undefined` when the header is absent or not that syntax (a malformed condition matches
 *   nothing: see {@link ifMatch} and {@link isNotModified}).
 */
function parseEntityTagCondition(value: string | undefined): EntityTagCondition | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '*') return { any: true };
  const tags: EntityTag[] = [];
  LIST_ELEMENT.lastIndex = 0;
  while (LIST_ELEMENT.lastIndex < value.length) {
    const start = LIST_ELEMENT.lastIndex;
    const match = LIST_ELEMENT.exec(value);
    if (!match || LIST_ELEMENT.lastIndex === start) return undefined;
    if (match[2] !== undefined) tags.push({ weak: match[1] !== undefined, opaque: match[2] });
  }
  return { any: false, tags };
}

/** A strong entity tag for `opaque` (which must be etagc characters): `"opaque"`. */
export function strongETag(opaque: string): string {
  return `"${opaque}"`;
}

/**
 * The `If-Match` precondition of a request (RFC 9110 §13.1.1), for a resource that compares it in
 * its write: `undefined` without the header; `{ any: true }` for `*` (holds if the resource exists);
 * otherwise the strong tags it accepts. Weak tags never match (strong comparison, §8.8.3.2), nor does
 * a malformed field: `tags` is empty then, and the write must not happen.
 */
export function ifMatch(request: FastifyRequest): { any: true } | { any: false; strong: string[] } | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const condition = parseEntityTagCondition(header);
  if (condition?.any) return condition;
  return { any: false, strong: (condition?.tags ?? []).filter((tag) => !tag.weak).map((tag) => tag.opaque) };
}

/** Whether `request` gets the plain JSON rendering, the only one that carries the resource's `ETag`. */
function rendersPlainJson(request: FastifyRequest): boolean {
  return request.renderer === undefined || (request.renderer.kind === 'json' && request.renderer.indent === undefined);
}

/**
 * Whether a `GET`/`HEAD` answers 304 Not Modified: its `If-None-Match` is `*` or lists a tag that
 * weakly matches `etag` (RFC 9110 §13.1.2, weak comparison §8.8.3.2). Only for the plain JSON
 * rendering, the variant the `ETag` belongs to (the HTML and indented variants carry none).
 */
export function isNotModified(request: FastifyRequest, etag: string): boolean {
  const condition = parseEntityTagCondition(request.headers['if-none-match']);
  if (!condition || !rendersPlainJson(request)) return false;
  if (condition.any) return true;
  const opaque = etag.replace(/^W\//, '');
  return condition.tags.some((tag) => tag.opaque === opaque);
}

/**
 * Evaluates `If-Match` then `If-None-Match` (RFC 9110 §13.2.2 steps 1 and 3) for a target that always
 * has a current representation but no entity tag, such as a collection: `If-Match: *` holds (§13.1.1:
 * the target has a current representation) and a list of tags never does, as there is no tag to
 * match (a malformed field neither); `If-None-Match: *` fails (§13.1.2), and a list of tags holds.
 * Call it once the checks that would answer other than 2xx without the preconditions have passed
 * (§13.2.1), and before the request's content is read.
 *
 * @returns `true` when the answer is 304 Not Modified: a GET or HEAD with `If-None-Match: *`.
 * @throws {ApiError} 412 `{"detail"}` when `If-Match` fails, or `If-None-Match: *` on another method.
 */
export function untaggedPreconditionsFail(request: FastifyRequest): boolean {
  const match = ifMatch(request);
  if (match && !match.any) {
    throw preconditionFailed('Precondition failed: this resource has no ETag, so If-Match lists none of it.');
  }
  if (!parseEntityTagCondition(request.headers['if-none-match'])?.any) return false;
  if (request.method === 'GET' || request.method === 'HEAD') return true;
  throw preconditionFailed('Precondition failed: If-None-Match is "*" and this resource exists.');
}

/**
 * Answers 304 with no body, keeping the `ETag` when the resource has one (RFC 9110 §15.4.5: a 304
 * carries the fields a 200 would have had among `ETag`, `Vary`, `Cache-Control`…).
 */
export function sendNotModified(reply: FastifyReply, etag?: string): FastifyReply {
  if (etag !== undefined) reply.header('etag', etag);
  return reply.code(304).send();
}

/** 412 Precondition Failed (RFC 9110 §15.5.13) in DRF's `{"detail"}` shape, by default for a stale `If-Match`. */
export const preconditionFailed = (
  detail = 'Precondition failed: If-Match does not match the current ETag (changed since it was read).',
) => new ApiError(412, { detail });
