/**
 * Item persistence: plain functions, database handle first, rows out. No HTTP here.
 * Each write is one statement (`RETURNING`), so a concurrent delete can never leave a half-done update.
 *
 * @module
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Database } from '../db/database.js';
import type { Item, ItemPatch, ItemWrite } from './item.schema.js';

/** Filters DRF applied to the list and also to the detail URLs (`filter_queryset`). */
export interface ItemFilter {
  /** Exact, case-sensitive match (django-filter `CharFilter`). */
  product?: string;
  /** Terms that must each occur in `product`, case-insensitively (DRF `SearchFilter`, `icontains`). */
  search?: readonly string[];
}

/** One `ORDER BY` term. */
export interface ItemOrdering {
  field: 'id' | 'product' | 'price';
  direction: 'asc' | 'desc';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any selection of myapi_item
type ItemQueryBuilder<O = any> = SelectQueryBuilder<Database, 'myapi_item', O>;

/** Escapes `%`, `_` and `\` so user text matches literally inside `LIKE … ESCAPE '\'`. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

function applyFilter<O>(query: ItemQueryBuilder<O>, filter: ItemFilter): ItemQueryBuilder<O> {
  let q = query;
  if (filter.product !== undefined) q = q.where('product', '=', filter.product);
  for (const term of filter.search ?? []) {
    // ESCAPE is explicit: SQLite has no default LIKE escape character. On PostgreSQL the trigram
    // index of migration 0002 is on exactly lower(product); on SQLite lower() is the Unicode one
    // registered in db/unicode-lower.ts, so both backends fold case alike.
    q = q.where(sql<boolean>`lower(product) like lower(${`%${escapeLike(term)}%`}) escape '\\'`);
  }
  return q;
}

function selectItems(db: Kysely<Database>): ItemQueryBuilder<Item> {
  return db.selectFrom('myapi_item').select(['id', 'product', 'price']);
}

/**
 * The list query, unexecuted: items matching `filter`, ordered by `ordering` then by `id`
 * (ascending id by default, which is what the DRF service answered). Exposed so the search
 * benchmark can `EXPLAIN` exactly what the API runs.
 */
export function listItemsQuery(
  db: Kysely<Database>,
  filter: ItemFilter = {},
  ordering: readonly ItemOrdering[] = [],
): ItemQueryBuilder<Item> {
  let q = applyFilter(selectItems(db), filter);
  for (const term of ordering) q = q.orderBy(term.field, term.direction);
  if (!ordering.some((term) => term.field === 'id')) q = q.orderBy('id', 'asc');
  return q;
}

/** Finds one item by id, also requiring it to match `filter`; `undefined` when none does. */
export async function findItem(db: Kysely<Database>, id: number, filter: ItemFilter = {}): Promise<Item | undefined> {
  return applyFilter(selectItems(db), filter).where('id', '=', id).executeTakeFirst();
}

/** Inserts an item and returns it with its new id. */
export async function createItem(db: Kysely<Database>, item: ItemWrite): Promise<Item> {
  return db
    .insertInto('myapi_item')
    .values({ product: item.product, price: item.price })
    .returning(['id', 'product', 'price'])
    .executeTakeFirstOrThrow();
}

/**
 * Sets the given fields on the item `id` if it exists and matches `filter`.
 *
 * @returns the updated item, or `undefined` when no row matched (404). An empty `changes` reads the item.
 */
export async function updateItem(
  db: Kysely<Database>,
  id: number,
  changes: ItemPatch,
  filter: ItemFilter = {},
): Promise<Item | undefined> {
  if (changes.product === undefined && changes.price === undefined) return findItem(db, id, filter);
  return db
    .updateTable('myapi_item')
    .set(changes)
    .where('id', 'in', applyFilter(db.selectFrom('myapi_item').select('id'), filter).where('id', '=', id))
    .returning(['id', 'product', 'price'])
    .executeTakeFirst();
}

/** Deletes the item `id` if it matches `filter`. @returns whether a row was deleted. */
export async function deleteItem(db: Kysely<Database>, id: number, filter: ItemFilter = {}): Promise<boolean> {
  const result = await db
    .deleteFrom('myapi_item')
    .where('id', 'in', applyFilter(db.selectFrom('myapi_item').select('id'), filter).where('id', '=', id))
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
