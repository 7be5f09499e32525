/**
 * The application as a Fastify instance, without listening: `server.ts` listens, tests use it directly.
 *
 * Layout: request logging and error handling at the root; the DRF-compatible API (content
 * negotiation, body parsers, items, API root) in its own scope; operations routes beside it.
 *
 * @module
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import { apiRootRoutes } from './drf/api-root.routes.js';
import { registerBodyParsers } from './drf/body-parsers.js';
import { rewriteFormatSuffix, trailingSlashRoutes } from './drf/urls.js';
import { registerDrfViewHooks } from './drf/view.js';
import { clientErrorHandler, frameworkErrors } from './drf/client-errors.js';
import { errorHandler, notFoundHandler } from './drf/errors.js';
import { healthRoutes } from './ops/health.routes.js';
import { registerRequestLogging } from './platform/request-logging.js';
import { opsRoutes } from './ops/ops.routes.js';
import { registerSecurity } from './platform/security.js';
import { itemRoutes } from './items/item.routes.js';
import { createMetrics } from './ops/metrics.js';
import { Readiness } from './ops/readiness.js';
import { registerOpenApi } from './platform/openapi.js';
import { uiRoutes } from './platform/ui.routes.js';

/** What the app needs from outside: configuration, an open database, a logger. */
export interface AppDependencies {
  config: Config;
  db: Db;
  logger: Logger;
  /** Flipped by the shutdown sequence so `/readyz` answers 503; a fresh one when omitted. */
  readiness?: Readiness;
  /**
   * Makes the `/metrics` renderer from the app's registry; this process's registry alone when
   * omitted. A cluster worker passes one that answers every worker's aggregate.
   */
  metricsRenderer?: (registry: Registry) => () => Promise<string>;
}

/** `X-Request-ID` values kept from clients: short and printable, so they cannot forge log lines. */
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * Node `http.createServer` options for the timeouts. `connectionsCheckingInterval` (how often Node
 * enforces headers/request timeouts, 30 s by default) is a quarter of the headers timeout, so a
 * slow client is cut within 1.25 × `HEADERS_TIMEOUT_MS`.
 */
export function httpServerOptions(config: Config): http.ServerOptions {
  return {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(config.headersTimeoutMs / 4))),
  };
}

/**
 * Builds the app. The caller owns `db` and closes it after `app.close()`.
 *
 * @example
 * const app = await buildApp({ config, db, logger });
 * const res = await app.inject({ method: 'GET', url: '/api/items/' });
 */
export async function buildApp({
  config,
  db,
  logger,
  readiness = new Readiness(),
  metricsRenderer,
}: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Fastify's own request lines are replaced by ours (platform/request-logging.ts), labelled reqId.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    rewriteUrl: rewriteFormatSuffix,
    // genReqId alone reads X-Request-ID: with requestIdHeader set, Fastify would take any value as is.
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // Keep idle connections open longer than the ALB's 60 s idle timeout, or the ALB reuses a socket
    // Node already closed and answers 502 (FIELD_NOTES F1; AWS ALB docs, "Connection idle timeout").
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    http: httpServerOptions(config),
    // Fastify 5 default router options; kept explicit: /api/items and /api/items/ are different URLs.
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 200 },
    // Errors before routing (bad percent-encoding, oversized headers, timeouts) as JSON `{"detail"}` too.
    frameworkErrors,
    clientErrorHandler,
  });
  // DRF answered 405 (not 404) to methods such as PROPFIND; Fastify only routes the ones it knows.
  for (const method of http.METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
  }

  await registerSecurity(app, config);
  const metrics = createMetrics(db);
  app.addHook('onResponse', async (request, reply) => metrics.observe(request, reply));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  registerRequestLogging(app, { bodyMax: config.logBodyMax });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    if (readiness.closing) reply.header('connection', 'close');
    return payload;
  });

  // Before the routes: @fastify/swagger collects them as they are added.
  await registerOpenApi(app);
  // DRF's parsers for every route, so the slash-less redirects, /healthz's 405 and the JSON 404 answer
  // the same way whatever body comes with the request (the parsed body is only judged where read).
  registerBodyParsers(app);
  await app.register(async (api) => {
    registerDrfViewHooks(api);
    await api.register(itemRoutes, { db, listStreamTimeoutMs: config.listStreamTimeoutMs });
    await api.register(apiRootRoutes);
  });
  await app.register(trailingSlashRoutes);
  await app.register(healthRoutes);
  await app.register(uiRoutes);
  await app.register(opsRoutes, { db, readiness, metrics, renderMetrics: metricsRenderer?.(metrics.registry) });
  app.get('/admin/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/', 302));
  return app;
}
