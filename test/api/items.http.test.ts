/**
 * One test per status code and HTTP behaviour the replaced DRF service showed: 201, 204, 404, 405 + Allow, 400 shapes, 413, 415, slash
 * redirects, HEAD, OPTIONS, the `?product=` filter, body encodings, bodies on DELETE, id rules.
 * Each through a real socket, on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';
import type { Item } from '../helpers/item.js';

async function create(api: TestApp, product: string, price: number): Promise<Item> {
  const response = await api.request('/api/items/', { method: 'POST', json: { product, price } });
  assert.equal(response.status, 201, `create ${product}`);
  return (await response.json()) as Item;
}

async function list(api: TestApp, query = ''): Promise<Item[]> {
  const response = await api.request(`/api/items/${query}`);
  assert.equal(response.status, 200, `list ${query}`);
  return (await response.json()) as Item[];
}

/** DRF `SimpleMetadata` body, as far as these tests read it. */
interface Metadata {
  name: string;
  renders: string[];
  parses: string[];
  actions?: Record<string, unknown>;
}

const LIST_ALLOW = 'GET, POST, HEAD, OPTIONS';
const DETAIL_ALLOW = 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS';

for (const backend of BACKENDS) {
  describe(`items over HTTP (${backend.name})`, () => {
    const start = async (t: TestContext, env: Record<string, string> = {}) =>
      startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t), ...env });

    it('201: create answers the stored item as JSON, with a numeric id', async (t) => {
      const api = await start(t);
      const response = await api.request('/api/items/', { method: 'POST', json: { product: 'Apple', price: 100 } });
      assert.equal(response.status, 201);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      const item = (await response.json()) as Item;
      assert.equal(typeof item.id, 'number');
      assert.deepEqual(item, { id: item.id, product: 'Apple', price: 100 });
      assert.deepEqual(await list(api), [item]);
      const detail = await api.request(`/api/items/${item.id}/`);
      assert.deepEqual(await detail.json(), item);
    });

    it('204: destroy answers no body and no Content-Type, and the item is gone', async (t) => {
      const api = await start(t);
      const item = await create(api, 'Apple', 100);
      const response = await api.request(`/api/items/${item.id}/`, { method: 'DELETE' });
      assert.equal(response.status, 204);
      assert.equal(response.headers.get('content-type'), null);
      assert.equal(await response.text(), '');
      assert.equal((await api.request(`/api/items/${item.id}/`)).status, 404);
      assert.equal((await api.request(`/api/items/${item.id}/`, { method: 'DELETE' })).status, 404);
    });

    it('404 {"detail"}: missing, malformed and out-of-range ids, unknown URLs', async (t) => {
      const api = await start(t);
      for (const url of [
        '/api/items/9999/',
        '/api/items/abc/',
        '/api/items/0/',
        '/api/items/-1/',
        '/api/items/99999999999999999999999/',
        '/api/nothing/',
        '/nothing',
      ]) {
        const response = await api.request(url);
        assert.equal(response.status, 404, url);
        assert.match(response.headers.get('content-type') ?? '', /^application\/json/, url);
        assert.deepEqual(await response.json(), { detail: 'Not found.' }, url);
      }
      for (const method of ['PATCH', 'DELETE']) {
        const response = await api.request('/api/items/9999/', { method, json: { price: 1 } });
        assert.equal(response.status, 404, method);
        assert.deepEqual(await response.json(), { detail: 'Not found.' });
      }
    });

    it('405 with an Allow header: DELETE on the list, POST on an item, unknown methods', async (t) => {
      const api = await start(t);
      const item = await create(api, 'Apple', 100);
      const cases: [string, string, string][] = [
        ['DELETE', '/api/items/', LIST_ALLOW],
        ['PUT', '/api/items/', LIST_ALLOW],
        ['PATCH', '/api/items/', LIST_ALLOW],
        ['POST', `/api/items/${item.id}/`, DETAIL_ALLOW],
        ['POST', '/api/items/9999/', DETAIL_ALLOW],
      ];
      for (const [method, url, allow] of cases) {
        const response = await api.request(url, { method });
        assert.equal(response.status, 405, `${method} ${url}`);
        assert.equal(response.headers.get('allow'), allow, `${method} ${url}`);
        assert.deepEqual(await response.json(), { detail: `Method "${method}" not allowed.` });
      }
      assert.deepEqual(await list(api), [item]);
    });

    it('400 {"field": [...]} for invalid fields, and {"non_field_errors"} for a non-object body', async (t) => {
      const api = await start(t);
      const response = await api.request('/api/items/', {
        method: 'POST',
        json: { product: 'x'.repeat(21), price: 'abc' },
      });
      assert.equal(response.status, 400);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(await response.json(), {
        product: ['Ensure this field has no more than 20 characters.'],
        price: ['A valid integer is required.'],
      });
      const cases: [unknown, string][] = [
        [[], 'Invalid data. Expected a dictionary, but got list.'],
        ['text', 'Invalid data. Expected a dictionary, but got str.'],
        [5, 'Invalid data. Expected a dictionary, but got int.'],
      ];
      for (const [json, message] of cases) {
        const r = await api.request('/api/items/', { method: 'POST', json });
        assert.equal(r.status, 400, JSON.stringify(json));
        assert.deepEqual(await r.json(), { non_field_errors: [message] });
      }
      const nullBody = await api.request('/api/items/', { method: 'POST', json: null });
      assert.equal(nullBody.status, 400);
      assert.deepEqual(await nullBody.json(), { non_field_errors: ['No data provided'] });
      assert.deepEqual(await list(api), []);
    });

    it('400 {"detail"} for malformed JSON, a BOM and invalid UTF-8, on create and update', async (t) => {
      const api = await start(t);
      const item = await create(api, 'Apple', 100);
      const bodies: (string | Uint8Array)[] = [
        '{"product": "Apple", "price": ',
        '{product: "Apple"}',
        '{"product":"Apple","price":NaN}',
        new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from('{"product":"A","price":1}')]),
        new Uint8Array([0x7b, 0xff, 0x7d]),
      ];
      for (const body of bodies) {
        for (const [method, url] of [
          ['POST', '/api/items/'],
          ['PUT', `/api/items/${item.id}/`],
          ['PATCH', `/api/items/${item.id}/`],
        ]) {
          const response = await api.request(url!, { method, headers: { 'content-type': 'application/json' }, body });
          assert.equal(response.status, 400, `${method} ${String(body)}`);
          const answer = (await response.json()) as { detail: string };
          assert.deepEqual(Object.keys(answer), ['detail'], `${method} ${String(body)}`);
          assert.match(answer.detail, /^JSON parse error - /);
        }
      }
      assert.deepEqual(await list(api), [item]);
    });

    it('413 {"detail"} for a body above BODY_LIMIT (default 1 MiB); a body just under is read', async (t) => {
      const api = await start(t);
      const padding = (n: number) => `{"product":"Apple","price":1,"pad":"${'x'.repeat(n)}"}`;
      const overhead = padding(0).length;
      const tooBig = await api.request('/api/items/', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: padding(1_048_576 - overhead + 1),
      });
      assert.equal(tooBig.status, 413);
      assert.deepEqual(await tooBig.json(), { detail: 'Request body is too large.' });
      const justFits = await api.request('/api/items/', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: padding(1_048_576 - overhead),
      });
      assert.equal(justFits.status, 201);
      assert.equal((await list(api)).length, 1);
    });

    it('415 {"detail"} for an unsupported media type with a body', async (t) => {
      const api = await start(t);
      const item = await create(api, 'Apple', 100);
      for (const [method, url] of [
        ['POST', '/api/items/'],
        ['PUT', `/api/items/${item.id}/`],
        ['PATCH', `/api/items/${item.id}/`],
      ]) {
        const response = await api.request(url!, {
          method,
          headers: { 'content-type': 'text/plain' },
          body: '{"product":"Pear","price":1}',
        });
        assert.equal(response.status, 415, method);
        assert.deepEqual(await response.json(), { detail: 'Unsupported media type "text/plain" in request.' });
      }
      assert.deepEqual(await list(api), [item]);
    });

    it('301 for GET/HEAD and 308 for writes to a slash-less URL, query kept, nothing changed', async (t) => {
      const api = await start(t);
      const item = await create(api, 'Apple', 100);
      const cases: [string, string, number, string][] = [
        ['GET', '/api/items', 301, '/api/items/'],
        ['HEAD', '/api/items?product=Apple', 301, '/api/items/?product=Apple'],
        ['GET', '/api', 301, '/api/'],
        ['GET', `/api/items/${item.id}`, 301, `/api/items/${item.id}/`],
        ['POST', '/api/items', 308, '/api/items/'],
        ['PUT', `/api/items/${item.id}`, 308, `/api/items/${item.id}/`],
        ['PATCH', `/api/items/${item.id}?x=1`, 308, `/api/items/${item.id}/?x=1`],
        ['DELETE', `/api/items/${item.id}`, 308, `/api/items/${item.id}/`],
      ];
      for (const [method, url, status, location] of cases) {
        const init: RequestInit & { json?: unknown } = { method };
        if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') init.json = { product: 'Changed', price: 1 };
        const response = await api.request(url, init);
        assert.equal(response.status, status, `${method} ${url}`);
        assert.equal(response.headers.get('location'), location, `${method} ${url}`);
      }
      assert.deepEqual(await list(api), [item]);
      // Whatever the body: form, multipart, malformed JSON (DRF's parsers run on every route; the
      // redirect never reads the body). Found by a fresh-user test: Fastify's default parsers answered 415/400.
      const multipart = new FormData();
      multipart.append('product', 'a');
      const odd: [string, RequestInit][] = [
        [
          'form',
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'product=a&price=9',
          },
        ],
        ['multipart', { method: 'PUT', body: multipart }],
        ['bad JSON', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{bad' }],
      ];
      for (const [name, init] of odd) {
        const url = init.method === 'POST' ? '/api/items' : `/api/items/${item.id}`;
        const response = await api.request(url, init);
        assert.equal(response.status, 308, name);
      }
      const healthPost = await api.request('/healthz', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'x=1',
      });
      assert.equal(healthPost.status, 405);
      const unknownPost = await api.request('/nowhere', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{bad',
      });
      assert.equal(unknownPost.status, 404);
      assert.deepEqual(await unknownPost.json(), { detail: 'Not found.' });
      // The 308 target takes the same method and body.
      const followed = await api.request(`/api/items/${item.id}/`, { method: 'PATCH', json: { price: 7 } });
      assert.deepEqual(await followed.json(), { ...item, price: 7 });
    });

    it('HEAD answers like GET, without a body', async (t) => {
      const api = await start(t);
      const item = await create(api, 'Apple', 100);
      for (const url of ['/api/items/', `/api/items/${item.id}/`]) {
        const get = await api.request(url);
        const head = await api.request(url, { method: 'HEAD' });
        assert.equal(head.status, 200, url);
        assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), url);
        assert.equal(await head.text(), '', url);
      }
      assert.equal((await api.request('/api/items/9999/', { method: 'HEAD' })).status, 404);
    });

    it('OPTIONS answers DRF metadata: actions.POST on the list, actions.PUT on an item, none for a missing id', async (t) => {
      const api = await start(t);
      const item = await create(api, 'Apple', 100);
      const fields = {
        id: { type: 'integer', required: false, read_only: true, label: 'ID' },
        product: { type: 'string', required: true, read_only: false, label: 'Product', max_length: 20 },
        price: {
          type: 'integer',
          required: true,
          read_only: false,
          label: 'Price',
          min_value: 0,
          max_value: 2147483647,
        },
      };
      const listMeta = await api.request('/api/items/', { method: 'OPTIONS' });
      assert.equal(listMeta.status, 200);
      assert.equal(listMeta.headers.get('allow'), LIST_ALLOW);
      const listBody = (await listMeta.json()) as Metadata;
      assert.equal(listBody.name, 'Item List');
      assert.deepEqual(listBody.parses, [
        'application/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
      ]);
      assert.ok(listBody.renders.includes('application/json'));
      assert.deepEqual(listBody.actions, { POST: fields });
      const detailBody = (await (
        await api.request(`/api/items/${item.id}/`, { method: 'OPTIONS' })
      ).json()) as Metadata;
      assert.equal(detailBody.name, 'Item Instance');
      assert.deepEqual(detailBody.actions, { PUT: fields });
      const missing = await api.request('/api/items/9999/', { method: 'OPTIONS' });
      assert.equal(missing.status, 200);
      const missingBody = (await missing.json()) as Metadata;
      assert.equal(missingBody.name, 'Item Instance');
      assert.equal(missingBody.actions, undefined);
    });

    it('?product= is exact and case-sensitive, stripped, blank ignored, last value wins, NUL refused, narrows detail URLs', async (t) => {
      const api = await start(t);
      const apple = await create(api, 'Apple', 100);
      const banana = await create(api, 'Banana', 50);
      const apple2 = await create(api, 'Apple', 120);
      assert.deepEqual(await list(api, '?product=Apple'), [apple, apple2]);
      assert.deepEqual(await list(api, '?product=apple'), []);
      assert.deepEqual(await list(api, '?product=Appl'), []);
      assert.deepEqual(await list(api, '?product=%20Banana%20'), [banana]);
      assert.deepEqual(await list(api, '?product='), [apple, banana, apple2]);
      assert.deepEqual(await list(api, '?product=%20%20'), [apple, banana, apple2]);
      assert.deepEqual(await list(api, '?product=Apple&product=Banana'), [banana]);
      assert.deepEqual(await list(api, '?colour=red'), [apple, banana, apple2]);
      const nul = await api.request('/api/items/?product=A%00');
      assert.equal(nul.status, 400);
      assert.deepEqual(await nul.json(), { product: ['Null characters are not allowed.'] });
      assert.equal((await api.request(`/api/items/${apple.id}/?product=Banana`)).status, 404);
      assert.equal((await api.request(`/api/items/${apple.id}/?product=Banana`, { method: 'DELETE' })).status, 404);
      assert.equal((await api.request(`/api/items/${apple.id}/?product=Apple`)).status, 200);
      assert.deepEqual(await list(api), [apple, banana, apple2]);
    });

    it('PUT on a missing id is 404 before the body is judged, and creates nothing', async (t) => {
      const api = await start(t);
      for (const body of [{ product: 'Pear', price: 1 }, { product: '', price: -1 }, {}]) {
        const response = await api.request('/api/items/9999/', { method: 'PUT', json: body });
        assert.equal(response.status, 404, JSON.stringify(body));
        assert.deepEqual(await response.json(), { detail: 'Not found.' });
      }
      const malformed = await api.request('/api/items/9999/', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{',
      });
      assert.equal(malformed.status, 404);
      assert.deepEqual(await list(api), []);
    });

    it('PUT needs both fields; PATCH {} is 200 and changes nothing', async (t) => {
      const api = await start(t);
      const item = await create(api, 'Apple', 100);
      const put = await api.request(`/api/items/${item.id}/`, { method: 'PUT', json: { price: 5 } });
      assert.equal(put.status, 400);
      assert.deepEqual(await put.json(), { product: ['This field is required.'] });
      const patch = await api.request(`/api/items/${item.id}/`, { method: 'PATCH', json: {} });
      assert.equal(patch.status, 200);
      assert.deepEqual(await patch.json(), item);
      const patchProduct = await api.request(`/api/items/${item.id}/`, {
        method: 'PATCH',
        json: { product: ' Pear ' },
      });
      assert.deepEqual(await patchProduct.json(), { ...item, product: 'Pear' });
      assert.deepEqual(await list(api), [{ ...item, product: 'Pear' }]);
    });

    it('form-urlencoded and multipart bodies are read as DRF did (strings, last value wins)', async (t) => {
      const api = await start(t);
      const form = await api.request('/api/items/', {
        method: 'POST',
        body: new URLSearchParams([
          ['product', ' Apple '],
          ['price', '100'],
          ['price', '120'],
        ]),
      });
      assert.equal(form.status, 201);
      const apple = (await form.json()) as Item;
      assert.deepEqual(apple, { id: apple.id, product: 'Apple', price: 120 });
      const multipart = new FormData();
      multipart.append('product', 'Banana');
      multipart.append('price', '50');
      multipart.append('id', '777');
      const mp = await api.request('/api/items/', { method: 'POST', body: multipart });
      assert.equal(mp.status, 201);
      const banana = (await mp.json()) as Item;
      assert.deepEqual(banana, { id: banana.id, product: 'Banana', price: 50 });
      const patch = new FormData();
      patch.append('price', '7');
      const patched = await api.request(`/api/items/${banana.id}/`, { method: 'PATCH', body: patch });
      assert.deepEqual(await patched.json(), { ...banana, price: 7 });
      const bad = await api.request('/api/items/', {
        method: 'POST',
        body: new URLSearchParams({ product: '', price: 'x' }),
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(await bad.json(), {
        product: ['This field may not be blank.'],
        price: ['A valid integer is required.'],
      });
      assert.deepEqual(await list(api), [apple, { ...banana, price: 7 }]);
    });

    it('a multipart file is part of the data, winning over a field of its name, as in DRF request.data', async (t) => {
      const api = await start(t);
      const file = (name: string) => new File(['file content'], name, { type: 'text/plain' });
      const notAString = { product: ['Not a valid string.'] };

      const create = new FormData();
      create.append('product', file('apple.txt'));
      create.append('price', '1');
      const refused = await api.request('/api/items/', { method: 'POST', body: create });
      assert.equal(refused.status, 400);
      assert.deepEqual(await refused.json(), notAString);

      const both = new FormData();
      both.append('product', file('apple.txt'));
      both.append('product', 'Apple');
      both.append('price', '1');
      const fileWins = await api.request('/api/items/', { method: 'POST', body: both });
      assert.equal(fileWins.status, 400);
      assert.deepEqual(await fileWins.json(), notAString);

      // IntegerField reads str() of the upload, which is its name (without the path).
      const named = new FormData();
      named.append('product', 'Apple');
      named.append('price', file('C:\\prices\\7'));
      const created = await api.request('/api/items/', { method: 'POST', body: named });
      assert.equal(created.status, 201);
      const item = (await created.json()) as Item;
      assert.deepEqual(item, { id: item.id, product: 'Apple', price: 7 });

      const patch = new FormData();
      patch.append('product', file('pear.txt'));
      const patched = await api.request(`/api/items/${item.id}/`, { method: 'PATCH', body: patch });
      assert.equal(patched.status, 400);
      assert.deepEqual(await patched.json(), notAString);
      assert.deepEqual(await list(api), [item]);
    });

    it('an empty body sent as application/json: DELETE → 204, POST → 400 required fields', async (t) => {
      const api = await start(t);
      const item = await create(api, 'Apple', 100);
      const del = await api.request(`/api/items/${item.id}/`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(del.status, 204);
      assert.equal(await del.text(), '');
      const post = await api.request('/api/items/', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '',
      });
      assert.equal(post.status, 400);
      assert.deepEqual(await post.json(), { product: ['This field is required.'], price: ['This field is required.'] });
      assert.deepEqual(await list(api), []);
    });

    it('ids are never reused, not even the highest after its delete', async (t) => {
      const api = await start(t);
      const first = await create(api, 'A', 1);
      const second = await create(api, 'B', 2);
      assert.ok(second.id > first.id);
      await api.request(`/api/items/${second.id}/`, { method: 'DELETE' });
      const third = await create(api, 'C', 3);
      assert.ok(third.id > second.id, `${third.id} > ${second.id}`);
      await api.request(`/api/items/${first.id}/`, { method: 'DELETE' });
      await api.request(`/api/items/${third.id}/`, { method: 'DELETE' });
      const fourth = await create(api, 'D', 4);
      assert.ok(fourth.id > third.id, `${fourth.id} > ${third.id}`);
    });

    it('the list is a plain JSON array ordered by id, also after updates', async (t) => {
      const api = await start(t);
      const items: Item[] = [];
      for (let i = 0; i < 12; i++) items.push(await create(api, `P${i}`, 100 - i));
      // Updates rewrite rows (PostgreSQL moves the row version); the order must not follow.
      for (const index of [0, 5, 3]) {
        const response = await api.request(`/api/items/${items[index]!.id}/`, {
          method: 'PATCH',
          json: { price: 1000 + index },
        });
        items[index] = (await response.json()) as Item;
      }
      const answer = await list(api);
      assert.ok(Array.isArray(answer));
      assert.deepEqual(answer, items);
      assert.deepEqual(
        answer.map((i) => i.id),
        [...answer.map((i) => i.id)].sort((a, b) => a - b),
      );
    });

    it('Accept: application/json; indent=N as DRF reads it: Python int(), clamped to 0…8, 0 or invalid compact', async (t) => {
      const api = await start(t);
      const created = await api.request('/api/items/', { method: 'POST', json: { product: 'Pear', price: 3 } });
      const item = (await created.json()) as Record<string, unknown>;
      const url = `/api/items/${String(item.id)}/`;
      for (const [indent, spaces] of [
        ['4', 4],
        [' +2 ', 2],
        ['1_0', 8],
        ['20', 8],
        ['0', undefined],
        ['-3', undefined],
        ['4.0', undefined],
        ['four', undefined],
        ['1'.repeat(5000), undefined],
      ] as const) {
        const res = await api.request(url, { headers: { accept: `application/json; indent="${indent}"` } });
        assert.equal(await res.text(), JSON.stringify(item, null, spaces), `indent=${indent.slice(0, 10)}`);
      }
    });

    it('GET /api/ lists the items URL; GET /healthz answers OK', async (t) => {
      const api = await start(t);
      const root = await api.request('/api/');
      assert.equal(root.status, 200);
      assert.deepEqual(await root.json(), { items: `${api.baseUrl}/api/items/` });
      // X-Forwarded-Proto moves the scheme (the ALB ends TLS); X-Forwarded-Host, which any client
      // can send, does not move the host (Django's USE_X_FORWARDED_HOST is off by default).
      const forwarded = await api.request('/api/', {
        headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
      });
      assert.deepEqual(await forwarded.json(), { items: `https://${new URL(api.baseUrl).host}/api/items/` });
      const health = await api.request('/healthz');
      assert.equal(health.status, 200);
      assert.equal(await health.text(), 'OK');
    });
  });
}
