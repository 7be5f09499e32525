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
 * `JSON.parse`, keeping item ids beyond `Number.MAX_SAFE_INTEGER` (2^53 - 1) exact: the API writes
 * every id as a JSON number, which `JSON.parse` would round, possibly to another item's id. Such an
 * id is read as its decimal string, which the page only shows and puts in URLs. Sound on the API's
 * compact output: `"id":` before a digit occurs only as an item's key (quotes inside strings are
 * escaped).
 *
 * @param {string} text JSON text from the API.
 * @returns {unknown}
 */
function parseJson(text) {
  return JSON.parse(
    text.replace(/"id":(-?\d{16,})/g, (whole, digits) =>
      Number.isSafeInteger(Number(digits)) ? whole : `"id":"${digits}"`,
    ),
  );
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
    body = text ? parseJson(text) : {};
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

/**
 * Splits a JSON array of flat objects (the list) into batches of elements as its text arrives.
 * `push` takes the next piece of text and returns the elements completed by it; `end` checks that
 * the array was closed. Strings may hold any character: quotes and backslashes are tracked.
 */
class ArrayOfObjectsReader {
  text = '';
  /** Where scanning resumes in `text`, and the scanner's state there. */
  scanned = 0;
  depth = 0;
  inString = false;
  escaped = false;
  closed = false;

  /** @returns {unknown[]} the elements completed by `chunk`. */
  push(chunk) {
    this.text += chunk;
    const { text } = this;
    let lastEnd = -1;
    for (let i = this.scanned; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 1) lastEnd = i;
        else if (this.depth === 0) this.closed = true;
      }
    }
    this.scanned = text.length;
    if (lastEnd < 0) return [];
    // `text` starts with the array's `[` or the `,` after the last element handed out.
    const elements = parseJson(
      `[${text
        .slice(0, lastEnd + 1)
        .trimStart()
        .slice(1)}]`,
    );
    this.text = text.slice(lastEnd + 1);
    this.scanned -= lastEnd + 1;
    return elements;
  }

  /** @returns {unknown[]} the elements completed by `rest`. @throws {ApiError} when the array was cut short. */
  end(rest) {
    const elements = this.push(rest);
    if (!this.closed) throw new ApiError(0, { detail: 'The list arrived incomplete.' });
    return elements;
  }
}

/**
 * `GET /api/items/?search=`, read as it arrives: `onItems` receives the items (ordered by id) a
 * batch at a time, the first ones long before a big list has fully arrived.
 *
 * @param {string} search the `?search=` text ('' for every item).
 * @param {{ signal?: AbortSignal, onItems: (items: object[]) => void }} options `signal` cancels the
 *   request (the promise then rejects with the signal's reason).
 * @returns {Promise<void>} settles once the whole list has arrived.
 * @throws {ApiError} for an error answer, an unreachable server, or a list cut short.
 */
export async function streamItems(search, { signal, onItems }) {
  const query = search.trim() ? `?${new URLSearchParams({ search: search.trim() })}` : '';
  let response;
  try {
    response = await fetch(ITEMS + query, { headers: { Accept: 'application/json' }, signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, { detail: 'The server could not be reached.' });
  }
  if (!response.ok || !response.body) {
    const text = await response.text();
    let body;
    try {
      body = parseJson(text);
    } catch {
      body = undefined;
    }
    throw new ApiError(
      response.status,
      body && typeof body === 'object' && !Array.isArray(body) ? body : { detail: `HTTP ${response.status}` },
    );
  }
  const reader = new ArrayOfObjectsReader();
  const decoder = new TextDecoder();
  const chunks = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await chunks.read();
      if (done) break;
      const items = reader.push(decoder.decode(value, { stream: true }));
      if (items.length) onItems(items);
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, { detail: 'The list arrived incomplete.' });
  }
  const items = reader.end(decoder.decode());
  if (items.length) onItems(items);
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
