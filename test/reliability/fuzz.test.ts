/**
 * Property-based fuzzing of every endpoint, through the real socket.
 *
 * Arbitrary JSON and non-JSON bodies (including `__proto__`/`constructor` keys and item-like objects
 * whose product and price have any type), query strings, ids, methods, `Content-Type` and `Accept`
 * headers. For every response: never a 5xx; a JSON 4xx body is `{"detail": string}` or
 * `{"field": [string, ...]}`; a 2xx item body matches the item schema and the stored row; a
 * refused write changed nothing (rows compared before/after). After each property, `/healthz`
 * still answers, and `Object.prototype` is untouched (the app runs in this process).
 *
 * Bounded: `FUZZ_RUNS` runs per property (default 200); `npm run fuzz` sets it higher. A failure
 * prints fast-check's seed and path; replay with `FUZZ_SEED=<seed>` (and `FUZZ_PATH=<path>`).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';
import { parseItemId } from '../../src/items/item.routes.js';
import type { ExactItem as Item } from '../helpers/item.js';

const RUNS = Number(process.env.FUZZ_RUNS || 200);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const PATH = process.env.FUZZ_PATH || undefined;
const params = (numRuns = RUNS): fc.Parameters<unknown> => ({
  numRuns,
  seed: SEED,
  path: PATH,
  endOnFailure: true,
  includeErrorInReport: true,
});

// ---- generators -------------------------------------------------------------------------------

/** Any value a product or price field could carry, with the edge cases of DRF's rules mixed in. */
const anyField = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 25 }),
  fc.string({ unit: 'binary', maxLength: 25 }),
  fc.integer(),
  fc.integer({ min: -1, max: 2_147_483_648 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt().map(String),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    2_147_483_647,
    2_147_483_648,
    -1,
    0,
    1e2,
    1.5,
    '1e2',
    ' 7 ',
    '１２３',
    '0x10',
    '',
    '   ',
    'a\u0000b',
    '\ud800',
    'x'.repeat(21),
  ),
);

/** Objects shaped like an item: product and/or price of any type, sometimes extra keys. */
const itemLike = fc.record(
  { product: anyField, price: anyField, id: anyField, extra: fc.jsonValue({ maxDepth: 2 }) },
  { requiredKeys: [] },
);

/** JSON text with `__proto__` / `constructor` / `prototype` keys, which a plain object literal can't carry. */
const pollutingJson = fc
  .tuple(
    fc.constantFrom('__proto__', 'constructor', 'prototype'),
    fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant({ polluted: 'yes', prototype: { polluted: 'yes' } })),
    itemLike,
  )
  .map(
    ([key, value, item]) =>
      `{${[`${JSON.stringify(key)}:${JSON.stringify(value)}`, ...Object.entries(item).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)].join(',')}}`,
  );

/** A request body as text: JSON of anything, item-like objects, polluting keys, or junk. */
const bodyText = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  itemLike.map((v) => JSON.stringify(v)),
  itemLike.map((v) => JSON.stringify(v)),
  pollutingJson,
  fc.string(),
  fc.constantFrom('', '{', 'null', '[]', '"x"', '\ufeff{}', '{"product":"a","price":1', 'product=a&price=1'),
);

/** Content-Type headers: the parsed three, their spellings, and ones that must be 415 or 400. */
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin-1',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=xyz',
  'text/plain',
  'application/xml',
  'application/vnd.api+json',
  'application/octet-stream',
  undefined,
);

/** Accept headers; `text/html` gets the browsable page, the others JSON or 406. */
const accept = fc.constantFrom(
  undefined,
  '*/*',
  'application/json',
  'application/json; indent=4',
  'application/*',
  'text/html',
  'text/plain',
  'application/xml',
  'image/png;q=0.5, */*;q=0.1',
  '',
);

/** Path ids: valid-looking, Python-int oddities, huge numbers, arbitrary (unicode) text. */
const id = fc.oneof(
  fc.integer({ min: -5, max: 50 }).map(String),
  fc.bigInt().map(String),
  fc.double().map(String),
  fc.constantFrom(
    '0',
    '007',
    '+1',
    ' 1',
    '1_0',
    '１',
    '9007199254740991',
    '9007199254740993',
    '1e3',
    '-0',
    'NaN',
    'x'.repeat(300),
  ),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
);

/** Query strings: known parameters with any values, unknown ones, and raw percent soup. */
const queryString = fc.oneof(
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom('product', 'search', 'ordering', 'format', 'page', 'limit', 'id'), fc.string()),
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.constantFrom('-price,id', 'price,-product', 'id;drop table', 'json', 'api', 'xml', '%', "' OR 1=1 --"),
        ),
      ),
      { maxLength: 5 },
    )
    .map((pairs) => new URLSearchParams(pairs).toString()),
  fc
    .string({ unit: fc.constantFrom('%', '2', 'f', 'F', 'G', '0', '=', '&', '+', 'a', '?', '#', 'é', ';') })
    .map((s) => encodeURI(s).replaceAll('%25', '%').replaceAll('#', '%23')),
);

const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'FOO');

// ---- checks -----------------------------------------------------------------------------------

const inRange = (n: unknown, min: number, max: number) =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max;

/** Whether `value` is a stored item as the API shows it (ItemSchema: id ≥ 1, product 1–20 code points trimmed, price 0–2^31-1). */
function assertItem(value: unknown, context: string): asserts value is Item {
  assert.ok(value && typeof value === 'object' && !Array.isArray(value), `${context}: item is an object`);
  const item = value as Record<string, unknown>;
  assert.deepEqual(Object.keys(item).sort(), ['id', 'price', 'product'], context);
  assert.ok(inRange(item.id, 1, Number.MAX_SAFE_INTEGER), `${context}: id ${String(item.id)}`);
  assert.ok(inRange(item.price, 0, 2_147_483_647), `${context}: price ${String(item.price)}`);
  assert.equal(typeof item.product, 'string', context);
  const product = item.product as string;
  assert.ok([...product].length >= 1 && [...product].length <= 20, `${context}: product length`);
  assert.equal(product, product.trim(), `${context}: product trimmed`);
}

/** A JSON 4xx body is DRF's `{"detail": string}` or `{"field": [string, ...], ...}`. */
function assertErrorBody(body: unknown, context: string): void {
  assert.ok(body && typeof body === 'object' && !Array.isArray(body), `${context}: error body is an object`);
  const entries = Object.entries(body as Record<string, unknown>);
  assert.ok(entries.length > 0, `${context}: error body not empty`);
  if ('detail' in (body as object)) {
    assert.equal(entries.length, 1, `${context}: detail alone`);
    assert.equal(typeof (body as { detail: unknown }).detail, 'string', `${context}: detail is a string`);
    return;
  }
  for (const [field, messages] of entries) {
    assert.ok(Array.isArray(messages) && messages.length > 0, `${context}: ${field} has a message list`);
    for (const message of messages) assert.equal(typeof message, 'string', `${context}: ${field} message`);
  }
}

interface Seen {
  status: number;
  contentType: string;
  body: unknown;
  text: string;
}

/**
 * Sends one request and applies the checks every response must pass (no 5xx, JSON error shape,
 * item schema on 2xx item bodies); returns what was seen for the property's own checks.
 */
async function send(
  api: TestApp,
  path: string,
  init: { method: string; body?: string; contentType?: string; accept?: string },
): Promise<Seen> {
  const headers: Record<string, string> = {};
  if (init.contentType !== undefined) headers['content-type'] = init.contentType;
  if (init.accept !== undefined) headers.accept = init.accept;
  const hasBody = init.body !== undefined && !['GET', 'HEAD'].includes(init.method);
  // undici's request, not fetch: fetch refuses methods such as TRACE and some header values.
  const response = await request(api.baseUrl + path, {
    method: init.method,
    headers,
    body: hasBody ? init.body : undefined,
  });
  const status = response.statusCode;
  const text = await response.body.text();
  const contentType = String(response.headers['content-type'] ?? '');
  const context = `${init.method} ${path} [${init.contentType ?? '-'} / ${init.accept ?? '-'}] body=${JSON.stringify(init.body)?.slice(0, 200)} → ${status} ${text.slice(0, 200)}`;
  assert.ok(status < 500, `no 5xx: ${context}`);
  let body: unknown;
  if (contentType.startsWith('application/json') && text !== '') {
    body = JSON.parse(text);
    if (status >= 400) assertErrorBody(body, context);
  } else if (status >= 400 && init.method !== 'HEAD') {
    // Only the browsable API (asked for with Accept: text/html or ?format=api) renders errors as HTML.
    assert.ok(contentType.startsWith('text/html'), `4xx is JSON or the HTML view: ${context}`);
  }
  return { status, contentType, body, text };
}

async function rows(api: TestApp): Promise<Item[]> {
  return api.db.kysely.selectFrom('myapi_item').select(['id', 'product', 'price']).orderBy('id').execute();
}

async function seed(api: TestApp, n = 5): Promise<Item[]> {
  for (let i = 1; i <= n; i++) {
    const response = await api.request('/api/items/', {
      method: 'POST',
      json: { product: `Seed ${i}`, price: i * 10 },
    });
    assert.equal(response.status, 201);
  }
  return rows(api);
}

const isJsonItemResponse = (seen: Seen) => seen.contentType.startsWith('application/json') && seen.body !== undefined;

async function assertStillServing(api: TestApp): Promise<void> {
  const response = await fetch(`${api.baseUrl}/healthz`);
  assert.equal(response.status, 200, 'healthz after the property');
  assert.equal(await response.text(), 'OK');
  // The app runs in this process: no body may have reached Object.prototype.
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype polluted');
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), OBJECT_PROTOTYPE_KEYS);
}
const OBJECT_PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

// ---- properties -------------------------------------------------------------------------------

/** create: any body, any Content-Type/Accept. 201 stores exactly the item answered; a refusal stores nothing. */
async function createProperty(api: TestApp, numRuns = RUNS): Promise<void> {
  await fc.assert(
    fc.asyncProperty(bodyText, contentType, accept, async (body, type, acceptHeader) => {
      const before = await rows(api);
      const seen = await send(api, '/api/items/', { method: 'POST', body, contentType: type, accept: acceptHeader });
      const after = await rows(api);
      if (seen.status === 201 && isJsonItemResponse(seen)) {
        assertItem(seen.body, 'created');
        assert.equal(after.length, before.length + 1, 'one row added');
        assert.deepEqual(after.at(-1), seen.body, 'the stored row is the one answered');
      } else if (seen.status === 201) {
        assert.equal(after.length, before.length + 1, 'one row added (HTML view)');
      } else {
        assert.ok(seen.status >= 400, `create answered ${seen.status}`);
        assert.deepEqual(after, before, `refused create (${seen.status}) changed nothing`);
      }
    }),
    params(numRuns),
  );
}

/** A fresh app on a fresh SQLite file, with five items in it. */
async function seededApp(t: TestContext): Promise<{ app: TestApp; seeded: Item[] }> {
  const app = await startTestApp(t);
  return { app, seeded: await seed(app) };
}

describe('fuzz: every endpoint, arbitrary input (SQLite, real socket)', () => {
  it(`create: any body, Content-Type and Accept → 201 with the stored item, or a JSON 4xx and nothing stored (${RUNS} runs)`, async (t) => {
    const { app } = await seededApp(t);
    await createProperty(app);
    await assertStillServing(app);
  });

  it(`update / partial_update: any id and body → 200 with the stored item, or a 4xx and no row changed (${RUNS} runs each)`, async (t) => {
    const { app, seeded } = await seededApp(t);
    for (const verb of ['PUT', 'PATCH']) {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.constantFrom(...seeded.map((item) => String(item.id))), id),
          bodyText,
          contentType,
          accept,
          async (rawId, body, type, acceptHeader) => {
            const before = await rows(app);
            const seen = await send(app, `/api/items/${encodeURIComponent(rawId)}/`, {
              method: verb,
              body,
              contentType: type,
              accept: acceptHeader,
            });
            const after = await rows(app);
            if (seen.status === 200 && isJsonItemResponse(seen)) {
              assertItem(seen.body, `${verb} answer`);
              assert.deepEqual(
                after.find((row) => row.id === (seen.body as Item).id),
                seen.body,
                `${verb}: stored row equals the answer`,
              );
              assert.equal(after.length, before.length, `${verb}: no row added or removed`);
            } else if (seen.status >= 400) {
              assert.deepEqual(after, before, `${verb} refused (${seen.status}): nothing changed`);
            }
          },
        ),
        params(),
      );
    }
    await assertStillServing(app);
  });

  it(`retrieve / destroy / OPTIONS / HEAD: any id → 200/204 for a real item, else JSON 404, never another item (${RUNS} runs)`, async (t) => {
    const { app } = await seededApp(t);
    await fc.assert(
      fc.asyncProperty(
        id,
        fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'DELETE'),
        accept,
        fc.option(queryString, { nil: undefined }),
        async (rawId, verb, acceptHeader, query) => {
          const before = await rows(app);
          const path = `/api/items/${encodeURIComponent(rawId)}/${query ? `?${query}` : ''}`;
          const seen = await send(app, path, { method: verb, accept: acceptHeader });
          const after = await rows(app);
          if (verb === 'GET' && seen.status === 200 && isJsonItemResponse(seen)) {
            assertItem(seen.body, 'retrieved');
            assert.ok(
              before.some((row) => JSON.stringify(row) === JSON.stringify(seen.body)),
              'retrieved a stored row',
            );
            // The item answered is the one the id names (Python int() rules), never another one.
            assert.equal((seen.body as Item).id, parseItemId(rawId), `id ${JSON.stringify(rawId)}`);
          }
          if (verb === 'DELETE' && seen.status === 204)
            assert.equal(after.length, before.length - 1, 'one row deleted');
          if (verb !== 'DELETE' || seen.status !== 204)
            assert.deepEqual(after, before, `${verb} ${seen.status} changed nothing`);
        },
      ),
      params(),
    );
    await assertStillServing(app);
  });

  it(`list: any query string and Accept → 200 with a list of items or a JSON 4xx (${RUNS} runs)`, async (t) => {
    const { app } = await seededApp(t);
    await fc.assert(
      fc.asyncProperty(queryString, accept, async (query, acceptHeader) => {
        const seen = await send(app, `/api/items/?${query}`, { method: 'GET', accept: acceptHeader });
        if (seen.status === 200 && isJsonItemResponse(seen)) {
          assert.ok(Array.isArray(seen.body), 'list answers an array');
          for (const item of seen.body as unknown[]) assertItem(item, 'listed');
        }
      }),
      params(),
    );
    await assertStillServing(app);
  });

  it(`api root, healthz, list and detail: any method, query, body and headers → no 5xx, JSON 4xx (${RUNS} runs)`, async (t) => {
    const { app } = await seededApp(t);
    const path = fc.oneof(
      fc.constantFrom(
        '/api/',
        '/healthz',
        '/api/items/',
        '/api',
        '/api/items',
        '/',
        '/admin/',
        '/api/items/1/',
        '/docs',
        '/openapi.json',
      ),
      id.map((raw) => `/api/items/${encodeURIComponent(raw)}/`),
      fc.string().map((raw) => `/${encodeURIComponent(raw)}`),
      // Raw path soup: broken percent-encoding, dot segments, encoded slashes.
      fc
        .string({
          unit: fc.constantFrom(
            '%',
            '2',
            'e',
            'E',
            'f',
            'F',
            '/',
            '.',
            'C0',
            'AE',
            '1',
            '..',
            '%2f',
            '%2e',
            '%00',
            '%ff',
          ),
        })
        .map((raw) => `/api/items/${raw}/`),
    );
    await fc.assert(
      fc.asyncProperty(
        path,
        method,
        fc.option(queryString, { nil: undefined }),
        fc.option(bodyText, { nil: undefined }),
        contentType,
        accept,
        async (p, verb, query, body, type, acceptHeader) => {
          const before = await rows(app);
          const seen = await send(app, `${p}${query ? `?${query}` : ''}`, {
            method: verb,
            body,
            contentType: type,
            accept: acceptHeader,
          });
          if (seen.status >= 400) {
            assert.deepEqual(await rows(app), before, `${verb} ${p} refused (${seen.status}): nothing changed`);
          }
        },
      ),
      params(),
    );
    await assertStillServing(app);
  });
});

describe('fuzz on PostgreSQL: create with any body', () => {
  it(`create: any body, Content-Type and Accept → 201 with the stored item, or a JSON 4xx and nothing stored (${RUNS} runs)`, async (t) => {
    const postgres = BACKENDS.find((backend) => backend.name === 'postgres')!;
    const api = await startTestApp(t, { DATABASE_URL: await postgres.databaseUrl(t) });
    await createProperty(api);
    await assertStillServing(api);
  });
});
