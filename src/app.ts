/**
 * The application as a Fastify instance, without listening: `server.ts` listens, tests use it directly.
 *
 * This is the wiring and nothing else: Fastify's options, and one list of plugins, each of which
 * names the plugins it needs (`fastify-plugin` `dependencies`), so Fastify refuses a wrong order.
 * Hooks run in registration order, and `@fastify/swagger` sees only routes registered after it.
 * The resources are listed here and nowhere else (see ARCHITECTURE.md).
 *
 * @module
 */
import type http from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import { drfApi } from './drf/api.js';
import { bodyParsers } from './drf/body-parsers.js';
import { clientErrorHandler, frameworkErrors, hostRequired } from './drf/client-errors.js';
import { drfErrors } from './drf/errors.js';
import type { Resource } from './drf/resource.js';
import { formatSuffixRewriter, trailingSlashRedirects } from './drf/urls.js';
import { items } from './items/index.js';
import { healthRoutes } from './ops/health.routes.js';
import { metricsPlugin } from './ops/metrics.js';
import { opsRoutes } from './ops/ops.routes.js';
import { Readiness, readinessPlugin } from './ops/readiness.js';
import { openApi } from './platform/openapi.js';
import { requestId, requestIdOptions } from './platform/request-id.js';
import { logRejectedRequest, requestLogging } from './platform/request-logging.js';
import { security } from './platform/security.js';
import { managementPage } from './platform/ui.routes.js';

/** The API's resources, each a folder under `src/`, mounted at `/api/{basename}/` in this order. */
const RESOURCES: readonly Resource[] = [items];

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

/**
 * Node `http.createServer` options for the timeouts. `connectionsCheckingInterval` (how often Node
 * enforces headers/request timeouts, 30 s by default) is a quarter of the headers timeout, so a
 * slow client is cut within 1.25 × `HEADERS_TIMEOUT_MS`.
 */
function httpServerOptions(config: Config): http.ServerOptions {
  return {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(config.headersTimeoutMs / 4))),
    // Checked by an onRequest hook instead, so the 400 is JSON, logged and counted (client-errors.ts).
    requireHostHeader: false,
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
  const basenames = RESOURCES.map((resource) => resource.basename);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Fastify's own request lines are replaced by ours (platform/request-logging.ts), labelled reqId.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    ...requestIdOptions,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    rewriteUrl: formatSuffixRewriter(basenames),
    // Keep idle connections open longer than the ALB's 60 s idle timeout, or the ALB reuses a socket
    // Node already closed and answers 502 (AWS ALB docs, "Connection idle timeout").
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    http: httpServerOptions(config),
    // Fastify 5 default router options; kept explicit: /api/items and /api/items/ are different URLs.
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 200 },
    // Errors before routing (bad percent-encoding, oversized headers, timeouts) as JSON `{"detail"}` too.
    frameworkErrors,
    // Once closing, requests get the API's own 503 (ops/readiness.ts), logged and counted.
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler((rejection, socket) => {
      // The client ended the connection inside a request already logged: that request's own
      // 'request aborted' line records it, not a second, rejected request.
      if (rejection.code === 'HPE_INVALID_EOF_STATE' && app.requestLog.carries(socket)) return;
      logRejectedRequest(logger as FastifyBaseLogger, rejection, config.logBodyMax);
      if (rejection.status !== undefined) app.metrics.observeRejected(rejection.status);
    }),
  });

  await app.register(drfErrors);
  // Before security: CORS answers a preflight in its onRequest hook, and hooks run in this order,
  // so the request line of a preflight is written only if logging's hook comes first.
  await app.register(requestLogging, { bodyMax: config.logBodyMax });
  await app.register(security, { corsOrigins: config.corsOrigins });
  await app.register(metricsPlugin, { db });
  await app.register(requestId);
  await app.register(hostRequired);
  await app.register(readinessPlugin, { readiness });
  await app.register(openApi, { resources: RESOURCES });
  await app.register(bodyParsers);
  await app.register(drfApi, {
    resources: RESOURCES,
    db,
    idempotencyKeyTtlMs: config.idempotencyKeyTtlMs,
    listStreamTimeoutMs: config.listStreamTimeoutMs,
  });
  await app.register(trailingSlashRedirects, { basenames });
  await app.register(healthRoutes);
  await app.register(managementPage);
  await app.register(opsRoutes, { db, renderMetrics: metricsRenderer?.(app.metrics.registry) });
  return app;
}
