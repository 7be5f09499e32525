/**
 * An item's entity tag: its row version (`myapi_item.version`) as a strong `ETag`, `"<version>"`.
 * The version is raised by every update on any instance, so the tag changes whenever the item does;
 * ids are never reused, so a tag never outlives its item into another.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify';
import { ifMatch, ifNoneMatch, strongETag } from '../drf/conditional.js';
import type { VersionCondition } from './item.repository.js';

/** `"<version>"`. */
export function itemETag(version: number): string {
  return strongETag(String(version));
}

/** A strong tag this API gave: `"<positive integer>"`. */
const VERSION_TAG = /^"([1-9]\d{0,9})"$/;

/** Highest version the `integer` column holds; a larger tag cannot match (and must not reach SQL). */
const MAX_VERSION = 2_147_483_647;

/** The versions of the tags in `tags` that this API could have given (others match no item). */
function versionsOf(tags: readonly string[]): number[] {
  return tags.flatMap((tag) => {
    const version = Number(VERSION_TAG.exec(tag)?.[1]);
    return version <= MAX_VERSION ? [version] : [];
  });
}

/**
 * The request's `If-Match` and `If-None-Match` (RFC 9110 §13.1.1, §13.1.2) as the versions an update
 * or destroy accepts, or `undefined` when neither constrains it. `If-Match`: absent or `*` leaves the
 * version free (the write needs the item to exist, as every write does); otherwise the versions of
 * the strong tags listed (none, for a list of weak or foreign tags). `If-None-Match`: `*` refuses the
 * existing item; a list refuses the versions of its tags, weak or strong (weak comparison).
 */
export function versionCondition(request: FastifyRequest): VersionCondition | undefined {
  const match = ifMatch(request);
  const noneMatch = ifNoneMatch(request);
  const condition: VersionCondition = {};
  if (match && !match.any) condition.versions = versionsOf(match.strong);
  if (noneMatch) condition.refused = noneMatch.any ? 'all' : versionsOf(noneMatch.opaque);
  return condition.versions || condition.refused ? condition : undefined;
}
