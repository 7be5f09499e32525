/**
 * Request ids (issue 4 item 6): an incoming `X-Request-ID` is kept (a missing or unsafe one
 * replaced by a UUID), returned in the response, and carried by every log line of that request,
 * in the log file: the request line, the response line, and an error line.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/database.js';
import { createLogger } from '../../src/logging/logger.js';
import { scratchDir } from '../helpers/app.js';
import { jsonLines } from '../helpers/raw-http.js';
import { freePort } from '../helpers/server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The app logging to a file in a scratch folder, over `DATABASE_URL`; returns fetch and the file's lines. */
async function startLoggingApp(t: TestContext, databaseUrl: string) {
  const dir = scratchDir(t);
  const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', LOG_DIR: dir });
  const devNull = fs.openSync('/dev/null', 'w');
  const sinks = createLogger({ level: config.logLevel, logDir: config.logDir, stdoutFd: devNull });
  const db = createDb(config.database);
  const app = await buildApp({ config, db, logger: sinks.logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await db.destroy();
    sinks.flush();
    fs.closeSync(devNull);
  });
  const { port } = app.server.address() as { port: number };
  return {
    request: (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, init),
    /**
     * The file's lines once the logger has written everything so far. `flush()` alone can't wait
     * for a write already in flight (sonic-boom writes what is queued behind it synchronously,
     * so the file can briefly miss an earlier line); give that write a moment to land first.
     */
    logLines: async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      sinks.flush();
      return jsonLines(fs.readFileSync(sinks.filePath!, 'utf8'));
    },
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
