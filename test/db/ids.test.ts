/**
 * Ids are PostgreSQL `bigint` / SQLite 64-bit integers and must leave as JSON
 * numbers, never strings, with their exact digits, including above 2^31 and above 2^53 - 1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { startTestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';

/** Fetches `url` and returns the raw text and the parsed body. */
async function getJson(url: string, init?: RequestInit): Promise<{ status: number; text: string; body: unknown }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

const post = (json: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(json),
});

describe('bigint ids', () => {
  for (const backend of BACKENDS) {
    it(`are JSON numbers on create, list and retrieve (${backend.name})`, async (t) => {
      const { baseUrl } = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      const created = await getJson(`${baseUrl}/api/items/`, post({ product: 'Apple', price: 100 }));
      assert.equal(created.status, 201);
      assert.equal(created.text, '{"id":1,"product":"Apple","price":100}');
      const list = await getJson(`${baseUrl}/api/items/`);
      assert.equal(list.text, '[{"id":1,"product":"Apple","price":100}]');
      const one = await getJson(`${baseUrl}/api/items/1/`);
      assert.equal(one.text, '{"id":1,"product":"Apple","price":100}');
    });

    it(`stay exact JSON numbers above 2^31 (${backend.name})`, async (t) => {
      const { baseUrl, db } = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      if (backend.name === 'postgres') {
        await sql`alter table myapi_item alter column id restart with 3000000000`.execute(db.kysely);
      } else {
        await sql`insert into sqlite_sequence (name, seq) values ('myapi_item', 2999999999)`.execute(db.kysely);
      }
      const created = await getJson(`${baseUrl}/api/items/`, post({ product: 'Big', price: 1 }));
      assert.equal(created.status, 201);
      assert.equal(created.text, '{"id":3000000000,"product":"Big","price":1}');
      const next = await getJson(`${baseUrl}/api/items/`, post({ product: 'Bigger', price: 2 }));
      assert.deepEqual(next.body, { id: 3000000001, product: 'Bigger', price: 2 });
      assert.equal(
        (await getJson(`${baseUrl}/api/items/`)).text,
        '[{"id":3000000000,"product":"Big","price":1},{"id":3000000001,"product":"Bigger","price":2}]',
      );
      const one = await getJson(`${baseUrl}/api/items/3000000001/`);
      assert.equal(one.text, '{"id":3000000001,"product":"Bigger","price":2}');
    });

    it(`stay exact beyond 2^53 on a keyed create and its replay (${backend.name})`, async (t) => {
      const { baseUrl, db } = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      if (backend.name === 'postgres') {
        await sql`alter table myapi_item alter column id restart with 9007199254740993`.execute(db.kysely);
      } else {
        await sql`insert into sqlite_sequence (name, seq) values ('myapi_item', 9007199254740992)`.execute(db.kysely);
      }
      const keyed = (): RequestInit => ({
        ...post({ product: 'Keyed', price: 3 }),
        headers: { 'content-type': 'application/json', 'idempotency-key': 'big-1' },
      });
      const expected = '{"id":9007199254740993,"product":"Keyed","price":3}';
      const first = await getJson(`${baseUrl}/api/items/`, keyed());
      assert.equal(first.status, 201);
      assert.equal(first.text, expected);
      const replay = await getJson(`${baseUrl}/api/items/`, keyed());
      assert.equal(replay.status, 201);
      assert.equal(replay.text, expected, 'the replay keeps every digit');
      assert.equal((await getJson(`${baseUrl}/api/items/9007199254740993/`)).text, expected);
    });

    it(`stay exact beyond 2^53 on create, list, retrieve, update and delete (${backend.name})`, async (t) => {
      const { baseUrl, db } = await startTestApp(t, { DATABASE_URL: await backend.databaseUrl(t) });
      if (backend.name === 'postgres') {
        await sql`alter table myapi_item alter column id restart with 9007199254740993`.execute(db.kysely);
      } else {
        await sql`insert into sqlite_sequence (name, seq) values ('myapi_item', 9007199254740992)`.execute(db.kysely);
      }
      const created = await getJson(`${baseUrl}/api/items/`, post({ product: 'Huge', price: 1 }));
      assert.equal(created.status, 201);
      assert.equal(created.text, '{"id":9007199254740993,"product":"Huge","price":1}');
      const next = await getJson(`${baseUrl}/api/items/`, post({ product: 'Huger', price: 2 }));
      assert.equal(next.text, '{"id":9007199254740994,"product":"Huger","price":2}');
      const list = await getJson(`${baseUrl}/api/items/`);
      assert.equal(list.status, 200);
      assert.equal(
        list.text,
        '[{"id":9007199254740993,"product":"Huge","price":1},{"id":9007199254740994,"product":"Huger","price":2}]',
      );
      const indented = await fetch(`${baseUrl}/api/items/?ordering=-id`, {
        headers: { accept: 'application/json; indent=1' },
      });
      assert.match(await indented.text(), /^\[\n \{\n {2}"id": 9007199254740994,/);
      assert.equal(
        (await getJson(`${baseUrl}/api/items/9007199254740993/`)).text,
        '{"id":9007199254740993,"product":"Huge","price":1}',
      );
      const patched = await getJson(`${baseUrl}/api/items/9007199254740993/`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: '{"price":5}',
      });
      assert.equal(patched.text, '{"id":9007199254740993,"product":"Huge","price":5}');
      assert.equal((await fetch(`${baseUrl}/api/items/9007199254740993/`, { method: 'DELETE' })).status, 204);
      assert.equal((await fetch(`${baseUrl}/api/items/9007199254740993/`)).status, 404);
      assert.equal(
        (await getJson(`${baseUrl}/api/items/`)).text,
        '[{"id":9007199254740994,"product":"Huger","price":2}]',
      );
      // Beyond PostgreSQL's and SQLite's bigint no item can exist: 404, never a database error.
      assert.equal((await fetch(`${baseUrl}/api/items/9223372036854775808/`)).status, 404);
      assert.equal((await fetch(`${baseUrl}/api/items/9223372036854775807/`)).status, 404);
    });
  }
});
