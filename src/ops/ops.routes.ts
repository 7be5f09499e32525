/**
 * Operations endpoints beside `/healthz`:
 *
 * - `GET /readyz`: readiness for the load balancer. 200 `{"status":"ready"}` when a `select 1`
 *   answers within {@link READY_CHECK_TIMEOUT_MS}; 503 `{"detail":"Database unavailable."}` when it
 *   does not, and 503 `{"detail":"Shutting down."}` once shutdown has begun, so
 *   the load balancer stops routing here before the listener closes.
 * - `GET /metrics`: Prometheus text exposition format 0.0.4 (see `metrics.ts`).
 *
 * Both answer GET and HEAD; any other method gets 405 `{"detail"}` with `Allow`, as every URL does.
 *
 * @module
 */
import fp from 'fastify-plugin';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Db } from '../db/database.js';
import { Detail } from '../drf/schemas.js';
import { opsMethodRoutes } from './methods.js';

/** Longest wait for the readiness query, in ms: well under the ALB health check timeout (5 s default). */
const READY_CHECK_TIMEOUT_MS = 2000;

export interface OpsRoutesOptions {
  db: Db;
  /** Renders the metrics text; by default this process's registry. A cluster worker passes every worker's aggregate. */
  renderMetrics?: () => Promise<string>;
}

/**
 * Runs `select 1`, failing after `timeoutMs`.
 *
 * @throws the driver's error, or an `Error` with code `ETIMEDOUT` when the database does not answer in time.
 */
async function pingDatabase(db: Db, timeoutMs = READY_CHECK_TIMEOUT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`database did not answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
  });
  try {
    await Promise.race([sql`select 1`.execute(db.kysely), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Registers `GET /readyz` and `GET /metrics`, reading `app.readiness` and `app.metrics`. */
export const opsRoutes = fp<OpsRoutesOptions>(
  async (app, options) => {
    const { db } = options;
    const { readiness, metrics } = app;
    const renderMetrics = options.renderMetrics ?? (() => metrics.registry.metrics());

    app.get('/readyz', {
      schema: {
        operationId: 'readyz',
        summary: 'Readiness: 200 while the database answers and the process is not shutting down',
        tags: ['operations'],
        response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: Detail },
      },
      handler: async (request, reply) => {
        reply.header('cache-control', 'no-store');
        if (readiness.shuttingDown) return reply.code(503).send({ detail: 'Shutting down.' });
        try {
          await pingDatabase(db);
        } catch (error) {
          request.log.warn({ err: error, code: (error as { code?: unknown }).code }, 'readiness check failed');
          return reply.code(503).send({ detail: 'Database unavailable.' });
        }
        return { status: 'ready' as const };
      },
    });

    app.get('/metrics', {
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format)',
        tags: ['operations'],
        response: { 200: { content: { 'text/plain': { schema: Type.String() } } } },
      },
      handler: async (_request, reply) => {
        reply.header('cache-control', 'no-store').type(metrics.registry.contentType);
        return renderMetrics();
      },
    });
    opsMethodRoutes(app, '/readyz', 'Readiness');
    opsMethodRoutes(app, '/metrics', 'Metrics');
  },
  { name: 'ops-routes', dependencies: ['metrics', 'readiness', 'drf-errors', 'openapi'] },
);
