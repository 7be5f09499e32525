/**
 * A small typed client for the Items API, written only against the types openapi-typescript
 * generates from the OpenAPI document, as a front end would. `test/openapi/openapi.test.ts`
 * type-checks it with `tsc` against freshly generated types (the module `itemstore-openapi` is
 * mapped to them there; this file is therefore not part of `npm run typecheck`) and calls the
 * running server with it.
 *
 * The `@ts-expect-error` lines prove the generated types are precise: each must be an error.
 */
import type { paths } from 'itemstore-openapi';

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;

export type ItemList = Json<paths['/api/items/']['get']['responses'][200]>;
export type Item = Json<paths['/api/items/{id}/']['get']['responses'][200]>;
export type ItemWrite = Json<NonNullable<paths['/api/items/']['post']['requestBody']>>;
export type ItemPatch = Json<NonNullable<paths['/api/items/{id}/']['patch']['requestBody']>>;
export type BadRequest = Json<paths['/api/items/']['post']['responses'][400]>;
export type ListQuery = NonNullable<paths['/api/items/']['get']['parameters']['query']>;

/** A write's outcome: the item, or the API's 400 body (field → messages, or `{detail}`). */
export type WriteResult = { ok: true; item: Item } | { ok: false; status: 400; errors: BadRequest };

/** Non-2xx answers other than 400. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export function itemsClient(baseUrl: string) {
  async function call(method: string, url: string, body?: unknown): Promise<Response> {
    return fetch(baseUrl + url, {
      method,
      headers:
        body === undefined
          ? { accept: 'application/json' }
          : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  async function write(method: string, url: string, body: ItemWrite | ItemPatch): Promise<WriteResult> {
    const response = await call(method, url, body);
    if (response.status === 400) return { ok: false, status: 400, errors: (await response.json()) as BadRequest };
    if (!response.ok) throw new HttpError(response.status, await response.json());
    return { ok: true, item: (await response.json()) as Item };
  }
  const itemUrl = (id: Item['id']) => `/api/items/${id}/`;
  return {
    async list(query: ListQuery = {}): Promise<ItemList> {
      const search = new URLSearchParams(
        Object.entries(query).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      const response = await call('GET', `/api/items/${search.size ? `?${search}` : ''}`);
      if (!response.ok) throw new HttpError(response.status, await response.json());
      return (await response.json()) as ItemList;
    },
    create: (body: ItemWrite) => write('POST', '/api/items/', body),
    update: (id: Item['id'], body: ItemWrite) => write('PUT', itemUrl(id), body),
    partialUpdate: (id: Item['id'], body: ItemPatch) => write('PATCH', itemUrl(id), body),
    async destroy(id: Item['id']): Promise<void> {
      const response = await call('DELETE', itemUrl(id));
      if (response.status !== 204) throw new HttpError(response.status, await response.json());
    },
  };
}

// The generated types must be exactly this precise.
export const sample: Item = { id: 1, product: 'Apple', price: 100 };
export const patch: ItemPatch = { price: 120 };
export const fieldErrors: BadRequest = { product: ['This field may not be blank.'] };
export const detail: BadRequest = { detail: 'Not found.' };
export const ordering: ListQuery = { ordering: '-price', search: 'apple', format: 'json' };
// @ts-expect-error create needs both fields
export const missingPrice: ItemWrite = { product: 'Apple' };
// @ts-expect-error price is an integer, not a string, in the schema
export const stringPrice: Item = { id: 1, product: 'Apple', price: '100' };
// @ts-expect-error only json and api are formats
export const badFormat: ListQuery = { format: 'xml' };
// @ts-expect-error an item has no other fields
export const extraField: Item = { id: 1, product: 'Apple', price: 100, colour: 'red' };
