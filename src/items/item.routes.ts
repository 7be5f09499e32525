/**
 * The items resource, as DRF's `ModelViewSet` behind a `DefaultRouter` served it:
 * list and create at `/api/items/`; retrieve, update, partial_update and destroy at `/api/items/{id}/`.
 *
 * Status codes and bodies follow DRF: 201 with the item on create, 204 with no body on destroy,
 * 404 `{"detail"}` for a missing id (checked before the body is validated, as `get_object()` runs
 * first), 400 `{"field": [...]}` for invalid fields. The `?product=` / `?search=` filters narrow the
 * detail URLs too (DRF's `filter_queryset` in `get_object`).
 *
 * @module
 */
import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CompiledQuery } from 'kysely';
import { Type } from 'typebox';
import { exactInteger } from '../db/database.js';
import { sendArrayStream } from '../drf/array-stream.js';
import { readBody } from '../drf/body-parsers.js';
import { lastQueryValue, methodNotAllowedRoute, type DrfViewConfig } from '../drf/view.js';
import { ApiError, notFound } from '../drf/errors.js';
import {
  IF_NONE_MATCH_FAILED,
  ifMatchFails,
  isNotModified,
  preconditionFailed,
  sendNotModified,
  untaggedPreconditionsFail,
} from '../drf/conditional.js';
import { readIdempotencyKey, replayKeyedOutcome, requestFingerprint } from '../drf/idempotency-key.js';
import { parsePythonInt, pythonStrip } from '../drf/python.js';
import { viewMetadata } from '../drf/metadata.js';
import { API_PREFIX, type ResourceOptions } from '../drf/resource.js';
import { BadRequest, Detail } from '../drf/schemas.js';
import { itemETag, versionCondition } from './item.etag.js';
import { ITEM_FIELDS } from './item.metadata.js';
import * as repository from './item.repository.js';
import {
  CreateHeaders,
  Item,
  ITEM_ID_MAXIMUM,
  ItemList,
  ItemParams,
  ItemPatch,
  ItemQuery,
  ItemWrite,
  ListConditionHeaders,
  ListNotModified,
  NotModified,
  ORDERING_FIELDS,
  RetrieveConditionHeaders,
  WriteConditionHeaders,
} from './item.schema.js';
import { validateItem } from './item.serializer.js';

/**
 * Most words `?search=` takes. Each word is one more `LIKE` condition; SQLite refuses an expression
 * tree deeper than 1000 (SQLITE_MAX_EXPR_DEPTH), which ~1000 words reached with a 500. DRF sets no
 * limit; 32 is far beyond a product name's 20 characters.
 */
const MAX_SEARCH_TERMS = 32;

/** DRF's router basename: `/api/items/` and `/api/items/{id}/`. */
export const BASENAME = 'items';
const LIST_URL = `${API_PREFIX}${BASENAME}/`;
const DETAIL_URL = `${LIST_URL}:id/`;

/**
 * Rows the list reads from its database cursor at a time (about 40 kB of JSON). A list that fits
 * in one batch is answered whole, as before streaming existed (with a `Content-Length`); a longer
 * one is streamed. The figures behind the size are in BENCHMARKS.md ("Big lists").
 */
export const LIST_BATCH_ROWS = 1000;

const LIST: DrfViewConfig = { allow: 'GET, POST, HEAD, OPTIONS', viewName: 'Item List' };
const DETAIL: DrfViewConfig = { allow: 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS', viewName: 'Item Instance' };

/**
 * Reads `?product=` and `?search=` as django-filter and DRF's `SearchFilter` do: last value wins,
 * `product` is trimmed and ignored when blank, search terms split on whitespace and commas.
 *
 * @throws {ApiError} 400 `{"product": [...]}` when `product` contains NUL (Django's form validation);
 *   400 `{"search": [...]}` for more than {@link MAX_SEARCH_TERMS} words.
 */
function readFilter(request: FastifyRequest): repository.ItemFilter {
  const filter: repository.ItemFilter = {};
  const product = lastQueryValue(request, 'product');
  if (product !== undefined) {
    if (product.includes('\0')) throw new ApiError(400, { product: ['Null characters are not allowed.'] });
    const stripped = pythonStrip(product);
    if (stripped !== '') filter.product = stripped;
  }
  const search = lastQueryValue(request, 'search');
  if (search !== undefined) {
    const terms = search.replaceAll('\0', '').replaceAll(',', ' ').split(/\s+/u).filter(Boolean);
    if (terms.length > MAX_SEARCH_TERMS) {
      throw new ApiError(400, { search: [`Ensure this field has no more than ${MAX_SEARCH_TERMS} words.`] });
    }
    if (terms.length) filter.search = terms;
  }
  return filter;
}

/**
 * Reads `?ordering=` as DRF's `OrderingFilter`: comma-separated fields, `-` for descending; unknown
 * fields are dropped, and with none left the default order (by id) applies.
 */
function readOrdering(request: FastifyRequest): repository.ItemOrdering[] {
  const raw = lastQueryValue(request, 'ordering') ?? '';
  const ordering: repository.ItemOrdering[] = [];
  for (const term of raw.split(',').map((t) => t.trim())) {
    const field = term.replace(/^-/, '') as repository.ItemOrdering['field'];
    // A field named again cannot change the order its first term set, and SQLite refuses an ORDER BY
    // of 2,000 terms or more (SQLITE_MAX_COLUMN; it was a 500): repeats are dropped.
    if ((ORDERING_FIELDS as readonly string[]).includes(field) && !ordering.some((o) => o.field === field)) {
      ordering.push({ field, direction: term.startsWith('-') ? 'desc' : 'asc' });
    }
  }
  return ordering;
}

/**
 * Parses a URL id as Django's `BigAutoField` lookup (Python `int()`: `007`, ` 7`, `+7` find item 7).
 * @returns the id ({@link exactInteger}: a bigint beyond 2^53 - 1), or `undefined` when no item can
 *   have it (not an integer, below 1, above 2^63 - 1).
 */
export function parseItemId(raw: string): number | bigint | undefined {
  const value = parsePythonInt(raw);
  if (value === undefined || value < 1n || value > ITEM_ID_MAXIMUM) return undefined;
  return exactInteger(value);
}

/** The id in the URL. @throws {ApiError} 404 when no item can have it. */
function idOf(raw: string): number | bigint {
  const id = parseItemId(raw);
  if (id === undefined) throw notFound();
  return id;
}

const passThrough = () => (value: unknown) => ({ value });

/** Registers the items routes on `scope`, storing through `db`. */
export async function itemRoutes(
  scope: FastifyInstance,
  { db, idempotencyKeyTtlMs, listStreamTimeoutMs }: ResourceOptions,
): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const kysely = db.kysely;
  // Validation is DRF's (item.serializer.ts, reading the limits from these same schemas), run inside
  // the handlers so that a missing item answers 404 before its body is judged.
  app.setValidatorCompiler(passThrough);

  /**
   * The 412 for a write whose `condition` an item at `version` did not meet. `If-Match` is judged
   * first (RFC 9110 §13.2.2), so its failure is the one reported; when it holds (or is absent), the
   * failure was `If-None-Match`'s.
   */
  function preconditionError(condition: repository.VersionCondition, version: number) {
    const ifMatchHolds = !condition.versions || condition.versions.includes(version);
    return ifMatchHolds && condition.refused ? preconditionFailed(IF_NONE_MATCH_FAILED) : preconditionFailed();
  }

  /**
   * Why a conditional write to item `id` changed nothing: 404 when there is no such item, else 412
   * (RFC 9110 §13.2.1: the 404 the request would get without its precondition comes first).
   */
  async function unchangedError(
    id: Item['id'],
    filter: repository.ItemFilter,
    condition?: repository.VersionCondition,
  ) {
    if (!condition) return notFound();
    const item = await repository.findItem(kysely, id, filter);
    return item ? preconditionError(condition, item.version) : notFound();
  }

  /**
   * DRF order for writes to one item: filter errors, then 404, then (RFC 9110 §13.2.1: preconditions
   * are evaluated before the content) `If-Match`'s or `If-None-Match`'s 412, then the body's 400 or 415.
   */
  async function validatedChanges(
    request: FastifyRequest,
    id: number | bigint,
    filter: repository.ItemFilter,
    partial: boolean,
    condition: repository.VersionCondition | undefined,
  ) {
    const checkItem = async () => {
      const item = await repository.findItem(kysely, id, filter);
      if (!item) throw notFound();
      if (condition && !repository.versionMeets(condition, item.version)) {
        throw preconditionError(condition, item.version);
      }
    };
    let body: unknown;
    try {
      body = readBody(request);
    } catch (error) {
      await checkItem();
      throw error;
    }
    const result = partial ? validateItem(body, { partial: true }) : validateItem(body, { partial: false });
    if (!result.ok) {
      await checkItem();
      throw new ApiError(400, result.errors);
    }
    return result.value;
  }

  app.get(LIST_URL, {
    config: LIST,
    schema: {
      operationId: 'list',
      summary: 'List items',
      tags: ['items'],
      querystring: ItemQuery,
      headers: ListConditionHeaders,
      response: { 200: ItemList, 304: ListNotModified, 400: BadRequest, 404: Detail, 412: Detail, 503: Detail },
    },
    handler: async (request, reply) => list(request, reply),
  });

  /** Opens the list's cursor and reads its first batch (closing the cursor if that fails). */
  async function openList(query: CompiledQuery<Item>, timeoutMs?: number) {
    const cursor = await db.openCursor(query, LIST_BATCH_ROWS, timeoutMs);
    try {
      return { cursor, first: await cursor.read() };
    } catch (error) {
      await cursor.close(error);
      throw error;
    }
  }

  /**
   * The list. Its first batch is read before anything is answered (on PostgreSQL by an ordinary
   * query limited to one row more than a batch, on SQLite through a cursor), so a database that
   * fails at once gets the usual error response (503); a list longer than one batch is then read
   * again through a cursor and streamed (drf/array-stream.ts), and a failure after that cuts the
   * response.
   */
  async function list(request: FastifyRequest, reply: FastifyReply) {
    const filter = readFilter(request);
    const ordering = readOrdering(request);
    if (untaggedPreconditionsFail(request)) return sendNotModified(reply);
    // Built only for a cursor: the short PostgreSQL list runs its own limited statement.
    const compileList = () => repository.listItemsQuery(kysely, filter, ordering).compile();
    let query: CompiledQuery<Item> | undefined;
    if (db.client === 'postgres') {
      // One ordinary query for a list that fits in a batch (most filtered lists): a cursor costs a
      // pooled connection held across reads and a portal. On SQLite the query stays behind a cursor,
      // whose reads share each turn's slice: a search scans the whole table however few it finds.
      const rows = await repository.listFirstRows(kysely, filter, ordering, LIST_BATCH_ROWS + 1);
      if (rows.length <= LIST_BATCH_ROWS) return rows;
    } else {
      query = compileList();
      const { cursor, first } = await openList(query);
      await cursor.close();
      if (first.length < LIST_BATCH_ROWS) return first;
    }
    if (request.method === 'HEAD') {
      // Headers only: no need to read the rest (Fastify drains a stream answered to HEAD).
      return reply.type('application/json; charset=utf-8').send(Readable.from([]));
    }
    // A longer list: read again under the stream's own limit, as the database's statement timeout
    // would otherwise cut it however fast the client reads (db/cursor.ts). Nothing is sent yet, so
    // the answer is still one consistent read; the first batch is all that is read twice. The
    // database's limit is a second later than the stream's, a backstop: the stream's own timer
    // closes the cursor cleanly first.
    const { cursor, first } = await openList(query ?? compileList(), listStreamTimeoutMs + 1000);
    // The route's own 200 serializer, so each batch is written exactly as the whole array would be.
    const serialize = reply.getSerializationFunction('200') as unknown as (items: readonly Item[]) => string;
    return sendArrayStream(request, reply, {
      first,
      source: cursor,
      serialize,
      title: LIST.viewName,
      timeoutMs: listStreamTimeoutMs,
    });
  }

  app.post(LIST_URL, {
    config: LIST,
    schema: {
      operationId: 'create',
      summary: 'Create an item',
      tags: ['items'],
      headers: CreateHeaders,
      body: ItemWrite,
      response: {
        201: Item,
        400: BadRequest,
        409: Detail,
        412: Detail,
        413: Detail,
        415: Detail,
        422: Detail,
        503: Detail,
      },
    },
    handler: async (request, reply: FastifyReply) => {
      const key = readIdempotencyKey(request);
      // The list always exists and has no ETag: `If-Match: *` passes, a tag or `If-None-Match: *` is 412.
      untaggedPreconditionsFail(request);
      const result = validateItem(readBody(request), { partial: false });
      if (!result.ok) throw new ApiError(400, result.errors);
      if (key === undefined) {
        const item = await repository.createItem(kysely, result.value);
        return reply.code(201).header('etag', itemETag(item.version)).send(item);
      }
      const fingerprint = requestFingerprint(request, result.value);
      const outcome = await repository.createItemOnce(kysely, result.value, {
        key,
        fingerprint,
        now: Date.now(),
        ttlMs: idempotencyKeyTtlMs,
      });
      // The stored answer is the item as created: its ETag is the created version's, as the first
      // answer's was, even if the item changed since (the draft replays the first answer).
      if (outcome.kind !== 'done') {
        return replayKeyedOutcome(reply, outcome, fingerprint, { etag: itemETag(repository.CREATED_VERSION) });
      }
      return reply.code(201).header('etag', itemETag(outcome.value.version)).send(outcome.value);
    },
  });

  app.options(LIST_URL, { config: LIST, schema: { hide: true } }, async () =>
    viewMetadata(LIST.viewName, '', { method: 'POST', fields: ITEM_FIELDS }),
  );
  methodNotAllowedRoute(app, LIST_URL, LIST);

  const detailSchema = { params: ItemParams, querystring: Type.Omit(ItemQuery, ['ordering']), tags: ['items'] };

  app.get(DETAIL_URL, {
    config: DETAIL,
    schema: {
      ...detailSchema,
      operationId: 'retrieve',
      summary: 'Retrieve an item',
      headers: RetrieveConditionHeaders,
      response: { 200: Item, 304: NotModified, 400: BadRequest, 404: Detail, 412: Detail, 503: Detail },
    },
    handler: async (request, reply: FastifyReply) => {
      const item = await repository.findItem(kysely, idOf(request.params.id), readFilter(request));
      if (!item) throw notFound();
      const etag = itemETag(item.version);
      // If-Match, then If-None-Match (RFC 9110 §13.2.2), once the 404 has been ruled out (§13.2.1).
      if (ifMatchFails(request, etag)) throw preconditionFailed();
      if (isNotModified(request, etag)) return sendNotModified(reply, etag);
      return reply.header('etag', etag).send(item);
    },
  });

  for (const [method, partial] of [
    ['PUT', false],
    ['PATCH', true],
  ] as const) {
    app.route({
      method,
      url: DETAIL_URL,
      config: DETAIL,
      schema: {
        ...detailSchema,
        operationId: partial ? 'partial_update' : 'update',
        summary: partial ? 'Change some fields of an item' : 'Replace an item',
        headers: WriteConditionHeaders,
        body: partial ? ItemPatch : ItemWrite,
        response: { 200: Item, 400: BadRequest, 404: Detail, 412: Detail, 413: Detail, 415: Detail, 503: Detail },
      },
      handler: async (request, reply) => {
        const id = idOf(request.params.id);
        const filter = readFilter(request);
        const condition = versionCondition(request);
        const changes = await validatedChanges(request, id, filter, partial, condition);
        const item = await repository.updateItem(kysely, id, changes, filter, condition);
        if (!item) throw await unchangedError(id, filter, condition);
        reply.header('etag', itemETag(item.version));
        return item;
      },
    });
  }

  app.delete(DETAIL_URL, {
    config: DETAIL,
    schema: {
      ...detailSchema,
      operationId: 'destroy',
      summary: 'Delete an item',
      headers: WriteConditionHeaders,
      response: { 204: Type.Null(), 400: BadRequest, 404: Detail, 412: Detail, 503: Detail },
    },
    // The reply is typed plainly: 204 has no body, and send() without one (not `null`) leaves none for
    // the onSend hooks to log or render.
    handler: async (request, reply: FastifyReply) => {
      const id = idOf(request.params.id);
      const filter = readFilter(request);
      const condition = versionCondition(request);
      if (!(await repository.deleteItem(kysely, id, filter, condition))) {
        throw await unchangedError(id, filter, condition);
      }
      return reply.code(204).send();
    },
  });

  app.options(DETAIL_URL, { config: DETAIL, schema: { hide: true, params: ItemParams } }, async (request) => {
    const id = parseItemId(request.params.id);
    const exists = id !== undefined && (await repository.findItem(kysely, id, readFilter(request))) !== undefined;
    return viewMetadata(DETAIL.viewName, '', exists ? { method: 'PUT', fields: ITEM_FIELDS } : undefined);
  });
  methodNotAllowedRoute(app, DETAIL_URL, DETAIL);
}
