/**
 * Graceful shutdown of the built server and the keep-alive settings behind an
 * ALB. Slow requests are real: each client sends its headers and half of a JSON body, and
 * finishes the body only after the server has started closing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { scratchDir, startTestApp } from '../helpers/app.js';
import { connect, jsonLines, parseResponses, waitFor } from '../helpers/raw-http.js';
import { startServer } from '../helpers/process.js';

function postHead(port: number, body: string): string {
  return (
    `POST /api/items/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`
  );
}

describe('graceful shutdown on SIGTERM', () => {
  it('keeps serving through the drain, finishes every in-flight request with 2xx, and exits 0', async (t) => {
    const dir = scratchDir(t);
    const dbFile = path.join(dir, 'db.sqlite3');
    const server = await startServer(t, {
      DATABASE_URL: `sqlite:///${dbFile}`,
      LOG_DIR: dir,
      LOG_LEVEL: 'info',
      SHUTDOWN_DRAIN_MS: '3000',
    });
    const logLines = () => jsonLines(server.output());

    // Five POSTs in flight: headers and half the body sent, the rest held back.
    const bodies = Array.from({ length: 5 }, (_, i) => JSON.stringify({ product: `Slow ${i}`, price: 100 + i }));
    const slow = await Promise.all(bodies.map(() => connect(server.port)));
    await Promise.all(slow.map((c, i) => c.write(postHead(server.port, bodies[i]!) + bodies[i]!.slice(0, 10))));
    // One keep-alive connection opened before the signal, used again during the drain.
    const keepAlive = await connect(server.port);
    await keepAlive.write(`GET /api/items/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor(() => parseResponses(keepAlive.received()).length === 1, 'first keep-alive response');
    await waitFor(
      () => logLines().filter((l) => l.msg === 'request' && l.method === 'POST').length === 5,
      'the server to have received the five POSTs',
    );

    server.child.kill('SIGTERM');
    await waitFor(() => logLines().some((l) => l.msg === 'shutdown started'), 'shutdown started');

    // Drain: not ready any more, but still serving new connections and the kept-alive one.
    const ready = await fetch(`${server.baseUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { detail: 'Shutting down.' });
    assert.equal((await fetch(`${server.baseUrl}/api/items/`)).status, 200);
    await keepAlive.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor(() => parseResponses(keepAlive.received()).length === 2, 'keep-alive response during the drain');
    assert.equal(parseResponses(keepAlive.received())[1]?.status, 200);
    // Its next request starts (headers in progress) before closing begins and ends after.
    await keepAlive.write(`GET /api/items/ HTTP/1.1\r\nHost: x\r\n`);

    // Closing: the listener is gone, the in-flight requests still complete, later ones get 503.
    await waitFor(() => logLines().some((l) => l.msg === 'closing server'), 'closing server');
    await assert.rejects(connect(server.port), 'new connections are refused once closing');
    await Promise.all(slow.map((c, i) => c.write(bodies[i]!.slice(10))));
    await keepAlive.write('\r\n');
    // Every connection is closed by the server: the process cannot exit before.
    const answers = await Promise.all(slow.map((c) => c.closed));
    const late = parseResponses(await keepAlive.closed)[2];

    assert.equal(await server.closed, 0, server.output());
    const responses = answers.map(parseResponses);
    for (const [i, [response]] of responses.entries()) {
      assert.equal(response?.status, 201, `slow request ${i}: ${answers[i]}`);
      assert.deepEqual(JSON.parse(response!.body), { id: JSON.parse(response!.body).id, ...JSON.parse(bodies[i]!) });
      assert.equal(response?.headers.connection, 'close', 'in-flight responses tell the client the socket closes');
    }
    assert.equal(late?.status, 503, 'a request completed on a kept-alive socket after closing began');
    assert.equal(late?.headers.connection, 'close');

    const db = new SQLite(dbFile, { readonly: true });
    t.after(() => db.close());
    assert.deepEqual(
      db.prepare('select product from myapi_item order by product').pluck().all(),
      bodies.map((b) => JSON.parse(b).product).sort(),
    );
    // Both sinks end with the shutdown lines.
    const stdoutMessages = logLines().map((l) => l.msg);
    const fileMessages = jsonLines(fs.readFileSync(path.join(dir, 'api_server.log'), 'utf8')).map((l) => l.msg);
    for (const messages of [stdoutMessages, fileMessages]) {
      assert.equal(messages.at(-1), 'server closed');
      assert.ok(messages.indexOf('shutdown started') < messages.indexOf('closing server'));
    }
  });

  it('answers a request on a keep-alive socket left idle through the drain with 503 and Connection: close, not a reset', async (t) => {
    const dir = scratchDir(t);
    const server = await startServer(t, {
      DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`,
      LOG_DIR: '',
      LOG_LEVEL: 'info',
      SHUTDOWN_DRAIN_MS: '300',
    });
    const logLines = () => jsonLines(server.output());
    const idle = await Promise.all([connect(server.port), connect(server.port)]);
    for (const connection of idle) {
      await connection.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(() => parseResponses(connection.received()).length === 1, 'the first response');
    }
    const [reused, untouched] = idle as [(typeof idle)[0], (typeof idle)[0]];

    server.child.kill('SIGTERM');
    await waitFor(() => logLines().some((l) => l.msg === 'closing server'), 'closing server');
    await reused.write('GET /api/items/ HTTP/1.1\r\nHost: x\r\nX-Request-ID: after-drain\r\n\r\n');
    const [, late] = parseResponses(await reused.closed);
    assert.equal(late?.status, 503);
    assert.equal(late?.headers.connection, 'close');
    assert.deepEqual(JSON.parse(late!.body), { detail: 'Shutting down.' });
    await assert.rejects(connect(server.port), 'new connections are refused once closing');

    // The socket nobody used again is closed once the grace is over, and the process exits 0.
    assert.equal(parseResponses(await untouched.closed).length, 1);
    assert.equal(await server.closed, 0, server.output());
    const answered = logLines().find((l) => l.msg === 'response' && l.reqId === 'after-drain');
    assert.equal(answered?.status, 503, 'the 503 is logged like any response');
  });

  it('skips the drain on SIGINT and exits 0 at once', async (t) => {
    const dir = scratchDir(t);
    const server = await startServer(t, {
      DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`,
      LOG_DIR: '',
      SHUTDOWN_DRAIN_MS: '600000',
      SHUTDOWN_TIMEOUT: '600001',
    });
    server.child.kill('SIGINT');
    assert.equal(await server.closed, 0);
    const started = jsonLines(server.output()).find((l) => l.msg === 'shutdown started');
    assert.equal(started?.drainMs, 0);
  });

  it('closes a connection whose request never finishes before SHUTDOWN_TIMEOUT: logged as aborted, exit 0', async (t) => {
    const dir = scratchDir(t);
    const server = await startServer(t, {
      DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`,
      LOG_DIR: '',
      SHUTDOWN_DRAIN_MS: '0',
      SHUTDOWN_TIMEOUT: '1000',
    });
    const stuck = await connect(server.port);
    const body = JSON.stringify({ product: 'Never', price: 1 });
    await stuck.write(postHead(server.port, body) + body.slice(0, 5));
    await waitFor(
      () => jsonLines(server.output()).some((l) => l.msg === 'request' && l.method === 'POST'),
      'the stuck request to arrive',
    );
    server.child.kill('SIGTERM');
    assert.equal(await server.closed, 0);
    const lines = jsonLines(server.output());
    assert.ok(lines.some((l) => l.msg === 'request aborted' && l.method === 'POST'));
    assert.ok(lines.some((l) => l.msg === 'closing the connections still open'));
    assert.ok(!lines.some((l) => l.msg === 'shutdown timed out; exiting'));
    assert.equal(lines.at(-1)?.msg, 'server closed');
  });
});

describe('keep-alive behind an ALB', () => {
  it('keeps idle sockets longer than the ALB 60 s idle timeout, and headersTimeout above that', async (t) => {
    const { app } = await startTestApp(t);
    assert.equal(app.server.keepAliveTimeout, 72_000);
    assert.ok(app.server.keepAliveTimeout >= 65_000);
    assert.ok(app.server.headersTimeout > app.server.keepAliveTimeout);
    assert.ok(app.server.requestTimeout === 0 || app.server.requestTimeout >= app.server.headersTimeout);
  });

  it('KEEP_ALIVE_TIMEOUT_MS overrides it, and headersTimeout follows', async (t) => {
    const { app } = await startTestApp(t, { KEEP_ALIVE_TIMEOUT_MS: '90000' });
    assert.equal(app.server.keepAliveTimeout, 90_000);
    assert.equal(app.server.headersTimeout, 91_000);
  });

  it('the built server announces the keep-alive timeout on its responses', async (t) => {
    const dir = scratchDir(t);
    const server = await startServer(t, { DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`, LOG_DIR: '' });
    const connection = await connect(server.port);
    t.after(() => connection.socket.destroy());
    await connection.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => parseResponses(connection.received()).length === 1, 'a response');
    const [response] = parseResponses(connection.received());
    assert.equal(response?.headers.connection, 'keep-alive');
    assert.equal(response?.headers['keep-alive'], 'timeout=72');
  });
});
