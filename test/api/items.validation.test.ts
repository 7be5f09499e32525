/**
 * One test per validation rule of the item (DRF `CharField`/`IntegerField`
 * semantics, `../shared/conformance/README.md` points 7 and 8), each through a real
 * socket, on SQLite and on PostgreSQL. A refused body never reaches the table.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';

/** POSTs a raw JSON text (so `1.0`, `1e2` and big literals reach the server as written). */
function postRaw(api: TestApp, text: string): Promise<Response> {
  return api.request('/api/items/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
}

async function rowCount(api: TestApp): Promise<number> {
  const rows = await api.db.kysely.selectFrom('myapi_item').select('id').execute();
  return rows.length;
}

/** Asserts `body` creates an item stored as `expected`. */
async function assertCreated(api: TestApp, body: string, expected: { product: string; price: number }) {
  const response = await postRaw(api, body);
  const answer = (await response.json()) as { id: number };
  assert.equal(response.status, 201, `${body} → ${JSON.stringify(answer)}`);
  assert.deepEqual(answer, { id: answer.id, ...expected }, body);
  const stored = await api.db.kysely
    .selectFrom('myapi_item')
    .select(['product', 'price'])
    .where('id', '=', answer.id)
    .executeTakeFirst();
  assert.deepEqual(stored, expected, `stored row for ${body}`);
}

/** Asserts `body` is refused with exactly `errors` and stores nothing. */
async function assertRefused(api: TestApp, body: string, errors: Record<string, string[]>) {
  const before = await rowCount(api);
  const response = await postRaw(api, body);
  assert.equal(response.status, 400, body);
  assert.deepEqual(await response.json(), errors, body);
  assert.equal(await rowCount(api), before, `nothing stored for ${body}`);
}

const product = (value: string) => JSON.stringify({ product: JSON.parse(value), price: 1 });
const price = (value: string) => `{"product":"P","price":${value}}`;

for (const backend of BACKENDS) {
  describe(`item validation (${backend.name})`, () => {
    const start = async (t: TestContext) => startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });

    describe('product', () => {
      it('is 1 to 20 code points: 20 ASCII, 20 emoji (40 UTF-16 units), 4 ZWJ families pass; 21 fails', async (t) => {
        const api = await start(t);
        await assertCreated(api, product('"x"'), { product: 'x', price: 1 });
        await assertCreated(api, product(JSON.stringify('a'.repeat(20))), { product: 'a'.repeat(20), price: 1 });
        await assertCreated(api, product(JSON.stringify('🍎'.repeat(20))), { product: '🍎'.repeat(20), price: 1 });
        const family = '👨‍👩‍👧'; // 5 code points
        await assertCreated(api, product(JSON.stringify(family.repeat(4))), { product: family.repeat(4), price: 1 });
        const tooLong = { product: ['Ensure this field has no more than 20 characters.'] };
        await assertRefused(api, product(JSON.stringify('a'.repeat(21))), tooLong);
        await assertRefused(api, product(JSON.stringify('🍎'.repeat(21))), tooLong);
      });

      it('is trimmed before the length check and storage', async (t) => {
        const api = await start(t);
        await assertCreated(api, product('"  Apple \\t\\n"'), { product: 'Apple', price: 1 });
        await assertCreated(api, product(JSON.stringify(`\u3000${'b'.repeat(20)}\u00a0 `)), {
          product: 'b'.repeat(20),
          price: 1,
        });
        await assertCreated(api, product('"a  b"'), { product: 'a  b', price: 1 });
      });

      it('may not be blank, missing or null', async (t) => {
        const api = await start(t);
        for (const blank of ['""', '"   "', '"\\t\\n\\u3000"']) {
          await assertRefused(api, product(blank), { product: ['This field may not be blank.'] });
        }
        await assertRefused(api, '{"price":1}', { product: ['This field is required.'] });
        await assertRefused(api, '{"product":null,"price":1}', { product: ['This field may not be null.'] });
      });

      it('coerces numbers to strings', async (t) => {
        const api = await start(t);
        await assertCreated(api, '{"product":123,"price":1}', { product: '123', price: 1 });
        await assertCreated(api, '{"product":1.5,"price":1}', { product: '1.5', price: 1 });
      });

      it("stores a number as Python's str() of the int or float json.loads makes of it", async (t) => {
        const api = await start(t);
        const cases: [string, string][] = [
          ['1.0', '1.0'],
          ['1e2', '100.0'],
          ['1E2', '100.0'],
          ['1e-7', '1e-07'],
          ['0.0001', '0.0001'],
          ['1e16', '1e+16'],
          ['1234567890123456.0', '1234567890123456.0'],
          ['-0', '0'],
          ['-0.0', '-0.0'],
          ['0.1', '0.1'],
          ['1e400', 'inf'],
          ['12345678901234567890', '12345678901234567890'],
          ['-1234567890123456789', '-1234567890123456789'],
        ];
        for (const [literal, stored] of cases) {
          await assertCreated(api, `{"product":${literal},"price":1}`, { product: stored, price: 1 });
        }
      });

      it('refuses booleans, arrays and objects', async (t) => {
        const api = await start(t);
        for (const value of ['true', 'false', '[]', '["a"]', '{}', '{"a":"b"}']) {
          await assertRefused(api, `{"product":${value},"price":1}`, { product: ['Not a valid string.'] });
        }
      });

      it('refuses NUL characters', async (t) => {
        const api = await start(t);
        await assertRefused(api, product('"a\\u0000b"'), { product: ['Null characters are not allowed.'] });
      });

      it('refuses lone surrogates, keeps paired ones', async (t) => {
        const api = await start(t);
        await assertRefused(api, '{"product":"a\\ud800b","price":1}', {
          product: ['Surrogate characters are not allowed: U+D800.'],
        });
        await assertRefused(api, '{"product":"\\udc00","price":1}', {
          product: ['Surrogate characters are not allowed: U+DC00.'],
        });
        await assertCreated(api, '{"product":"\\ud83c\\udf4e","price":1}', { product: '🍎', price: 1 });
      });
    });

    describe('price', () => {
      it('accepts what Python int() accepts: "100", " 7 ", "+5", "1_000", full-width digits', async (t) => {
        const api = await start(t);
        await assertCreated(api, price('"100"'), { product: 'P', price: 100 });
        await assertCreated(api, price('" 7 "'), { product: 'P', price: 7 });
        await assertCreated(api, price('"+5"'), { product: 'P', price: 5 });
        await assertCreated(api, price('"1_000"'), { product: 'P', price: 1000 });
        await assertCreated(api, price('"１２３"'), { product: 'P', price: 123 });
        await assertCreated(api, price('"5.0"'), { product: 'P', price: 5 });
      });

      it('accepts integral JSON numbers written as 1.0 and 1e2', async (t) => {
        const api = await start(t);
        await assertCreated(api, price('1.0'), { product: 'P', price: 1 });
        await assertCreated(api, price('1e2'), { product: 'P', price: 100 });
        await assertCreated(api, price('0'), { product: 'P', price: 0 });
      });

      it('refuses non-integers: 1.5, 1e16, "1e2", "0x10", "1__0", true, "", [], {}', async (t) => {
        const api = await start(t);
        for (const value of [
          '1.5',
          // Python's str(1e16) is "1e+16", which int() refuses: not the maximum message.
          '1e16',
          '1e400',
          '"1e2"',
          '"0x10"',
          '"1__0"',
          '"1.5"',
          'true',
          'false',
          '""',
          '"  "',
          '[]',
          '{}',
          '"abc"',
        ]) {
          await assertRefused(api, price(value), { price: ['A valid integer is required.'] });
        }
      });

      it('may not be null or missing', async (t) => {
        const api = await start(t);
        await assertRefused(api, price('null'), { price: ['This field may not be null.'] });
        await assertRefused(api, '{"product":"P"}', { price: ['This field is required.'] });
      });

      it('is from 0 to 2147483647 on create, update and partial update', async (t) => {
        const api = await start(t);
        await assertCreated(api, price('2147483647'), { product: 'P', price: 2147483647 });
        const tooBig = { price: ['Ensure this value is less than or equal to 2147483647.'] };
        const negative = { price: ['Ensure this value is greater than or equal to 0.'] };
        await assertRefused(api, price('2147483648'), tooBig);
        await assertRefused(api, price('9007199254740993'), tooBig);
        await assertRefused(api, price('"99999999999999999999999"'), tooBig);
        await assertRefused(api, price('-1'), negative);
        await assertRefused(api, price('"-1"'), negative);
        const [{ id }] = (await api.db.kysely.selectFrom('myapi_item').select('id').execute()) as [{ id: number }];
        for (const method of ['PUT', 'PATCH']) {
          const over = await api.request(`/api/items/${id}/`, { method, json: { product: 'P', price: 2147483648 } });
          assert.equal(over.status, 400, method);
          assert.deepEqual(await over.json(), tooBig, method);
          const under = await api.request(`/api/items/${id}/`, { method, json: { product: 'P', price: -1 } });
          assert.equal(under.status, 400, method);
          assert.deepEqual(await under.json(), negative, method);
        }
        const stored = await api.db.kysely
          .selectFrom('myapi_item')
          .select('price')
          .where('id', '=', id)
          .executeTakeFirst();
        assert.deepEqual(stored, { price: 2147483647 });
      });
    });

    it('reports every invalid field at once', async (t) => {
      const api = await start(t);
      await assertRefused(api, '{}', { product: ['This field is required.'], price: ['This field is required.'] });
      await assertRefused(api, '{"product":"","price":"x"}', {
        product: ['This field may not be blank.'],
        price: ['A valid integer is required.'],
      });
    });

    it('ignores unknown fields and a client-sent id', async (t) => {
      const api = await start(t);
      const created = await postRaw(api, '{"id":999,"product":"Apple","price":1,"colour":"red","nested":{"a":[1,2]}}');
      assert.equal(created.status, 201);
      const item = (await created.json()) as { id: number };
      assert.deepEqual(Object.keys(item).sort(), ['id', 'price', 'product']);
      assert.notEqual(item.id, 999);
      const put = await api.request(`/api/items/${item.id}/`, {
        method: 'PUT',
        json: { id: 5000, product: 'Pear', price: 2, extra: true },
      });
      assert.equal(put.status, 200);
      assert.deepEqual(await put.json(), { id: item.id, product: 'Pear', price: 2 });
      const ids = (await api.db.kysely.selectFrom('myapi_item').select('id').execute()).map((r) => r.id);
      assert.deepEqual(ids, [item.id]);
    });
  });
}
