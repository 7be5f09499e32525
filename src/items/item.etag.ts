/**
 * An item's entity tag: its row version (`myapi_item.version`) as a strong `ETag`, `"<version>"`.
 * The version is raised by every update on any instance, so the tag changes whenever the item does;
 * ids are never reused, so a tag never outlives its item into another.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify';
import { ifMatch, strongETag } from '../drf/conditional.js';
import type { VersionCondition } from './item.repository.js';

/** `"<version>"`. */
export function itemETag(version: number): string {
  return strongETag(String(version));
}

/** A strong tag this API gave: `"<positive integer>"`. */
const VERSION_TAG = /^"([1-9]\d{0,9})"$/;

/** Highest version the `integer` column holds; a larger tag cannot match (and must not reach SQL). */
const MAX_VERSION = 2_147_483_647;

/**
 * The request's `If-Match` (RFC 9110 §13.1.1) as the versions an update or destroy accepts:
 * `undefined` without the header or for `*` (the write then needs the item to exist, as every write
 * does); otherwise the versions of the strong tags listed (none, for a list of weak or foreign tags).
 */
export function versionCondition(request: FastifyRequest): VersionCondition | undefined {
  const condition = ifMatch(request);
  if (!condition || condition.any) return undefined;
  const versions = condition.strong.flatMap((tag) => {
    const version = Number(VERSION_TAG.exec(tag)?.[1]);
    return version <= MAX_VERSION ? [version] : [];
  });
  return { versions };
}
