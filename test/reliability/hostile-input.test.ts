/**
 * Hostile input, through the real socket: SQL injection in every parameter (both
 * backends), `__proto__`/`constructor` keys, oversized bodies, deeply nested JSON, invalid UTF-8,
 * very long URLs, slow clients, and path tricks. Never a 5xx, always a JSON error, the table intact,
 * and never another item's data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';
import { connect, parseResponses } from '../helpers/raw-http.js';
import type { ExactItem as Item } from '../helpers/item.js';

/** Classic injection strings, for SQLite and PostgreSQL syntax alike. */
const INJECTIONS = [
  "' OR '1'='1",
  "' OR 1=1 --",
  '" OR ""="',
  "'; DROP TABLE myapi_item; --",
  '1; DROP TABLE myapi_item',
  "1' UNION SELECT id, product, price FROM myapi_item --",
  "') OR ('1'='1",
  "%' OR '%'='",
  '\\',
  "\\'; DELETE FROM myapi_item; --",
  '$1',
  "'||(SELECT pg_sleep(0))||'",
  '1) OR (1=1',
  'id DESC; DELETE FROM myapi_item',
  '-price,(select 1)',
  'product); DROP TABLE myapi_item; --',
  '\u0000',
  '*/ OR 1=1 /*',
];

async function json<T = unknown>(response: Response): Promise<{ status: number; body: T; type: string }> {
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    body: (text && type.startsWith('application/json') ? JSON.parse(text) : text) as T,
    type,
  };
}

function assertJsonError(result: { status: number; body: unknown; type: string }, status: number, context: string) {
  assert.equal(result.status, status, `${context}: ${JSON.stringify(result.body)}`);
  assert.match(result.type, /^application\/json/, context);
  assert.ok(result.body && typeof result.body === 'object' && !Array.isArray(result.body), context);
  const body = result.body as Record<string, unknown>;
  assert.ok(
    typeof body.detail === 'string' || Object.values(body).every((v) => Array.isArray(v)),
    `${context}: DRF error shape`,
  );
}

async function seed(api: TestApp): Promise<Item[]> {
  const items: Item[] = [];
  for (const [product, price] of [
    ['Apple', 100],
    ['Banana', 50],
    ['Cherry', 7],
  ] as const) {
    const response = await api.request('/api/items/', { method: 'POST', json: { product, price } });
    items.push((await json<Item>(response)).body);
  }
  return items;
}

async function tableRows(api: TestApp): Promise<Item[]> {
  return api.db.kysely.selectFrom('myapi_item').select(['id', 'product', 'price']).orderBy('id').execute();
}

for (const backend of BACKENDS) {
  describe(`SQL injection on ${backend.name}`, () => {
    it(`in ?product=, ?search=, ?ordering=, the id and the body (${INJECTIONS.length} payloads each): no 5xx, literal matching, the table intact`, async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const seeded = await seed(api);
      const created: Item[] = [];
      for (const payload of INJECTIONS) {
        const q = encodeURIComponent(payload);
        const byProduct = await json<Item[]>(await api.request(`/api/items/?product=${q}`));
        if (payload.includes('\u0000')) assertJsonError(byProduct, 400, 'NUL in ?product=');
        else assert.deepEqual(byProduct, { status: 200, body: [], type: byProduct.type }, `?product=${payload}`);

        const bySearch = await json<Item[]>(await api.request(`/api/items/?search=${q}`));
        assert.equal(bySearch.status, 200, `?search=${payload}`);
        // Search terms match literally: only items whose product contains every term.
        const terms = payload.replaceAll('\u0000', '').replaceAll(',', ' ').split(/\s+/).filter(Boolean);
        const expected = [...seeded, ...created].filter((item) =>
          terms.every((term) => item.product.toLowerCase().includes(term.toLowerCase())),
        );
        assert.deepEqual(bySearch.body, expected, `?search=${payload}`);

        const ordered = await json<Item[]>(await api.request(`/api/items/?ordering=${q}`));
        assert.equal(ordered.status, 200, `?ordering=${payload}`);
        assert.equal(ordered.body.length, seeded.length + created.length, `?ordering=${payload} lists everything`);

        for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
          const detail = await json(
            await api.request(`/api/items/${q}/`, {
              method,
              json: method.startsWith('P') ? { product: 'x', price: 1 } : undefined,
            }),
          );
          assertJsonError(detail, 404, `${method} /api/items/${payload}/`);
        }
        const filteredDetail = await json(await api.request(`/api/items/${seeded[0]!.id}/?product=${q}`));
        assert.equal(filteredDetail.status, payload.includes('\u0000') ? 400 : 404, `detail ?product=${payload}`);

        const product = payload.slice(0, 20).trim();
        const create = await json<Item>(
          await api.request('/api/items/', { method: 'POST', json: { product, price: 1 } }),
        );
        if (create.status === 201) {
          assert.equal(create.body.product, product, 'stored literally');
          created.push(create.body);
          const back = await json<Item>(await api.request(`/api/items/${create.body.id}/`));
          assert.deepEqual(back.body, create.body, 'read back literally');
        } else {
          assertJsonError(create, 400, `create with product ${JSON.stringify(product)}`);
        }
        const patchPrice = await json(
          await api.request(`/api/items/${seeded[1]!.id}/`, { method: 'PATCH', json: { price: payload } }),
        );
        assertJsonError(patchPrice, 400, `PATCH price ${JSON.stringify(payload)}`);
      }
      assert.deepEqual(
        await tableRows(api),
        [...seeded, ...created],
        'the table holds exactly the seeded and created rows',
      );
    });
  });
}

describe('hostile bodies', () => {
  it('__proto__ and constructor keys are ignored, in JSON, form and multipart bodies, and pollute nothing', async (t) => {
    const api = await startTestApp(t);
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const post = (body: string, type: string) =>
      api.request('/api/items/', { method: 'POST', body, headers: { 'content-type': type } });

    // The price must not be read through a polluted prototype.
    assert.deepEqual(
      await json(await post('{"__proto__":{"price":5,"polluted":"yes"},"product":"x"}', 'application/json')),
      {
        status: 400,
        body: { price: ['This field is required.'] },
        type: 'application/json; charset=utf-8',
      },
    );
    const withConstructor = await json<Item>(
      await post('{"constructor":{"prototype":{"polluted":"yes"}},"product":"x","price":1}', 'application/json'),
    );
    assert.equal(withConstructor.status, 201);
    assert.deepEqual(Object.keys(withConstructor.body), ['id', 'product', 'price']);
    const nested = await json(await post('{"product":{"__proto__":{"polluted":"yes"}},"price":1}', 'application/json'));
    assertJsonError(nested, 400, 'object as product');
    const form = await json<Item>(
      await post(
        '__proto__[polluted]=yes&constructor[prototype][polluted]=yes&product=f&price=2',
        'application/x-www-form-urlencoded',
      ),
    );
    assert.equal(form.status, 201, JSON.stringify(form.body));
    const multipart = [
      '--b',
      'Content-Disposition: form-data; name="__proto__"',
      '',
      'polluted',
      '--b',
      'Content-Disposition: form-data; name="product"',
      '',
      'm',
      '--b',
      'Content-Disposition: form-data; name="price"',
      '',
      '3',
      '--b--',
      '',
    ].join('\r\n');
    const fromMultipart = await json<Item>(await post(multipart, 'multipart/form-data; boundary=b'));
    assert.equal(fromMultipart.status, 201, JSON.stringify(fromMultipart.body));
    const patched = await json<Item>(
      await api.request(`/api/items/${withConstructor.body.id}/`, {
        method: 'PATCH',
        body: '{"__proto__":{"product":"hijack"}}',
        headers: { 'content-type': 'application/json' },
      }),
    );
    assert.equal(patched.body.product, 'x', 'PATCH through __proto__ changes nothing');

    // The app runs in this process: Object.prototype is as it was.
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys);
    const list = await json<Item[]>(await api.request('/api/items/'));
    for (const item of list.body) assert.deepEqual(Object.keys(item), ['id', 'product', 'price']);
  });

  it('a body above BODY_LIMIT is 413 JSON, with Content-Length and chunked, and stores nothing', async (t) => {
    const api = await startTestApp(t, { BODY_LIMIT: '65536' });
    const big = JSON.stringify({ product: 'x', price: 1, pad: 'y'.repeat(70_000) });
    const withLength = await json(
      await api.request('/api/items/', { method: 'POST', body: big, headers: { 'content-type': 'application/json' } }),
    );
    assertJsonError(withLength, 413, 'Content-Length above the limit');
    const chunks = (async function* () {
      for (let i = 0; i < 20; i++) yield new TextEncoder().encode('y'.repeat(8192));
    })();
    const chunked = await json(
      await fetch(`${api.baseUrl}/api/items/`, {
        method: 'POST',
        body: chunks as unknown as ReadableStream,
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
      } as RequestInit),
    );
    assertJsonError(chunked, 413, 'chunked body above the limit');
    assert.deepEqual(await tableRows(api), []);
    assert.equal((await api.request('/healthz')).status, 200);
  });

  it('deeply nested JSON (100,000 levels: arrays, objects, inside a field) is a 400, also with body logging on', async (t) => {
    // LOG_LEVEL=debug: the request body is serialized for the log too (JSON.stringify of a deep value throws).
    const api = await startTestApp(t, { LOG_LEVEL: 'debug', LOG_BODY_MAX: '64' });
    const depth = 100_000;
    const bodies = {
      arrays: '['.repeat(depth) + ']'.repeat(depth),
      objects: '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
      'in product': `{"product":${'['.repeat(depth)}${']'.repeat(depth)},"price":1}`,
      'in price': `{"product":"x","price":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      unclosed: '['.repeat(depth),
    };
    for (const [name, body] of Object.entries(bodies)) {
      for (const method of ['POST', 'PUT', 'PATCH']) {
        const url = method === 'POST' ? '/api/items/' : '/api/items/1/';
        const result = await json(
          await api.request(url, { method, body, headers: { 'content-type': 'application/json' } }),
        );
        // No item 1 exists: PUT/PATCH answer 404 first, as DRF's get_object() runs before the body is read.
        assertJsonError(result, method === 'POST' ? 400 : 404, `${method} ${name}`);
      }
    }
    assert.deepEqual(await tableRows(api), []);
    // Deep nesting in a field the serializer ignores: refused, not read with its numbers rounded.
    const padded = `{"product":12345678901234567890,"price":1,"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const result = await json(
      await api.request('/api/items/', {
        method: 'POST',
        body: padded,
        headers: { 'content-type': 'application/json' },
      }),
    );
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, { detail: 'JSON parse error - nested too deeply to be read' });
    assert.deepEqual(await tableRows(api), []);
  });

  it('an integer literal over 4,300 digits is a parse error, as Python 3.11 json.loads gives DRF', async (t) => {
    const api = await startTestApp(t);
    const post = async (body: string) =>
      json(await api.request('/api/items/', { method: 'POST', body, headers: { 'content-type': 'application/json' } }));
    const long = await post(`{"product":${'1'.repeat(900_000)},"price":1}`);
    assert.equal(long.status, 400);
    assert.deepEqual(long.body, {
      detail:
        'JSON parse error - Exceeds the limit (4300 digits) for integer string conversion: value has 900000 digits; use sys.set_int_max_str_digits() to increase the limit',
    });
    assert.equal((await post(`{"product":"x","price":-${'9'.repeat(4301)}}`)).status, 400);
    // At the limit it is read, and judged as DRF would: too long a product.
    const atLimit = await post(`{"product":${'1'.repeat(4300)},"price":1}`);
    assert.deepEqual(atLimit.body, { product: ['Ensure this field has no more than 20 characters.'] });
    assert.deepEqual(await tableRows(api), []);
  });

  it('invalid UTF-8: a JSON body is 400; a form body decodes with U+FFFD, as Django does', async (t) => {
    const api = await startTestApp(t);
    const bad = [
      Buffer.from([0xff]),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from([0xe2, 0x82]),
    ];
    for (const bytes of bad) {
      const body = Buffer.concat([Buffer.from('{"product":"a'), bytes, Buffer.from('","price":1}')]);
      const result = await json(
        await api.request('/api/items/', { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
      );
      assertJsonError(result, 400, `JSON with bytes ${bytes.toString('hex')}`);
      assert.deepEqual(result.body, { detail: 'JSON parse error - body is not valid UTF-8' });
    }
    const form = await json<Item>(
      await api.request('/api/items/', {
        method: 'POST',
        body: Buffer.concat([Buffer.from('product=a'), Buffer.from([0xff]), Buffer.from('&price=1')]),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    assert.deepEqual([form.status, form.body.product], [201, 'a\ufffd']);
    const percent = await json<Item>(
      await api.request('/api/items/', {
        method: 'POST',
        body: 'product=b%FF&price=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    assert.deepEqual([percent.status, percent.body.product], [201, 'b\ufffd']);
    const query = await json(await api.request('/api/items/?product=%FF&search=%C0%AF'));
    assert.deepEqual([query.status, query.body], [200, []]);
    const rawPath = await rawRequest(api, 'GET /api/items/\xff/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(rawPath.status, 400);
    assert.deepEqual(JSON.parse(rawPath.body), { detail: 'Malformed HTTP request.' });
  });
});

/** Sends raw bytes (latin1) on a fresh connection and returns the first response. */
async function rawRequest(api: TestApp, bytes: string) {
  const connection = await connect(Number(new URL(api.baseUrl).port));
  await connection.write(Buffer.from(bytes, 'latin1') as unknown as string);
  const [response] = parseResponses(await connection.closed);
  assert.ok(response, `a response to ${JSON.stringify(bytes.slice(0, 60))}`);
  return response;
}

describe('hostile URLs and clients', () => {
  it('very long URLs: a 10 KB query is served; a 100 KB query or path is 431 JSON {"detail"} (Node maxHeaderSize 16 KiB); the server goes on', async (t) => {
    const api = await startTestApp(t);
    assert.equal((await api.request(`/api/items/?search=${'a'.repeat(10_000)}`)).status, 200);
    for (const url of [
      `/api/items/?search=${'a'.repeat(100_000)}`,
      `/api/items/${'1'.repeat(100_000)}/`,
      `/api/${'x/'.repeat(50_000)}`,
    ]) {
      const result = await json(await api.request(url));
      assert.equal(result.status, 431);
      assert.deepEqual(result.body, { detail: 'Request line and headers are too large.' });
    }
    const longId = await json(await api.request(`/api/items/${'9'.repeat(5000)}/`));
    assert.deepEqual(
      [longId.status, longId.body],
      [404, { detail: 'Not found.' }],
      'an id past the router limit is 404, as DRF',
    );
    assert.equal((await api.request('/healthz')).status, 200);
  });

  it('a slow client sending its headers byte by byte is cut with 408 JSON after HEADERS_TIMEOUT_MS, while others are served', async (t) => {
    const api = await startTestApp(t, {
      KEEP_ALIVE_TIMEOUT_MS: '300',
      HEADERS_TIMEOUT_MS: '800',
      REQUEST_TIMEOUT_MS: '1500',
    });
    const slow = await connect(Number(new URL(api.baseUrl).port));
    const request = `GET /api/items/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'z'.repeat(200)}\r\n\r\n`;
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < request.length && !slow.socket.destroyed) slow.socket.write(request[sent++]!);
    }, 50);
    t.after(() => clearInterval(trickle));
    // Meanwhile the server answers others.
    assert.equal((await api.request('/api/items/')).status, 200);
    const received = await slow.closed;
    clearInterval(trickle);
    assert.ok(sent < request.length, `cut before the headers were complete (${sent}/${request.length} bytes)`);
    const [response] = parseResponses(received);
    assert.equal(response?.status, 408, received);
    assert.deepEqual(JSON.parse(response!.body), { detail: 'Request timeout.' });
    assert.equal((await api.request('/healthz')).status, 200);
  });

  it('path tricks never reach another item and never 5xx (dot segments, double and encoded slashes, %2e, bad escapes)', async (t) => {
    const api = await startTestApp(t);
    const [first, second] = await seed(api);
    assert.deepEqual([first!.id, second!.id], [1, 2]);
    // Sent raw, exactly as written (fetch would resolve the dot segments itself).
    const cases: [string, number, Item | { detail: string }][] = [
      ['/api/items/1/../2/', 404, { detail: 'Not found.' }],
      ['/api/items/2/../1/', 404, { detail: 'Not found.' }],
      ['/api/items/1/./', 404, { detail: 'Not found.' }],
      ['//api/items/', 404, { detail: 'Not found.' }],
      ['/api//items/2/', 404, { detail: 'Not found.' }],
      ['/api/items//2/', 404, { detail: 'Not found.' }],
      ['/api/items/%2e%2e/2/', 404, { detail: 'Not found.' }],
      ['/api/items/1/%2e%2e/2/', 404, { detail: 'Not found.' }],
      ['/api/items/1%2F..%2F2/', 404, { detail: 'Not found.' }],
      ['/api/items/1%2f2/', 404, { detail: 'Not found.' }],
      ['/api/items/1/..%2f2/', 404, { detail: 'Not found.' }],
      ['/api/items/%2F2/', 404, { detail: 'Not found.' }],
      ['/api/items/..%5c2/', 404, { detail: 'Not found.' }],
      ['/api/items/1;2/', 404, { detail: 'Not found.' }],
      ['/api/items/1%00/', 404, { detail: 'Not found.' }],
      ['/api/items/%/', 404, { detail: 'Not found.' }],
      ['/api/items/%C0%AE%C0%AE/2/', 404, { detail: 'Not found.' }],
      ['/api/items/%32/', 200, second!],
      ['/api/items/2/?id=1', 200, second!],
      ['/api/items/2/#1', 200, second!],
    ];
    for (const [url, status, body] of cases) {
      const response = await rawRequest(api, `GET ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.equal(response.status, status, `${url}: ${response.body}`);
      assert.match(response.headers['content-type'] ?? '', /^application\/json/, url);
      assert.deepEqual(JSON.parse(response.body), body, url);
    }
    const rows = await tableRows(api);
    assert.deepEqual(rows.slice(0, 2), [first, second], 'the items are unchanged');
    assert.equal(rows.length, 3);
  });
});
