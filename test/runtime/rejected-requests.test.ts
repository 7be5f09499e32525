/**
 * Requests that never become Fastify requests (Node's HTTP parser refuses them) or that lack `Host`:
 * each is answered with a JSON body, logged as a JSON line with its status, and counted in
 * `/metrics`; at debug level what the parser was reading is logged cut at `LOG_BODY_MAX`. Over a
 * raw socket, since fetch cannot send any of them. A request whose client leaves before sending all
 * of it gets no answer, and its `request` line is closed by a `request aborted` line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';
import { connect, jsonLines, parseResponses, type RawResponse } from '../helpers/raw-http.js';

const LOG_BODY_MAX = 100;

/** Sends `request` on a new connection and returns the one response before the server closes it. */
async function send(api: TestApp, request: string): Promise<RawResponse> {
  const connection = await connect(Number(new URL(api.baseUrl).port));
  await connection.write(request);
  const [response, ...more] = parseResponses(await connection.closed);
  assert.ok(response, `an answer to ${JSON.stringify(request.slice(0, 60))}`);
  assert.equal(more.length, 0);
  return response;
}

function assertJsonError(response: RawResponse, status: number, detail: string): void {
  assert.equal(response.status, status);
  assert.match(response.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(response.headers.connection, 'close');
  assert.deepEqual(JSON.parse(response.body), { detail });
}

describe('requests refused before routing', () => {
  it('unknown method, repeated Content-Length, oversized headers, no Host: JSON answer, log line, metric', async (t) => {
    const api = await startTestApp(t, { LOG_LEVEL: 'debug', LOG_BODY_MAX: String(LOG_BODY_MAX) }, { captureLog: true });
    const malformed = 'Malformed HTTP request.';
    assertJsonError(await send(api, 'FOO /api/items/ HTTP/1.1\r\nHost: x\r\n\r\n'), 400, malformed);
    assertJsonError(
      await send(api, 'POST /api/items/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'),
      400,
      malformed,
    );
    const overflow = `GET /api/items/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    assertJsonError(await send(api, overflow), 431, 'Request line and headers are too large.');
    assertJsonError(await send(api, 'GET /api/items/ HTTP/1.1\r\n\r\n'), 400, 'Missing Host header.');
    // HTTP/1.0 has no Host requirement.
    const http10 = await send(api, 'GET /api/items/ HTTP/1.0\r\n\r\n');
    assert.equal(http10.status, 200);
    assert.equal(http10.body, '[]');
    // Without Host, the API root's links use the address the request came in on.
    const root10 = await send(api, 'GET /api/ HTTP/1.0\r\n\r\n');
    assert.deepEqual(JSON.parse(root10.body), { items: `${api.baseUrl}/api/items/` });

    const lines = jsonLines(await api.logText());
    const rejected = lines.filter((line) => line.msg === 'request rejected');
    assert.deepEqual(
      rejected.map(({ status, code }) => ({ status, code })),
      [
        { status: 400, code: 'HPE_INVALID_METHOD' },
        { status: 400, code: 'HPE_UNEXPECTED_CONTENT_LENGTH' },
        { status: 431, code: 'HPE_HEADER_OVERFLOW' },
      ],
    );
    for (const line of rejected) {
      assert.equal(line.level, 'info');
      assert.equal(typeof line.raw, 'string', 'debug level: what the parser read');
      assert.ok((line.raw as string).length <= LOG_BODY_MAX + 20, `raw cut at LOG_BODY_MAX: ${line.raw as string}`);
      assert.ok(JSON.stringify(line).length < 1000, 'no rawPacket byte array, no error object');
    }
    assert.ok(
      lines.some((line) => line.msg === 'response' && line.status === 400 && line.path === '/api/items/'),
      'the missing Host 400 is logged as a response',
    );

    const metrics = await (await api.request('/metrics')).text();
    assert.match(metrics, /^http_requests_total\{method="rejected",route="rejected",status_code="400"\} 2$/m);
    assert.match(metrics, /^http_requests_total\{method="rejected",route="rejected",status_code="431"\} 1$/m);
    assert.match(metrics, /^http_requests_total\{method="GET",route="\/api\/items\/",status_code="400"\} 1$/m);
  });

  it('at debug, a body that is not valid UTF-8 is logged as text, cut like other bodies', async (t) => {
    const api = await startTestApp(t, { LOG_LEVEL: 'debug', LOG_BODY_MAX: String(LOG_BODY_MAX) }, { captureLog: true });
    const body = Buffer.concat([Buffer.from('{"product":"'), Buffer.from([0xff, 0xfe]), Buffer.from('x'.repeat(300))]);
    const response = await api.request('/api/items/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { detail: 'JSON parse error - body is not valid UTF-8' });
    const logged = jsonLines(await api.logText()).find((line) => line.msg === 'request body');
    assert.ok(logged, 'a request body line');
    assert.equal(logged.body, `{"product":"\ufffd\ufffd${'x'.repeat(LOG_BODY_MAX - 14)}…[214 more]`);
  });

  it('a client leaving mid-body: its request line is closed by a request aborted line, no error', async (t) => {
    const api = await startTestApp(t, {}, { captureLog: true });
    const connection = await connect(Number(new URL(api.baseUrl).port));
    await connection.write(
      'POST /api/items/ HTTP/1.1\r\nHost: x\r\nX-Request-ID: left-mid-body\r\n' +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"product":',
    );
    // The request line is written once Fastify has the request; leave only after that.
    for (let i = 0; i < 100 && !(await api.logText()).includes('"left-mid-body"'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    connection.socket.destroy();
    await connection.closed;
    let lines: ReturnType<typeof jsonLines> = [];
    for (let i = 0; i < 100; i++) {
      lines = jsonLines(await api.logText()).filter((line) => line.reqId === 'left-mid-body');
      if (lines.length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(
      lines.map(({ msg, method, path }) => ({ msg, method, path })),
      [
        { msg: 'request', method: 'POST', path: '/api/items/' },
        { msg: 'request aborted', method: 'POST', path: '/api/items/' },
      ],
    );
    // Node's ECONNRESET "aborted" from the request stream is the client's doing, not a database outage.
    assert.equal(lines.filter((line) => line.level !== 'info').length, 0, 'no error or warn line');
    assert.deepEqual(await (await api.request('/api/items/')).json(), [], 'nothing half-read was stored');
    // Node's parser also reports the connection's end mid-body (HPE_INVALID_EOF_STATE); that is this
    // request's end, already logged, not a second request refused.
    const all = jsonLines(await api.logText());
    assert.deepEqual(
      all.filter((line) => line.msg === 'request rejected'),
      [],
      'no request rejected line',
    );
    const metrics = await (await api.request('/metrics')).text();
    assert.doesNotMatch(metrics, /http_requests_total\{[^}]*method="rejected"/, 'not counted as rejected');
  });

  it('a client leaving while its whole request is being handled: its request line is closed too', async (t) => {
    const postgres = BACKENDS.find((backend) => backend.name === 'postgres')!;
    const databaseUrl = await postgres.databaseUrl(t);
    const api = await startTestApp(t, { DATABASE_URL: databaseUrl }, { captureLog: true });
    assert.equal((await api.request('/api/items/', { method: 'POST', json: { product: 'a', price: 1 } })).status, 201);
    // The row locked by another session, so the PUT waits in its handler, its body all read.
    const locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    t.after(() => locker.end());
    await locker.query('begin');
    await locker.query('select id from myapi_item for update');
    const connection = await connect(Number(new URL(api.baseUrl).port));
    const body = JSON.stringify({ product: 'b', price: 2 });
    await connection.write(
      'PUT /api/items/1/ HTTP/1.1\r\nHost: x\r\nX-Request-ID: left-while-handled\r\n' +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    const ownLines = async () => jsonLines(await api.logText()).filter((line) => line.reqId === 'left-while-handled');
    for (let i = 0; i < 100 && (await ownLines()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    connection.socket.destroy();
    await connection.closed;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await locker.query('commit');
    let lines = await ownLines();
    for (let i = 0; i < 100 && lines.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      lines = await ownLines();
    }
    assert.deepEqual(
      lines.map(({ msg }) => msg),
      ['request', 'request aborted'],
    );
    assert.equal(api.app.requestLog.open, 0, 'no request left counted as open');
  });
});
