/**
 * `Idempotency-Key` on create (draft-ietf-httpapi-idempotency-key-header-09), through the real socket
 * on both backends: a retry gets the stored answer (same id, no new row), another body 422, a key
 * that cannot be used 400, an expired key creates again, and the purge removes expired keys.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';
import { connect, parseResponses } from '../helpers/raw-http.js';

async function create(api: TestApp, key: string | undefined, json: unknown) {
  const response = await api.request('/api/items/', {
    method: 'POST',
    json,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });
  const body = (await response.json()) as { id: number; detail: string } & Record<string, unknown>;
  return { status: response.status, etag: response.headers.get('etag'), body };
}

async function rowCount(api: TestApp, table: 'myapi_item' | 'idempotency_key'): Promise<number> {
  const row = await api.db.kysely
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

for (const backend of BACKENDS) {
  describe(`Idempotency-Key on ${backend.name}`, () => {
    it('a retry with the same key and body gets the stored answer: same id, no new row', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const first = await create(api, '"order-1"', { product: 'Apple', price: 100 });
      assert.equal(first.status, 201);
      assert.equal(first.etag, '"1"');
      // The bare form names the same key as the draft's quoted String.
      const retry = await create(api, 'order-1', { price: '100', product: 'Apple' });
      assert.deepEqual([retry.status, retry.body], [201, first.body]);
      assert.equal(await rowCount(api, 'myapi_item'), 1);
      const other = await create(api, 'order-2', { product: 'Apple', price: 100 });
      assert.equal(other.status, 201);
      assert.notEqual(other.body.id, first.body.id, 'another key creates another item');
    });

    it('the stored answer is the first one, even after the item changed or went', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const first = await create(api, 'k', { product: 'Apple', price: 100 });
      assert.equal(first.etag, '"1"');
      const unchanged = await create(api, 'k', { product: 'Apple', price: 100 });
      assert.deepEqual([unchanged.body, unchanged.etag], [first.body, first.etag], 'the replay carries the ETag');
      await api.request(`/api/items/${first.body.id}/`, { method: 'PATCH', json: { price: 1 } });
      const changed = await create(api, 'k', { product: 'Apple', price: 100 });
      assert.deepEqual([changed.body, changed.etag], [first.body, first.etag], 'the stored body keeps its ETag');
      await api.request(`/api/items/${first.body.id}/`, { method: 'DELETE' });
      const replay = await create(api, 'k', { product: 'Apple', price: 100 });
      assert.deepEqual([replay.status, replay.body, replay.etag], [201, first.body, first.etag]);
      assert.equal(await rowCount(api, 'myapi_item'), 0);
    });

    it('the same key with another body → 422 {"detail"}, nothing created', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      await create(api, 'k', { product: 'Apple', price: 100 });
      const reused = await create(api, 'k', { product: 'Apple', price: 101 });
      assert.equal(reused.status, 422);
      assert.deepEqual(Object.keys(reused.body), ['detail']);
      assert.match(reused.body.detail, /Idempotency-Key/);
      assert.equal(await rowCount(api, 'myapi_item'), 1);
    });

    it('a key that is empty, longer than 255 characters or not printable ASCII → 400 {"detail"}', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      assert.equal((await create(api, 'x'.repeat(255), { product: 'A', price: 1 })).status, 201);
      assert.equal((await create(api, `"${'y'.repeat(255)}"`, { product: 'A', price: 1 })).status, 201);
      for (const key of ['x'.repeat(256), '""', 'caf\u00e9', 'tab\there', '"unterminated']) {
        const response = await api.request('/api/items/', {
          method: 'POST',
          json: { product: 'A', price: 1 },
          headers: { 'idempotency-key': Buffer.from(key, 'latin1').toString('latin1') },
        });
        assert.equal(response.status, 400, JSON.stringify(key));
        assert.deepEqual(Object.keys((await response.json()) as object), ['detail']);
      }
      assert.equal(await rowCount(api, 'myapi_item'), 2);
    });

    it('the header sent twice, or a list of keys → 400 {"detail"}; parameters after a quoted key are ignored', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const port = new URL(api.baseUrl).port;
      for (const lines of [
        ['a', 'b'],
        ['"a"', '"b"'],
        ['"a"', '"a"'],
        ['a', 'a'],
      ]) {
        const body = JSON.stringify({ product: 'A', price: 1 });
        const connection = await connect(Number(port));
        await connection.write(
          'POST /api/items/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n' +
            'Content-Type: application/json\r\n' +
            lines.map((line) => `Idempotency-Key: ${line}\r\n`).join('') +
            `Content-Length: ${body.length}\r\n\r\n${body}`,
        );
        const [response] = parseResponses(await connection.closed);
        assert.equal(response?.status, 400, JSON.stringify(lines));
        assert.match((JSON.parse(response.body) as { detail: string }).detail, /one key/, JSON.stringify(lines));
      }
      for (const key of ['a, b', '"a", "b"', '"a";x', '("a")', '"a" "b"']) {
        const rejected = key === '"a";x' ? 201 : 400;
        assert.equal((await create(api, key, { product: 'A', price: 1 })).status, rejected, key);
      }
      assert.equal(await rowCount(api, 'myapi_item'), 1);
      const replay = await create(api, '"a";x=1;y', { product: 'A', price: 1 });
      assert.equal(replay.status, 201, 'the same key "a", with other parameters');
      assert.equal(await rowCount(api, 'myapi_item'), 1);
      for (const [key, stored] of [
        ['"with, comma"', 'with, comma'],
        ['"esc\\"aped"', 'esc"aped'],
        ['bare-token_1.2~x:y/z', 'bare-token_1.2~x:y/z'],
      ]) {
        assert.equal((await create(api, key!, { product: 'B', price: 2 })).status, 201, key);
        const row = await api.db.kysely
          .selectFrom('idempotency_key')
          .select('key')
          .where('key', '=', stored!)
          .executeTakeFirst();
        assert.equal(row?.key, stored, key);
      }
    });

    it('an invalid body with a key → the usual 400, and nothing is stored for the key', async (t) => {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const invalid = await create(api, 'k', { product: 'A', price: -1 });
      assert.equal(invalid.status, 400);
      assert.deepEqual(Object.keys(invalid.body), ['price']);
      assert.equal((await create(api, 'k', { product: 'A', price: 1 })).status, 201);
    });

    it('an expired key creates again, and later creates purge expired keys', async (t) => {
      const api = await startTestApp(t, {
        DATABASE_URL: await backend.databaseUrl(t),
        IDEMPOTENCY_KEY_TTL_MS: '200',
      });
      const first = await create(api, 'k', { product: 'Apple', price: 100 });
      await create(api, 'other', { product: 'Pear', price: 1 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const again = await create(api, 'k', { product: 'Apple', price: 100 });
      assert.equal(again.status, 201);
      assert.notEqual(again.body.id, first.body.id, 'the expired key no longer holds its answer');
      const keys = await api.db.kysely.selectFrom('idempotency_key').select('key').execute();
      assert.deepEqual(
        keys.map((row) => row.key),
        ['k'],
        'the create purged the expired "other" and replaced "k"',
      );
    });
  });
}
