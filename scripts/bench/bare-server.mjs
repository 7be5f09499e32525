// The ceilings the service is measured against, one per process: what the same stack answers with
// nothing of ours in it. Plain JavaScript run by `node` (no TypeScript loader in the process).
//
// usage: node scripts/bench/bare-server.mjs http|fastify|fastify-duties|fastify-pg|fastify-pg-duties
//   http        bare node:http, constant item JSON on every URL
//   fastify     bare Fastify (no logger), constant item JSON on every GET
//   fastify-duties
//               fastify plus the duties below (the security headers, `X-Request-ID`, log lines,
//               metrics), constant item JSON on every GET
//   fastify-pg  bare Fastify + a pg.Pool: GET /api/items/:id/ runs the retrieve SELECT as one named
//               (prepared) statement and sends the row; DATABASE_URL (search_path in its options)
//               and DB_POOL_MAX (default 10, the service's default) say where and how many.
//   fastify-pg-duties
//               fastify-pg plus, done the cheapest way, what every answer of the service must carry
//               (issue 16 keeps them: "the same headers, the same log content, the same metrics"):
//               a `request` and a `response` JSON line per request through pino to stdout and to a
//               file, gathered for 5 ms as the service does; the security headers, `X-Request-ID`,
//               and on an item `Vary`, `Allow` and `ETag`; prom-client's default metrics and a counter and a
//               histogram per request. No negotiation, validation or DRF rules: the most the
//               service could reach while keeping its duties.
// Prints the port on stdout, as its first line, once listening on 127.0.0.1.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { setTimeout } from 'node:timers';
import path from 'node:path';

/** The shape and size of one item, as the retrieve scenario returns it. */
const BODY = '{"id":1234,"product":"Item 1234","price":45658}';
const mode = process.argv[2];

function listening(port) {
  process.stdout.write(`${port}\n`);
}

if (mode === 'http') {
  const body = Buffer.from(BODY);
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 72000;
  server.listen(0, '127.0.0.1', () => listening(server.address().port));
} else if (['fastify', 'fastify-duties', 'fastify-pg', 'fastify-pg-duties'].includes(mode)) {
  const { default: Fastify, LogController } = await import('fastify');
  const duty = mode.endsWith('-duties') ? await duties(LogController) : undefined;
  const app = Fastify({ keepAliveTimeout: 72000, ...(duty?.options ?? { logger: false }) });
  duty?.addHooks(app);
  if (!mode.startsWith('fastify-pg')) {
    app.get('/*', (_request, reply) => {
      reply.type('application/json').send(BODY);
    });
  } else {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({
      connectionString: process.env.DATABASE_URL,
      max: Number(process.env.DB_POOL_MAX || 10),
    });
    const retrieve = 'SELECT id, product, price FROM myapi_item WHERE id = $1';
    app.get('/api/items/:id/', async (request, reply) => {
      const { rows } = await pool.query({ name: 'retrieve', text: retrieve, values: [request.params.id] });
      if (!rows[0]) return reply.code(404).send({ detail: 'No Item matches the given query.' });
      if (mode === 'fastify-pg-duties') {
        reply.header('vary', 'Accept');
        reply.header('allow', 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS');
        // The ceiling's table has no version column; a constant tag costs the same to send.
        reply.header('etag', '"1"');
      }
      return { id: Number(rows[0].id), product: rows[0].product, price: rows[0].price };
    });
  }
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  listening(new URL(address).port);
} else {
  process.stderr.write(
    `usage: node bare-server.mjs http|fastify|fastify-duties|fastify-pg|fastify-pg-duties (got ${mode})\n`,
  );
  process.exit(2);
}

/**
 * Fastify options and hooks for `fastify-duties` and `fastify-pg-duties`: pino to stdout and to a
 * scratch file (removed on exit, SIGTERM and SIGINT), lines gathered for 5 ms.
 */
async function duties(LogController) {
  const { default: pino } = await import('pino');
  const { default: SonicBoom } = await import('sonic-boom');
  const { Counter, Histogram, Registry, collectDefaultMetrics } = await import('prom-client');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itemstore-duties-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => process.exit(0));
  const sinks = [1, fs.openSync(path.join(dir, 'api_server.log'), 'a')].map(
    (dest) => new SonicBoom({ fd: dest, sync: false, maxWrite: 65536 }),
  );
  let pending = '';
  let timer;
  const flush = () => {
    timer = undefined;
    for (const sink of sinks) sink.write(pending);
    pending = '';
  };
  const batch = {
    write(line) {
      pending += line;
      timer ??= setTimeout(flush, 5);
    },
  };
  // ISO time formatted once per millisecond, as the service's logger does.
  let lastMs = Number.NaN;
  let lastTime = '';
  const isoTime = () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTime = `,"time":"${new Date(now).toISOString()}"`;
    }
    return lastTime;
  };
  const logger = pino(
    { level: 'info', timestamp: isoTime, formatters: { level: (label) => ({ level: label }) } },
    batch,
  );
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status_code'];
  const requests = new Counter({ name: 'http_requests_total', help: 'requests', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'time',
    labelNames,
    registers: [registry],
  });
  // The service's own security headers (src/platform/security.ts), passed by ceilings.ts.
  const headers = JSON.parse(process.env.DUTY_HEADERS ?? '{}');
  const addHooks = (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      request.log.info({ method: request.method, path: request.url }, 'request');
      reply.headers(headers);
      reply.header('x-request-id', request.id);
      done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      const status = reply.statusCode;
      request.log.info(
        {
          method: request.method,
          path: request.url,
          status,
          responseTime: Math.round(reply.elapsedTime * 1000) / 1000,
        },
        'response',
      );
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(status),
      };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
      done();
    });
  };
  const options = {
    loggerInstance: logger,
    genReqId: () => randomUUID(),
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
  };
  return { options, addHooks };
}
