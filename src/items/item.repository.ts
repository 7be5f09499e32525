/**
 * Item persistence: plain functions, database handle first, rows out. No HTTP here.
 * Each write is one statement (`RETURNING`), so a concurrent delete can never leave a half-done update.
 *
 * @module
 */
import type SQLite from 'better-sqlite3';
import { SqliteAdapter, sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import { driverHandleOf, queryNamed, type Database } from '../db/database.js';
import { exactRow } from '../db/integers.js';
import { unicodeLower } from '../db/unicode-lower.js';
import {
  PURGE_BATCH,
  PurgeSchedule,
  withKeyRetry,
  type KeyClaim,
  type KeyedOutcome,
  type StoredAnswer,
} from '../db/idempotency-keys.js';
import type { Item, ItemPatch, ItemWrite } from './item.schema.js';

/** An item with its row version (`myapi_item.version`), from which its `ETag` is made. */
export type VersionedItem = Item & { version: number };

/**
 * The versions a conditional write accepts, checked in the write's own `WHERE` (so of two writers
 * judging the same version only one can succeed). Absent: the write is unconditional.
 */
export interface VersionCondition {
  /**
   * `If-Match` (RFC 9110 §13.1.1): the row's version must be one of these; an empty list matches
   * nothing. Absent: any version (no `If-Match`, or `*`).
   */
  versions?: readonly number[];
  /**
   * `If-None-Match` (RFC 9110 §13.1.2): the row's version must be none of these; `'all'` (for `*`)
   * refuses every existing row. Absent: no constraint.
   */
  refused?: readonly number[] | 'all';
}

/** Whether a row at `version` meets `condition` (RFC 9110 §13.2.2: both of its parts must hold). */
export function versionMeets(condition: VersionCondition | undefined, version: number): boolean {
  if (!condition) return true;
  const { versions, refused } = condition;
  if (versions && !versions.includes(version)) return false;
  return refused === undefined || (refused !== 'all' && !refused.includes(version));
}

/** Whether no row can meet `condition`, so the write need not be sent. */
function meetsNone(condition: VersionCondition | undefined): boolean {
  return condition?.versions?.length === 0 || condition?.refused === 'all';
}

/** `condition` as `WHERE` terms on `version`: `in (...)` for `If-Match`, `not in (...)` for `If-None-Match`. */
function versionTerms(condition: VersionCondition | undefined): ['in' | 'not in', readonly number[]][] {
  const terms: ['in' | 'not in', readonly number[]][] = [];
  if (condition?.versions) terms.push(['in', condition.versions]);
  if (Array.isArray(condition?.refused) && condition.refused.length > 0) terms.push(['not in', condition.refused]);
  return terms;
}

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

function applyFilter<O>(db: Kysely<Database>, query: ItemQueryBuilder<O>, filter: ItemFilter): ItemQueryBuilder<O> {
  let q = query;
  if (filter.product !== undefined) q = q.where('product', '=', filter.product);
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  for (const term of filter.search ?? []) {
    // ESCAPE is explicit: SQLite has no default LIKE escape character.
    const pattern = `%${escapeLike(term)}%`;
    if (!sqlite) {
      // The trigram index of migration 0002 is on exactly lower(product).
      q = q.where(sql<boolean>`lower(product) like lower(${pattern}) escape '\\'`);
      continue;
    }
    // SQLite's lower() is the Unicode one of db/unicode-lower.ts, a JavaScript call per row. An
    // all-ASCII product (as many characters as UTF-8 bytes) skips it: SQLite's LIKE already folds
    // ASCII case (SQLite docs, "The LIKE, GLOB, REGEXP, MATCH, and extract operators", with
    // case_sensitive_like off, its default), and the pattern is lowered here with the same
    // function, so it holds no uppercase ASCII letter; both branches then match as
    // PostgreSQL's lower(product) like lower(pattern).
    const lowered = unicodeLower(pattern);
    q = q.where(
      sql<boolean>`case when length(product) = octet_length(product) then product like ${lowered} escape '\\' else lower(product) like ${lowered} escape '\\' end`,
    );
  }
  return q;
}

function selectItems(db: Kysely<Database>): ItemQueryBuilder<Item> {
  return db.selectFrom('myapi_item').select(['id', 'product', 'price']);
}

function selectVersionedItems(db: Kysely<Database>): ItemQueryBuilder<VersionedItem> {
  return db.selectFrom('myapi_item').select(['id', 'product', 'price', 'version']);
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
  let q = applyFilter(db, selectItems(db), filter);
  for (const term of ordering) q = q.orderBy(term.field, term.direction);
  if (!ordering.some((term) => term.field === 'id')) q = q.orderBy('id', 'asc');
  return q;
}

const namedLists = new WeakMap<Kysely<Database>, Map<string, { name: string; text: string }>>();

/**
 * The named statement of a list shape, its SQL compiled by Kysely from {@link listItemsQuery} once
 * per database: `$1` the product when `byProduct`, then the row limit. The placeholders are checked
 * against stand-in values, so that another Kysely version cannot misorder the values given later.
 */
function namedList(db: Kysely<Database>, byProduct: boolean, limit: number): { name: string; text: string } {
  let lists = namedLists.get(db);
  if (!lists) namedLists.set(db, (lists = new Map()));
  const name = byProduct ? 'list_items_by_product' : 'list_items';
  let statement = lists.get(name);
  if (!statement) {
    const standIn = '\u0000product';
    const compiled = listItemsQuery(db, byProduct ? { product: standIn } : {})
      .limit(limit)
      .compile();
    const expected = byProduct ? [standIn, limit] : [limit];
    if (JSON.stringify(compiled.parameters) !== JSON.stringify(expected)) {
      throw new Error(`${name}: Kysely compiled parameters ${JSON.stringify(compiled.parameters)}`);
    }
    statement = { name, text: compiled.sql };
    lists.set(name, statement);
  }
  return statement;
}

/**
 * The first `limit` rows of the list ({@link listItemsQuery}). On PostgreSQL the shapes a front end
 * sends most, the whole list and `?product=` alone, in the default order, run as named statements:
 * parsed and planned once per connection, where an unnamed one is parsed and planned for every
 * request (pgbench on this machine, `?product=`'s query: 22,108 unnamed against 38,093 named per
 * second). Other shapes, and SQLite, run through Kysely.
 *
 * @param db a handle made by `createDb` (not a transaction's).
 */
export async function listFirstRows(
  db: Kysely<Database>,
  filter: ItemFilter,
  ordering: readonly ItemOrdering[],
  limit: number,
): Promise<Item[]> {
  const handle = driverHandleOf(db);
  if (handle.client === 'postgres' && ordering.length === 0 && filter.search === undefined) {
    const { product } = filter;
    const statement = namedList(db, product !== undefined, limit);
    const { rows } = await queryNamed<Item>(handle.pool, statement, product === undefined ? [limit] : [product, limit]);
    return rows;
  }
  return listItemsQuery(db, filter, ordering).limit(limit).execute();
}

/** The unfiltered read by id, the retrieve's statement; `$1` / `?` is the id. */
const FIND_BY_ID = {
  postgres: { name: 'find_item_by_id', text: 'select id, product, price, version from myapi_item where id = $1' },
  sqlite: 'select id, product, price, version from myapi_item where id = ?',
};

const sqliteFindById = new WeakMap<SQLite.Database, SQLite.Statement<[id: number | bigint], VersionedItem>>();

/**
 * {@link FIND_BY_ID} run by the driver itself, prepared once: a named statement on PostgreSQL (each
 * pooled connection parses and plans it once), a better-sqlite3 statement on SQLite, so the
 * hottest read skips building and compiling a Kysely query (BENCHMARKS.md). On SQLite it runs
 * outside Kysely's connection lock, which is safe because it is one synchronous read and the only
 * multi-statement transaction on that connection (the keyed create) is synchronous as well.
 */
function findItemById(db: Kysely<Database>, id: Item['id']): Promise<VersionedItem | undefined> {
  const handle = driverHandleOf(db);
  if (handle.client === 'postgres')
    return queryNamed<VersionedItem>(handle.pool, FIND_BY_ID.postgres, [id]).then(firstRow);
  let statement = sqliteFindById.get(handle.database);
  if (!statement) {
    statement = handle.database.prepare<[id: number | bigint], VersionedItem>(FIND_BY_ID.sqlite).safeIntegers(true);
    sqliteFindById.set(handle.database, statement);
  }
  try {
    const row = statement.get(id);
    return Promise.resolve(row && (exactRow(row) as VersionedItem));
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/** The first row of a result, if any. */
function firstRow<R>(result: { rows: R[] }): R | undefined {
  return result.rows[0];
}

/**
 * Finds one item by id, also requiring it to match `filter`; `undefined` when none does.
 *
 * @param db a handle made by `createDb` (not a transaction's).
 */
export function findItem(
  db: Kysely<Database>,
  id: Item['id'],
  filter: ItemFilter = {},
): Promise<VersionedItem | undefined> {
  if (filter.product === undefined && filter.search === undefined) return findItemById(db, id);
  return applyFilter(db, selectVersionedItems(db), filter).where('id', '=', id).executeTakeFirst();
}

/**
 * The version of every item an insert creates: the column's default (migration 0004), which no insert
 * sets. The `ETag` of a created item's stored answer is made from it (see `createItemOnce`).
 */
export const CREATED_VERSION = 1;

/** Inserts an item and returns it with its new id and version {@link CREATED_VERSION}. */
export async function createItem(db: Kysely<Database>, item: ItemWrite): Promise<VersionedItem> {
  return db
    .insertInto('myapi_item')
    .values({ product: item.product, price: item.price })
    .returning(['id', 'product', 'price', 'version'])
    .executeTakeFirstOrThrow();
}

/** The answer stored with a key: the created item as the API shows it (no version). */
function answerBody({ id, product, price }: Item): string {
  // Written by hand: JSON.stringify refuses a bigint id, and a number id would be rounded past 2^53.
  return `{"id":${String(id)},"product":${JSON.stringify(product)},"price":${String(price)}}`;
}

/**
 * PostgreSQL: the whole keyed create as one statement, so it costs one round trip like a plain
 * create. In order of evaluation:
 * 1. `pg_try_advisory_xact_lock(<table oid>, hashtext(key))`: held until the statement's transaction
 *    ends, on every instance; not getting it means another request with the key is running (409).
 *    The table's oid keeps keys of different schemas (one per test run, or per service) apart.
 * 2. The unexpired stored answer for the key, if any (replayed, or 422 for another fingerprint).
 * 3. Without one, and with the lock: the item insert and the key's row with the answer; when a purge
 *    is due, {@link pgCreateOnce}`(true)` also deletes up to {@link PURGE_BATCH} expired keys
 *    (`SKIP LOCKED`: concurrent purges never wait on each other).
 *
 * The statement's snapshot is taken before the lock, so a request committed between the two is not
 * seen in step 2; its key's primary key then fails this insert (23505), rolling the item back, and
 * {@link withKeyRetry} runs the statement again, which finds the stored answer.
 */
function pgCreateOnce(purge: boolean): string {
  return `
with lock as materialized (
  select pg_try_advisory_xact_lock('idempotency_key'::regclass::oid::int, hashtext($1)) as acquired
), previous as materialized (
  select fingerprint, status, body from idempotency_key where key = $1 and created_at >= $3
), item as (
  insert into myapi_item (product, price)
  select $5, $6 from lock where acquired and not exists (select from previous)
  returning id, product, price, version
), answer as (
  select id, product, price from item
), stored as (
  insert into idempotency_key (key, fingerprint, created_at, status, body)
  select $1, $2, $4, 201, row_to_json(answer)::text from answer
)${
    purge
      ? `, purged as (
  delete from idempotency_key where key in (
    select key from idempotency_key where created_at < $3 and key <> $1
    order by created_at limit ${PURGE_BATCH} for update skip locked)
)`
      : ''
  }
select (select acquired from lock) as acquired, p.fingerprint, p.status, p.body, i.id, i.product, i.price, i.version
from (select) as one left join previous p on true left join item i on true`;
}

/**
 * The two forms of {@link pgCreateOnce} as named statements: pg prepares each once per connection,
 * so PostgreSQL parses and plans the six-part statement once, not on every create.
 */
const PG_CREATE_ONCE = {
  plain: { name: 'create_item_once', text: pgCreateOnce(false) },
  purge: { name: 'create_item_once_purge', text: pgCreateOnce(true) },
};

/** The row {@link pgCreateOnce} answers; the item's columns are null unless it inserted one. */
interface PgCreateOnceRow {
  acquired: boolean;
  id: number | null;
  product: string | null;
  price: number | null;
  version: number | null;
  fingerprint: string | null;
  status: number | null;
  body: string | null;
}

/**
 * SQLite: the keyed create as one better-sqlite3 transaction of statements prepared once per
 * database (the transaction function too: making it costs on every call). The key's insert
 * replaces a row only when it runs after the lookup found no unexpired answer under the write lock,
 * so the row it replaces can only be an expired one.
 */
type SqliteCreateOnce = SQLite.Transaction<(item: ItemWrite, claim: KeyClaim) => KeyedOutcome<VersionedItem>>;

const sqliteCreateOnces = new WeakMap<SQLite.Database, SqliteCreateOnce>();

function sqliteCreateOnce(database: SQLite.Database): SqliteCreateOnce {
  let createOnce = sqliteCreateOnces.get(database);
  if (!createOnce) {
    const purge = database.prepare<[cutoff: number], void>(
      `delete from idempotency_key where key in (
        select key from idempotency_key where created_at < ? order by created_at limit ${PURGE_BATCH})`,
    );
    const previous = database.prepare<[key: string, cutoff: number], StoredAnswer>(
      'select fingerprint, status, body from idempotency_key where key = ? and created_at >= ?',
    );
    // safeIntegers: an id beyond 2^53 - 1 comes back exact (as exactRow carries it), not rounded.
    const insertItem = database
      .prepare<[product: string, price: number], VersionedItem>(
        'insert into myapi_item (product, price) values (?, ?) returning id, product, price, version',
      )
      .safeIntegers(true);
    const insertKey = database.prepare<[key: string, fingerprint: string, createdAt: number, body: string], void>(
      `insert into idempotency_key (key, fingerprint, created_at, status, body) values (?, ?, ?, 201, ?)
       on conflict (key) do update set fingerprint = excluded.fingerprint, created_at = excluded.created_at,
         status = excluded.status, body = excluded.body`,
    );
    createOnce = database.transaction((item: ItemWrite, claim: KeyClaim): KeyedOutcome<VersionedItem> => {
      const cutoff = claim.now - claim.ttlMs;
      if (purgeDue(database, claim)) purge.run(cutoff);
      const answer = previous.get(claim.key, cutoff);
      if (answer) return { kind: 'stored', answer };
      const created = exactRow(insertItem.get(item.product, item.price)) as VersionedItem;
      insertKey.run(claim.key, claim.fingerprint, claim.now, answerBody(created));
      return { kind: 'done', value: created };
    });
    sqliteCreateOnces.set(database, createOnce);
  }
  return createOnce;
}

/** Per database handle: when its next keyed create purges expired keys. */
const purgeSchedules = new WeakMap<object, PurgeSchedule>();

function purgeDue(handle: object, claim: KeyClaim): boolean {
  let schedule = purgeSchedules.get(handle);
  if (!schedule) purgeSchedules.set(handle, (schedule = new PurgeSchedule()));
  return schedule.due(claim.now, claim.ttlMs);
}

/**
 * Creates an item once per `Idempotency-Key`: the item and the key's stored answer (status 201 and the
 * item's JSON) are written in one transaction, so either both exist or neither does, whichever
 * instance ran it and whenever it stopped. When a purge is due ({@link PurgeSchedule}), the same
 * transaction deletes up to {@link PURGE_BATCH} expired keys.
 *
 * On PostgreSQL this is one prepared statement ({@link pgCreateOnce}). On SQLite, one
 * `BEGIN IMMEDIATE` transaction of prepared statements, run while holding Kysely's connection (so it
 * never interleaves with a Kysely transaction): `IMMEDIATE` takes the database's write lock before
 * anything is read, so a second process on the same file waits (`busy_timeout`) and then finds this
 * key's answer. SQLite runs one transaction at a time, so `in-progress` never happens there: a
 * concurrent request waits for the first and gets its stored answer.
 *
 * @param db a handle made by `createDb` (not a transaction's).
 * @returns `done` with the new item; `stored` with the answer of an earlier request with this key
 *   (whatever its fingerprint: the caller compares), the item as it was created, so at version
 *   {@link CREATED_VERSION} whatever happened to it since; `in-progress` while another holds the key.
 */
export async function createItemOnce(
  db: Kysely<Database>,
  item: ItemWrite,
  claim: KeyClaim,
): Promise<KeyedOutcome<VersionedItem>> {
  const cutoff = claim.now - claim.ttlMs;
  const handle = driverHandleOf(db);
  if (handle.client === 'postgres') {
    // Decided once: a retry repeats the purge that the failed attempt's rollback undid.
    const statement = purgeDue(handle.pool, claim) ? PG_CREATE_ONCE.purge : PG_CREATE_ONCE.plain;
    return withKeyRetry(db, claim, async (): Promise<KeyedOutcome<VersionedItem>> => {
      const { rows } = await queryNamed<PgCreateOnceRow>(handle.pool, statement, [
        claim.key,
        claim.fingerprint,
        cutoff,
        claim.now,
        item.product,
        item.price,
      ]);
      const row = rows[0]!;
      if (row.fingerprint !== null && row.status !== null && row.body !== null) {
        return { kind: 'stored', answer: { fingerprint: row.fingerprint, status: row.status, body: row.body } };
      }
      if (!row.acquired || row.id === null) return { kind: 'in-progress' };
      const { id, product, price, version } = row as VersionedItem;
      return { kind: 'done', value: { id, product, price, version } };
    });
  }
  const { database } = handle;
  const createOnce = sqliteCreateOnce(database);
  return db.connection().execute(async () => createOnce.immediate(item, claim));
}

/**
 * Sets the given fields on the item `id` if it exists, matches `filter` and its version meets
 * `condition` ({@link versionMeets}), raising its version by one; the version is compared in the
 * `UPDATE`'s own `WHERE`, so of two writers judging the same version only one succeeds.
 *
 * @returns the updated item, or `undefined` when no row matched (the caller tells 404 from 412 by
 *   reading the item). An empty `changes` writes nothing and returns the item if it matches.
 */
export async function updateItem(
  db: Kysely<Database>,
  id: Item['id'],
  changes: ItemPatch,
  filter: ItemFilter = {},
  condition?: VersionCondition,
): Promise<VersionedItem | undefined> {
  if (changes.product === undefined && changes.price === undefined) {
    const item = await findItem(db, id, filter);
    return item && versionMeets(condition, item.version) ? item : undefined;
  }
  if (meetsNone(condition)) return undefined;
  let query = db
    .updateTable('myapi_item')
    .set({ ...changes, version: sql<number>`version + 1` })
    .where('id', 'in', applyFilter(db, db.selectFrom('myapi_item').select('id'), filter).where('id', '=', id));
  for (const [operator, versions] of versionTerms(condition)) query = query.where('version', operator, versions);
  return query.returning(['id', 'product', 'price', 'version']).executeTakeFirst();
}

/**
 * Deletes the item `id` if it matches `filter` and its version meets `condition`
 * ({@link versionMeets}), compared in the `DELETE` itself.
 *
 * @returns whether a row was deleted (when not, the caller tells 404 from 412 by reading the item).
 */
export async function deleteItem(
  db: Kysely<Database>,
  id: Item['id'],
  filter: ItemFilter = {},
  condition?: VersionCondition,
): Promise<boolean> {
  if (meetsNone(condition)) return false;
  let query = db
    .deleteFrom('myapi_item')
    .where('id', 'in', applyFilter(db, db.selectFrom('myapi_item').select('id'), filter).where('id', '=', id));
  for (const [operator, versions] of versionTerms(condition)) query = query.where('version', operator, versions);
  const result = await query.executeTakeFirst();
  return result.numDeletedRows > 0n;
}
