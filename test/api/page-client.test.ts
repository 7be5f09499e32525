/**
 * The management page's API client (public/items-api.js), run in Node against the real server:
 * what the page reads and sends for items whose ids are beyond 2^53 - 1, where `JSON.parse` rounds
 * a number to its neighbour's id.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { startTestApp } from '../helpers/app.js';

interface PageItem {
  id: number | string;
  product: string;
  price: number;
}

interface ItemsApi {
  streamItems(search: string, options: { onItems: (items: PageItem[]) => void }): Promise<void>;
  retrieveItem(id: PageItem['id']): Promise<{ item: PageItem; etag: string | null }>;
  deleteItem(id: PageItem['id']): Promise<unknown>;
}

describe('the management page client', () => {
  it('reads ids beyond 2^53 - 1 exactly and deletes the item shown, not its neighbour', async (t) => {
    const { baseUrl, db, request } = await startTestApp(t);
    await sql`insert into sqlite_sequence (name, seq) values ('myapi_item', 9007199254740994)`.execute(db.kysely);
    for (const product of ['keep-me-995', 'other-996']) {
      assert.equal((await request('/api/items/', { method: 'POST', json: { product, price: 1 } })).status, 201);
    }
    // The page calls the API by path from its own origin.
    const pageFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => pageFetch(new URL(String(input), baseUrl), init);
    t.after(() => (globalThis.fetch = pageFetch));
    // Plain JavaScript for the browser, with no declarations: imported by URL.
    const api = (await import(new URL('../../public/items-api.js', import.meta.url).href)) as ItemsApi;

    const shown: PageItem[] = [];
    await api.streamItems('keep-me', { onItems: (items) => shown.push(...items) });
    assert.deepEqual(shown, [{ id: '9007199254740995', product: 'keep-me-995', price: 1 }]);
    assert.deepEqual((await api.retrieveItem(shown[0]!.id)).item, shown[0]);
    await api.deleteItem(shown[0]!.id);

    const left = await (await request('/api/items/')).text();
    assert.equal(left, '[{"id":9007199254740996,"product":"other-996","price":1}]');
  });
});
