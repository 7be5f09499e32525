/**
 * Request ids: an incoming `X-Request-ID` is kept (a missing or unsafe one
 * replaced by a UUID), returned in the response, and carried by every log line of that request,
 * in the log file: the request line, the response line, and an error line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { scratchDir, startTestApp } from '../helpers/app.js';
import { jsonLines } from '../helpers/raw-http.js';
import { freePort } from '../helpers/process.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The app logging to a file, over `DATABASE_URL`; returns fetch and the log file's lines. */
async function startLoggingApp(t: TestContext, databaseUrl: string) {
  const app = await startTestApp(t, { DATABASE_URL: databaseUrl }, { captureLog: true, migrate: false });
  return {
    request: (path: string, init?: RequestInit) => fetch(app.baseUrl + path, init),
    logLines: async () => jsonLines(await app.logText()),
  };
}

describe('X-Request-ID', () => {
  it('is kept, echoed, and on the request, error and response lines of that request', async (t) => {
    // A database port where nothing listens: the request fails with a logged error and a 503.
    const { request, logLines } = await startLoggingApp(t, `postgres://root@127.0.0.1:${await freePort()}/test`);
    const response = await request('/api/items/', { headers: { 'x-request-id': 'front-end-42' } });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('x-request-id'), 'front-end-42');
    await request('/healthz', { headers: { 'x-request-id': 'other-request' } });

    const all = await logLines();
    const lines = all.filter((l) => l.reqId === 'front-end-42');
    const messages = lines.map((l) => l.msg);
    assert.ok(messages.includes('request'), messages.join());
    assert.ok(messages.includes('database unavailable'), messages.join());
    assert.ok(messages.includes('response'), messages.join());
    assert.ok(lines.some((l) => l.level === 'error'));
    assert.ok(!all.some((l) => l.reqId === 'other-request' && l.path === '/api/items/'));
  });

  it('is a fresh UUID when missing or unsafe, the same on the response and every log line', async (t) => {
    const dir = scratchDir(t);
    const { request, logLines } = await startLoggingApp(t, `sqlite:///${dir}/db.sqlite3`);
    for (const sent of [undefined, 'bad id with spaces\nand a newline'.replace('\n', ' '), 'x'.repeat(200)]) {
      const response = await request('/healthz', sent === undefined ? {} : { headers: { 'x-request-id': sent } });
      const id = response.headers.get('x-request-id') ?? '';
      assert.match(id, UUID, `sent ${JSON.stringify(sent)}`);
      const lines = (await logLines()).filter((l) => l.reqId === id);
      assert.deepEqual(lines.map((l) => l.msg).sort(), ['request', 'response']);
    }
  });
});
