/**
 * A B-tree index on `product`, both backends: `?product=` (django-filter's exact match,
 * `product = $1`, item.repository.ts) was a sequential scan of the whole table on every request,
 * on the list and on the detail URLs alike. With it, the exact filter and a list narrowed by it read
 * only the matching rows (BENCHMARKS.md: on 10,000 rows the scan bounded `?product=` to about a
 * tenth of a retrieve's throughput).
 *
 * The replaced Django model had no `db_index` on `product`, so a database taken over from it gets the
 * index here; `IF NOT EXISTS` makes a re-run harmless. A plain `CREATE INDEX` blocks writes to
 * `myapi_item` while it builds (well under a second per million rows of 20-character names).
 */
import { sql, type Kysely } from 'kysely';

/** Name of the index, in Django's `<table>_<column>_<suffix>` style. */
export const PRODUCT_INDEX = 'myapi_item_product_idx';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index if not exists ${sql.id(PRODUCT_INDEX)} on myapi_item (product)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists ${sql.id(PRODUCT_INDEX)}`.execute(db);
}
