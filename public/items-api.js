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

async function call(url, { method = 'GET', json } = {}) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, { detail: 'The server could not be reached.' });
  }
  if (response.status === 204) return undefined;
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
  return body;
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

/** `PUT /api/items/{id}/` → the updated item. */
export function updateItem(id, fields) {
  return call(itemUrl(id), { method: 'PUT', json: fields });
}

/** `DELETE /api/items/{id}/`. */
export function deleteItem(id) {
  return call(itemUrl(id), { method: 'DELETE' });
}
