/**
 * The seeded data set and the scenarios that load it.
 *
 * Seed: {@link ITEMS} rows with ids 1 to 10,000 in a fresh table:
 * - every 100th id (100, 200, … 10,000) is named `Widget`: `?product=Widget` is the list of exactly
 *   100 items (an exact filter, so both backends run the same query shape);
 * - ids 7, 407, 807, … (id % 400 = 7, 25 rows) are named `Zucchini <id>`: `?search=zucchini` is the
 *   selective search (25 of 10,000);
 * - every other id is named `Item <id>`, unique: `?product=Item <id>` is the exact filter (one row).
 * Prices are `(id * 37) % 100000`.
 *
 * @module
 */
import type { LoadSpec } from './load.js';

/** Rows seeded. */
export const ITEMS = 10_000;
/** Rows `?product=Widget` returns. */
export const LIST_SIZE = 100;
/** Rows `?search=zucchini` returns. */
export const SEARCH_HITS = 25;

/** The seeded row with id `id`. */
export function seededItem(id: number): { product: string; price: number } {
  const product = id % 100 === 0 ? 'Widget' : id % 400 === 7 ? `Zucchini ${id}` : `Item ${id}`;
  return { product, price: (id * 37) % 100_000 };
}

const ids = Array.from({ length: ITEMS }, (_, i) => i + 1);

export interface Scenario {
  name: string;
  spec: LoadSpec;
  /** Number of items one response holds, checked once before the load (undefined: not a list). */
  expectItems?: number;
  /** Status expected from every request. */
  status: number;
}

/** Every scenario, in the order they run (writes last, so reads see exactly the seeded rows). */
export const SCENARIOS: readonly Scenario[] = [
  { name: 'healthz', status: 200, spec: { method: 'GET', paths: ['/healthz'] } },
  { name: 'retrieve', status: 200, spec: { method: 'GET', paths: ids.map((id) => `/api/items/${id}/`) } },
  {
    name: 'filter (exact)',
    status: 200,
    expectItems: 1,
    spec: {
      method: 'GET',
      paths: ids
        .filter((id) => seededItem(id).product.startsWith('Item '))
        .map((id) => `/api/items/?product=${encodeURIComponent(seededItem(id).product)}`),
    },
  },
  {
    name: 'list 100',
    status: 200,
    expectItems: LIST_SIZE,
    spec: { method: 'GET', paths: ['/api/items/?product=Widget'] },
  },
  {
    name: 'search',
    status: 200,
    expectItems: SEARCH_HITS,
    spec: { method: 'GET', paths: ['/api/items/?search=zucchini'] },
  },
  {
    name: 'partial_update',
    status: 200,
    spec: { method: 'PATCH', paths: ids.map((id) => `/api/items/${id}/`), body: JSON.stringify({ price: 4321 }) },
  },
  {
    // A header new on every request, which the service ignores: the load tool then builds each
    // request as it does for the keyed create below, so the two differ by the key alone.
    name: 'create',
    status: 201,
    spec: {
      method: 'POST',
      paths: ['/api/items/'],
      body: JSON.stringify({ product: 'Bench item', price: 100 }),
      uniqueHeader: 'X-Bench-Request',
    },
  },
  {
    // Each request a new key: the stored answer and the purge are the whole extra cost (target: at
    // most 15% below plain create's requests/s).
    name: 'create (Idempotency-Key)',
    status: 201,
    spec: {
      method: 'POST',
      paths: ['/api/items/'],
      body: JSON.stringify({ product: 'Bench item', price: 100 }),
      uniqueHeader: 'Idempotency-Key',
    },
  },
];
