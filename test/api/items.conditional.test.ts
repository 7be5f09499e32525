/**
 * ETags and conditional requests on items (RFC 9110 §8.8.3, §13), through the real socket on both
 * backends: the strong ETag of create, retrieve and update answers; If-None-Match → 304; If-Match
 * on PUT, PATCH and DELETE → 412 when it does not match, with `*`, lists and weak tags as §13.1.1 says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';

async function send(api: TestApp, method: string, path: string, headers: Record<string, string> = {}, json?: unknown) {
  const response = await api.request(path, { method, headers, ...(json === undefined ? {} : { json }) });
  const text = await response.text();
  return { status: response.status, etag: response.headers.get('etag'), text, headers: response.headers };
}

async function storedItem(api: TestApp, id: number) {
  return api.db.kysely
    .selectFrom('myapi_item')
    .select(['product', 'price', 'version'])
    .where('id', '=', id)
    .executeTakeFirst();
}

for (const backend of BACKENDS) {
  describe(`ETags and preconditions on ${backend.name}`, () => {
    it('create, retrieve and update answer a strong ETag that changes with the item', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const created = await send(api, 'POST', '/api/items/', {}, { product: 'Apple', price: 100 });
      assert.equal(created.status, 201);
      assert.match(created.etag ?? '', /^"\d+"$/, 'strong: no W/ prefix');
      const { id } = JSON.parse(created.text) as { id: number };
      const url = `/api/items/${id}/`;
      assert.equal((await send(api, 'GET', url)).etag, created.etag, 'unchanged item, same tag');
      assert.equal((await send(api, 'HEAD', url)).etag, created.etag);
      const updated = await send(api, 'PATCH', url, {}, { price: 120 });
      assert.notEqual(updated.etag, created.etag);
      assert.equal((await send(api, 'GET', url)).etag, updated.etag);
      const replaced = await send(api, 'PUT', url, {}, { product: 'Apple', price: 120 });
      assert.notEqual(replaced.etag, updated.etag, 'every write is a new version, even with the same values');
      // The tag belongs to the plain JSON bytes; the HTML and indented variants carry none.
      assert.equal((await send(api, 'GET', url, { accept: 'text/html' })).etag, null);
      assert.equal((await send(api, 'GET', url, { accept: 'application/json; indent=2' })).etag, null);
    });

    it('If-None-Match on GET: 304 with no body when a listed tag (weakly) matches, else 200', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const created = await send(api, 'POST', '/api/items/', {}, { product: 'Apple', price: 100 });
      const { id } = JSON.parse(created.text) as { id: number };
      const url = `/api/items/${id}/`;
      const etag = created.etag!;
      for (const condition of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
        const answer = await send(api, 'GET', url, { 'if-none-match': condition });
        assert.deepEqual([answer.status, answer.text, answer.etag], [304, '', etag], condition);
        assert.match(answer.headers.get('vary') ?? '', /Accept/, 'a 304 keeps Vary');
      }
      assert.equal((await send(api, 'HEAD', url, { 'if-none-match': etag })).status, 304);
      for (const condition of ['"nope"', 'W/"nope"', 'not-a-tag']) {
        const answer = await send(api, 'GET', url, { 'if-none-match': condition });
        assert.equal(answer.status, 200, condition);
        assert.deepEqual(JSON.parse(answer.text), { id, product: 'Apple', price: 100 });
      }
      await send(api, 'PATCH', url, {}, { price: 1 });
      assert.equal((await send(api, 'GET', url, { 'if-none-match': etag })).status, 200, 'changed since');
      assert.equal((await send(api, 'GET', '/api/items/999999/', { 'if-none-match': '*' })).status, 404);
    });

    for (const [method, body] of [
      ['PUT', { product: 'Pear', price: 5 }],
      ['PATCH', { price: 5 }],
      ['DELETE', undefined],
    ] as const) {
      it(`If-Match on ${method}: 412 {"detail"} and nothing changed unless the current ETag is listed`, async (t) => {
        const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
        const created = await send(api, 'POST', '/api/items/', {}, { product: 'Apple', price: 100 });
        const { id } = JSON.parse(created.text) as { id: number };
        const url = `/api/items/${id}/`;
        const etag = created.etag!;
        // Weak tags never match If-Match (strong comparison), nor do malformed or foreign ones.
        for (const condition of ['"999"', `W/${etag}`, 'garbage', '"1x"', '"99999999999"', '']) {
          const answer = await send(api, method, url, { 'if-match': condition }, body);
          assert.equal(answer.status, 412, `If-Match: ${condition}`);
          assert.deepEqual(Object.keys(JSON.parse(answer.text) as object), ['detail']);
        }
        assert.deepEqual(await storedItem(api, id), { product: 'Apple', price: 100, version: 1 }, 'unchanged');
        const answer = await send(api, method, url, { 'if-match': `"999", ${etag}` }, body);
        assert.equal(answer.status, method === 'DELETE' ? 204 : 200);
        if (method !== 'DELETE') {
          assert.equal(answer.etag, '"2"');
          assert.equal((await send(api, method, url, { 'if-match': etag }, body)).status, 412, 'the old tag is stale');
          assert.equal((await send(api, method, url, { 'if-match': '*' }, body)).status, 200, '* matches any');
        }
        // No item: 404 comes before the precondition (RFC 9110 §13.2.1), for * and for tags.
        for (const condition of ['*', '"1"']) {
          const missing = await send(api, method, '/api/items/999999/', { 'if-match': condition }, body);
          assert.equal(missing.status, 404, condition);
        }
      });
    }

    it('the list URL has no ETag and always exists (RFC 9110 §13.1.1, §13.1.2)', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const item = { product: 'Apple', price: 100 };
      const count = async () => (JSON.parse((await send(api, 'GET', '/api/items/')).text) as unknown[]).length;
      // GET and HEAD: If-None-Match: * → 304 with no body, also for an empty (filtered) list; a tag → 200.
      for (const method of ['GET', 'HEAD']) {
        for (const path of ['/api/items/', '/api/items/?product=none']) {
          const star = await send(api, method, path, { 'if-none-match': '*' });
          assert.deepEqual([star.status, star.text, star.etag], [304, '', null], `${method} ${path}`);
        }
        assert.equal((await send(api, method, '/api/items/', { 'if-none-match': '"1"' })).status, 200, method);
        assert.equal((await send(api, method, '/api/items/', { 'if-match': '*' })).status, 200, method);
        const tagged = await send(api, method, '/api/items/', { 'if-match': '"1"' });
        assert.equal(tagged.status, 412, `${method} If-Match: "1"`);
      }
      // A 400 the list answers without the header comes first (RFC 9110 §13.2.1).
      const tooMany = `/api/items/?search=${Array.from({ length: 33 }, (_, i) => `w${i}`).join('+')}`;
      assert.equal((await send(api, 'GET', tooMany, { 'if-none-match': '*' })).status, 400);
      // POST: If-None-Match: * and If-Match with tags → 412 {"detail"}, nothing created, before the body is read.
      const refusing: Record<string, string>[] = [
        { 'if-none-match': '*' },
        { 'if-match': '"1"' },
        { 'if-match': 'W/"1", "2"' },
      ];
      for (const headers of refusing) {
        for (const json of [item, { price: -1 }]) {
          const refused = await send(api, 'POST', '/api/items/', headers, json);
          assert.equal(refused.status, 412, JSON.stringify([headers, json]));
          assert.deepEqual(Object.keys(JSON.parse(refused.text) as object), ['detail']);
        }
      }
      assert.equal(await count(), 0, 'nothing created');
      // If-Match: * holds, and so does If-None-Match with tags: the create happens.
      const holding: Record<string, string>[] = [{ 'if-match': '*' }, { 'if-none-match': '"1"' }];
      for (const headers of holding) {
        assert.equal((await send(api, 'POST', '/api/items/', headers, item)).status, 201, JSON.stringify(headers));
      }
      assert.equal((await send(api, 'POST', '/api/items/', { 'if-match': '*' }, { price: -1 })).status, 400);
      assert.equal(await count(), 2);
    });

    it('If-Match is checked before the body: a stale tag with an invalid body → 412, a current one → 400', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const created = await send(api, 'POST', '/api/items/', {}, { product: 'Apple', price: 100 });
      const { id } = JSON.parse(created.text) as { id: number };
      const url = `/api/items/${id}/`;
      assert.equal((await send(api, 'PUT', url, { 'if-match': '"7"' }, { price: -1 })).status, 412);
      assert.equal((await send(api, 'PUT', url, { 'if-match': created.etag! }, { price: -1 })).status, 400);
      assert.equal((await send(api, 'PATCH', url, { 'if-match': '"7"' }, {})).status, 412, 'an empty PATCH too');
      assert.equal((await send(api, 'PATCH', url, { 'if-match': created.etag! }, {})).status, 200);
    });

    it('two concurrent writers holding the same ETag: exactly one succeeds, the other gets 412', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const created = await send(api, 'POST', '/api/items/', {}, { product: 'Apple', price: 100 });
      const { id } = JSON.parse(created.text) as { id: number };
      const writers = Array.from({ length: 10 }, (_, i) =>
        send(api, 'PATCH', `/api/items/${id}/`, { 'if-match': created.etag! }, { price: i }),
      );
      const statuses = (await Promise.all(writers)).map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [200, ...Array<number>(9).fill(412)]);
      assert.equal((await storedItem(api, id))?.version, 2);
    });
  });
}
