/**
 * The item type tests read from the API, shared so that a test never declares its own.
 *
 * @module
 */
import type { Item as ServiceItem } from '../../src/items/item.schema.js';

/**
 * An item as the service returns it (`src/items/item.schema.ts`); `id` may be a bigint when the test
 * parses with a bigint-exact JSON reader.
 */
export type ExactItem = ServiceItem;

/** An item as `JSON.parse` (or `response.json()`) reads it from an answer: `id` is a number. */
export type Item = Omit<ServiceItem, 'id'> & { id: number };
