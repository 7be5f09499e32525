/**
 * The replaced DRF service's own unit tests (`myapi/tests.py`, `ItemAPITestCase`), ported one for
 * one: same set-up (Apple/100, Banana/50), same requests, same assertions. Where the original
 * read the database (`Item.objects.count()`, `refresh_from_db()`), these read it too, through the
 * app's own Kysely handle. Each runs over a real socket, on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';

interface Seeded {
  api: TestApp;
  item1: { id: number | bigint; product: string; price: number };
  item2: { id: number | bigint; product: string; price: number };
}

for (const backend of BACKENDS) {
  describe(`ItemAPITestCase, ported (${backend.name})`, () => {
    /** `setUp`: two items written straight to the table, as `Item.objects.create` did. */
    async function setUp(t: TestContext): Promise<Seeded> {
      const api = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const insert = (product: string, price: number) =>
        api.db.kysely
          .insertInto('myapi_item')
          .values({ product, price })
          .returning(['id', 'product', 'price'])
          .executeTakeFirstOrThrow();
      return { api, item1: await insert('Apple', 100), item2: await insert('Banana', 50) };
    }

    const count = async (api: TestApp) =>
      Number(
        (
          await api.db.kysely
            .selectFrom('myapi_item')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    const row = (api: TestApp, id: number | bigint) =>
      api.db.kysely.selectFrom('myapi_item').select(['id', 'product', 'price']).where('id', '=', id).executeTakeFirst();

    it('test_create_item: POST → 201, three rows', async (t) => {
      const { api } = await setUp(t);
      const response = await api.request('/api/items/', { method: 'POST', json: { product: 'Orange', price: 120 } });
      assert.equal(response.status, 201);
      const body = (await response.json()) as { id: number };
      assert.deepEqual(body, { id: body.id, product: 'Orange', price: 120 });
      assert.equal(typeof body.id, 'number');
      assert.equal(await count(api), 3);
    });

    it('test_list_items: GET → 200, two items', async (t) => {
      const { api, item1, item2 } = await setUp(t);
      const response = await api.request('/api/items/');
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), [item1, item2]);
    });

    it('test_get_item_detail: GET /{id}/ → 200 with the product', async (t) => {
      const { api, item1 } = await setUp(t);
      const response = await api.request(`/api/items/${item1.id}/`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), item1);
    });

    it('test_update_item: PUT → 200, row changed', async (t) => {
      const { api, item1 } = await setUp(t);
      const response = await api.request(`/api/items/${item1.id}/`, {
        method: 'PUT',
        json: { product: 'Updated Apple', price: 150 },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { id: item1.id, product: 'Updated Apple', price: 150 });
      assert.deepEqual(await row(api, item1.id), { id: item1.id, product: 'Updated Apple', price: 150 });
    });

    it('test_partial_update_item: PATCH price → 200, only price changed', async (t) => {
      const { api, item1 } = await setUp(t);
      const response = await api.request(`/api/items/${item1.id}/`, { method: 'PATCH', json: { price: 180 } });
      assert.equal(response.status, 200);
      assert.deepEqual(await row(api, item1.id), { id: item1.id, product: 'Apple', price: 180 });
    });

    it('test_delete_item: DELETE → 204, row gone', async (t) => {
      const { api, item1, item2 } = await setUp(t);
      const response = await api.request(`/api/items/${item2.id}/`, { method: 'DELETE' });
      assert.equal(response.status, 204);
      assert.equal(await row(api, item2.id), undefined);
      assert.deepEqual(await row(api, item1.id), item1);
    });

    it('test_create_invalid_item: blank product, negative price → 400, nothing stored', async (t) => {
      const { api } = await setUp(t);
      const response = await api.request('/api/items/', { method: 'POST', json: { product: '', price: -50 } });
      assert.equal(response.status, 400);
      assert.deepEqual(await response.json(), {
        product: ['This field may not be blank.'],
        price: ['Ensure this value is greater than or equal to 0.'],
      });
      assert.equal(await count(api), 2);
    });

    it('test_get_nonexistent_item: GET /9999/ → 404', async (t) => {
      const { api } = await setUp(t);
      const response = await api.request('/api/items/9999/');
      assert.equal(response.status, 404);
      assert.deepEqual(await response.json(), { detail: 'Not found.' });
    });
  });
}
