/**
 * The `idempotency_key` table (migration 0004): first answers to requests sent with an
 * `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header-09), kept for a configured
 * time. A resource's repository writes its row and the key's row in one transaction (see
 * `createItemOnce` in items/item.repository.ts); this module holds what does not depend on the resource.
 *
 * Expired keys are purged by the keyed writes themselves, in the write's own transaction, when a
 * purge is due ({@link PurgeSchedule}), so no separate job is needed and the table stays bounded by
 * the keys of one expiry period plus a few purge intervals'.
 *
 * @module
 */
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import { isUniqueViolation } from './errors.js';

/**
 * A purge is due after this many keyed writes of one process since its last purge. Purging on
 * every write cost as much as the rest of the key's bookkeeping (BENCHMARKS.md, "Create with an
 * Idempotency-Key").
 */
const PURGE_EVERY = 64;

/** A purge is also due this long after the last one (milliseconds), or after one expiry period if shorter. */
const PURGE_INTERVAL_MS = 1000;

/**
 * Most expired keys one purge deletes: four times the keys a process can add between two purges
 * ({@link PURGE_EVERY}), so the purges of every instance outpace the keys that expire.
 */
export const PURGE_BATCH = 4 * PURGE_EVERY;

/**
 * When a process's next keyed write also purges expired keys: after {@link PURGE_EVERY} keyed
 * writes, or {@link PURGE_INTERVAL_MS} (at most one expiry period) after the last purge, and on the
 * first keyed write. One per database handle; each instance keeps its own.
 */
export class PurgeSchedule {
  #writes = 0;
  #last = -Infinity;

  /** Counts one keyed write at `now` (ms since the epoch) and says whether it purges; if so, restarts the count. */
  due(now: number, ttlMs: number): boolean {
    this.#writes += 1;
    if (this.#writes < PURGE_EVERY && now - this.#last < Math.min(PURGE_INTERVAL_MS, ttlMs)) return false;
    this.#writes = 0;
    this.#last = now;
    return true;
  }
}

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
