/**
 * Front end and safety: CORS from `CORS_ORIGINS` with real preflights, DRF's own
 * `OPTIONS` metadata untouched, security headers on every kind of response, the body limit, and
 * the header and request timeouts against slow clients on a bare socket.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestApp } from '../helpers/app.js';
import { connect, parseResponses } from '../helpers/raw-http.js';

const FRONT_END = 'https://shop.example.com';

describe('CORS', () => {
  it('answers a preflight from an allowed origin with 204 and the CORS headers', async (t) => {
    const { request, logText } = await startTestApp(
      t,
      { CORS_ORIGINS: `${FRONT_END}, http://localhost:5173` },
      { captureLog: true },
    );
    for (const url of ['/api/items/', '/api/items/7/']) {
      const response = await request(url, {
        method: 'OPTIONS',
        headers: {
          origin: FRONT_END,
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'content-type',
        },
      });
      assert.equal(response.status, 204, url);
      assert.equal(response.headers.get('access-control-allow-origin'), FRONT_END);
      assert.match(response.headers.get('access-control-allow-methods') ?? '', /\bPATCH\b/);
      assert.match(response.headers.get('access-control-allow-headers') ?? '', /content-type/i);
      assert.equal(response.headers.get('access-control-max-age'), '600');
      assert.match(response.headers.get('vary') ?? '', /\bOrigin\b/);
      assert.match(response.headers.get('vary') ?? '', /\bAccept\b/, 'DRF content negotiation still varies on Accept');
      assert.equal(await response.text(), '');
    }
    // Logged like any request: a request line and a response line each, paired by reqId.
    const lines = (await logText())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg?: string; method?: string; reqId?: string; status?: number });
    const preflights = lines.filter((line) => line.method === 'OPTIONS');
    assert.deepEqual(
      preflights.map((line) => [line.msg, line.status]),
      [
        ['request', undefined],
        ['response', 204],
        ['request', undefined],
        ['response', 204],
      ],
    );
    assert.equal(preflights[0]!.reqId, preflights[1]!.reqId);
  });

  it('gives an allowed origin Access-Control-Allow-Origin on the actual request, and exposes X-Request-ID', async (t) => {
    const { request } = await startTestApp(t, { CORS_ORIGINS: FRONT_END });
    const response = await request('/api/items/', {
      method: 'POST',
      json: { product: 'Apple', price: 1 },
      headers: { origin: FRONT_END },
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('access-control-allow-origin'), FRONT_END);
    assert.match(response.headers.get('access-control-expose-headers') ?? '', /X-Request-ID/);
    assert.equal(response.headers.get('vary'), 'Origin, Accept', 'caches keep one copy per origin and media type');
  });

  it('lets a cross-origin page send If-Match and Idempotency-Key and read the ETag', async (t) => {
    const { request } = await startTestApp(t, { CORS_ORIGINS: FRONT_END });
    const preflight = await request('/api/items/1/', {
      method: 'OPTIONS',
      headers: {
        origin: FRONT_END,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type,if-match,idempotency-key',
      },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /if-match/i);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /idempotency-key/i);
    const created = await request('/api/items/', {
      method: 'POST',
      json: { product: 'Apple', price: 1 },
      headers: { origin: FRONT_END },
    });
    assert.ok(created.headers.get('etag'));
    const exposed = (created.headers.get('access-control-expose-headers') ?? '').split(/,\s*/);
    assert.ok(exposed.includes('ETag'), `ETag among ${exposed.join(', ')}`);
  });

  it('gives another origin no CORS permission', async (t) => {
    const { request } = await startTestApp(t, { CORS_ORIGINS: FRONT_END });
    const preflight = await request('/api/items/', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'DELETE' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    const get = await request('/api/items/', { headers: { origin: 'https://evil.example' } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), null);
  });

  it('leaves a plain OPTIONS (no preflight headers) to DRF metadata, with or without CORS', async (t) => {
    for (const env of [{ CORS_ORIGINS: FRONT_END }, {}] as Record<string, string>[]) {
      const { request } = await startTestApp(t, env);
      const response = await request('/api/items/', { method: 'OPTIONS' });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { name: string; actions?: { POST?: unknown } };
      assert.equal(body.name, 'Item List');
      assert.ok(body.actions?.POST, 'DRF metadata lists the POST action');
      // An OPTIONS with Origin but no Access-Control-Request-Method is not a preflight either.
      const withOrigin = await request('/api/items/', { method: 'OPTIONS', headers: { origin: FRONT_END } });
      assert.equal(withOrigin.status, 200);
      assert.equal(((await withOrigin.json()) as { name: string }).name, 'Item List');
    }
  });

  it('sends no CORS headers at all when CORS_ORIGINS is empty (the default)', async (t) => {
    const { request } = await startTestApp(t);
    const preflight = await request('/api/items/', {
      method: 'OPTIONS',
      headers: { origin: FRONT_END, 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.headers.get('access-control-allow-methods'), null);
  });
});

describe('security headers', () => {
  const EXPECTED = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
  };

  it('are on every kind of response: 2xx, 3xx, 4xx, 413, HTML, preflight', async (t) => {
    const { request } = await startTestApp(t, { CORS_ORIGINS: FRONT_END, BODY_LIMIT: '1024' });
    const responses = {
      list: await request('/api/items/'),
      created: await request('/api/items/', { method: 'POST', json: { product: 'Apple', price: 1 } }),
      redirect: await request('/api/items'),
      invalid: await request('/api/items/', { method: 'POST', json: { price: -1 } }),
      notFound: await request('/nowhere'),
      methodNotAllowed: await request('/api/', { method: 'DELETE' }),
      tooLarge: await request('/api/items/', { method: 'POST', json: { product: 'x'.repeat(2000), price: 1 } }),
      html: await request('/api/items/', { headers: { accept: 'text/html' } }),
      healthz: await request('/healthz'),
      preflight: await request('/api/items/', {
        method: 'OPTIONS',
        headers: { origin: FRONT_END, 'access-control-request-method': 'POST' },
      }),
    };
    for (const [name, response] of Object.entries(responses)) {
      for (const [header, value] of Object.entries(EXPECTED)) {
        assert.equal(response.headers.get(header), value, `${name} (${response.status}): ${header}`);
      }
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, name);
      assert.match(csp, /style-src 'self' 'unsafe-inline'/, name);
      assert.match(csp, /img-src 'self' data:/, name);
      assert.match(csp, /script-src 'self'(;|$)/, `${name}: no inline scripts`);
      assert.doesNotMatch(csp, /upgrade-insecure-requests/, `${name}: plain HTTP pages keep working`);
    }
  });
});

describe('limits and timeouts', () => {
  it('answers a body above BODY_LIMIT with 413 JSON', async (t) => {
    const { request } = await startTestApp(t, { BODY_LIMIT: '1024' });
    const response = await request('/api/items/', { method: 'POST', json: { product: 'x'.repeat(2000), price: 1 } });
    assert.equal(response.status, 413);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await response.json(), { detail: 'Request body is too large.' });
    const fits = await request('/api/items/', { method: 'POST', json: { product: 'Apple', price: 1 } });
    assert.equal(fits.status, 201);
  });

  const TIMEOUTS = { KEEP_ALIVE_TIMEOUT_MS: '300', HEADERS_TIMEOUT_MS: '800', REQUEST_TIMEOUT_MS: '1500' };

  it('cuts a client that sends its headers too slowly (HEADERS_TIMEOUT_MS) with 408', async (t) => {
    const { app } = await startTestApp(t, TIMEOUTS);
    const { port } = app.server.address() as { port: number };
    const connection = await connect(port);
    t.after(() => connection.socket.destroy());
    await connection.write('GET /api/items/ HTTP/1.1\r\nHost: x\r\n');
    let open = true;
    void connection.closed.then(() => (open = false));
    // One header line every 200 ms, for at most 40 lines (8 s); the server must cut in between.
    for (let i = 0; i < 40 && open; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (open) await connection.write(`X-Slow-${i}: 1\r\n`).catch(() => (open = false));
    }
    const received = await connection.closed;
    assert.match(received, /^HTTP\/1\.1 408 /, 'the server answered 408 Request Timeout and closed');
  });

  it('cuts a client that never finishes its body (REQUEST_TIMEOUT_MS) with 408', async (t) => {
    const { app } = await startTestApp(t, TIMEOUTS);
    const { port } = app.server.address() as { port: number };
    const connection = await connect(port);
    t.after(() => connection.socket.destroy());
    await connection.write(
      'POST /api/items/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"product":',
    );
    const received = await connection.closed;
    assert.match(received, /^HTTP\/1\.1 408 /);
  });

  it('serves a prompt client under the same short timeouts', async (t) => {
    const { app } = await startTestApp(t, TIMEOUTS);
    const { port } = app.server.address() as { port: number };
    const connection = await connect(port);
    t.after(() => connection.socket.destroy());
    await connection.write('GET /api/items/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [response] = parseResponses(await connection.closed);
    assert.equal(response?.status, 200);
    assert.equal(response?.body, '[]');
  });
});
