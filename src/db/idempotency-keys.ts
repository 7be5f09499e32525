/**
 * The `idempotency_key` table (migration 0004): first answers to requests sent with an
 * `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header-09), kept for a configured
 * time. A resource's repository writes its row and the key's row in one transaction (see
 * `createItemOnce` in items/item.repository.ts); this module holds what does not depend on the resource.
 *
 * Expired keys are purged by the writes themselves, at most {@link PURGE_BATCH} per keyed write, so
 * no separate job is needed and the table stays bounded by the keys of one expiry period.
 *
 * @module
 */
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import { isUniqueViolation } from './errors.js';

/** Most expired keys one keyed write deletes; above the one row it adds, so the purge keeps up. */
export const PURGE_BATCH = 100;

/** What a keyed write needs to know about its key. */
export interface KeyClaim {
  /** The `Idempotency-Key` value (1 to 255 printable ASCII characters). */
  key: string;
  /** Digest of the request; the same key with another fingerprint is refused (422). */
  fingerprint: string;
  /** The current time, in milliseconds since the Unix epoch. */
  now: number;
  /** Keys stored before `now - ttlMs` are expired: ignored, purged, and free to be used again. */
  ttlMs: number;
}

/** The answer stored with a key, as first sent. */
export interface StoredAnswer {
  fingerprint: string;
  status: number;
  /** JSON text. */
  body: string;
}

/** How a keyed write ended. */
export type KeyedOutcome<T> =
  /** This request made the change; its answer is stored with the key. */
  | { kind: 'done'; value: T }
  /** An earlier request with this key made it; nothing was changed now. */
  | { kind: 'stored'; answer: StoredAnswer }
  /** Another request with this key is being processed right now; nothing was changed. */
  | { kind: 'in-progress' };

/** Attempts of a keyed write before its unique-key violation is reported as an error. */
const ATTEMPTS = 3;

/**
 * Runs `attempt` (one keyed write, in one transaction) until it ends without violating the key's
 * uniqueness. A violation means the key's row appeared after the attempt looked for it: either
 * another request with the key committed in between (the next attempt finds its stored answer) or
 * an expired row for the key is still there (deleted here before the next attempt). The violation
 * rolled back the whole attempt, so nothing was written twice.
 *
 * @throws the last unique violation after {@link ATTEMPTS} attempts, and any other error at once.
 */
export async function withKeyRetry<T>(
  db: Kysely<Database>,
  claim: KeyClaim,
  attempt: () => Promise<KeyedOutcome<T>>,
): Promise<KeyedOutcome<T>> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= ATTEMPTS || !isUniqueViolation(error)) throw error;
      await db
        .deleteFrom('idempotency_key')
        .where('key', '=', claim.key)
        .where('created_at', '<', claim.now - claim.ttlMs)
        .execute();
    }
  }
}
