/**
 * A small client for the Items API (JSON in and out, trailing-slash URLs), for the management page.
 * Every failure becomes an {@link ApiError} carrying the status and the API's JSON body:
 * `{"field": ["message"]}`, `{"non_field_errors": [...]}` or `{"detail": "..."}`.
 */

const ITEMS = '/api/items/';

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached).
   * @param {Record<string, unknown>} body the JSON error body.
   */
  constructor(status, body) {
    super(typeof body.detail === 'string' ? body.detail : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/**
 * One request. `ifMatch` sends `If-Match` (the item's ETag as read), so a write is refused with 412
 * when someone else changed the item first.
 * @returns {Promise<{ body: unknown, etag: string | null }>} the JSON body (undefined for 204) and the `ETag`.
 */
async function send(url, { method = 'GET', json, ifMatch } = {}) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  if (ifMatch) init.headers['If-Match'] = ifMatch;
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, { detail: 'The server could not be reached.' });
  }
  const etag = response.headers.get('ETag');
  if (response.status === 204) return { body: undefined, etag };
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { detail: `Unexpected answer (HTTP ${response.status}).` };
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      body && typeof body === 'object' && !Array.isArray(body) ? body : { detail: `HTTP ${response.status}` },
    );
  }
  return { body, etag };
}

async function call(url, options) {
  return (await send(url, options)).body;
}

const itemUrl = (id) => `${ITEMS}${encodeURIComponent(id)}/`;

/** `GET /api/items/?search=` → the items, ordered by id. */
export function listItems(search = '') {
  const query = search.trim() ? `?${new URLSearchParams({ search: search.trim() })}` : '';
  return call(ITEMS + query);
}

/** `POST /api/items/` → the created item. */
export function createItem(fields) {
  return call(ITEMS, { method: 'POST', json: fields });
}

/** `GET /api/items/{id}/` → `{ item, etag }`: the item as stored now, and its ETag for {@link updateItem}. */
export async function retrieveItem(id) {
  const { body, etag } = await send(itemUrl(id));
  return { item: body, etag };
}

/**
 * `PUT /api/items/{id}/` with `If-Match: etag` → the updated item. Throws an {@link ApiError} with
 * status 412 when the item no longer has that ETag (someone else saved it first).
 */
export function updateItem(id, fields, etag) {
  return call(itemUrl(id), { method: 'PUT', json: fields, ifMatch: etag });
}

/** `DELETE /api/items/{id}/`. */
export function deleteItem(id) {
  return call(itemUrl(id), { method: 'DELETE' });
}
