/**
 * Operations endpoints beside `/healthz`:
 *
 * - `GET /readyz`: readiness. 200 `{"status":"ready"}` while the background probe
 *   ({@link DatabaseProbe}, its own connection, every second) last found the database answering,
 *   no more than 2.5 s ago; 503 `{"detail":"Database unavailable."}` otherwise, and 503
 *   `{"detail":"Shutting down."}` once shutdown has begun, so a balancer checking it stops routing
 *   here before the listener closes. It never runs a query itself, so it answers at once under any load.
 * - `GET /metrics`: Prometheus text exposition format 0.0.4 (see `metrics.ts`).
 *
 * Both answer GET and HEAD; any other method gets 405 `{"detail"}` with `Allow`, as every URL does.
 *
 * @module
 */
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import type { Db } from '../db/database.js';
import { Detail } from '../drf/schemas.js';
import { opsMethodRoutes } from './methods.js';
import { DatabaseProbe } from './readiness.js';

export interface OpsRoutesOptions {
  db: Db;
  /** Renders the metrics text; by default this process's registry. A cluster worker passes every worker's aggregate. */
  renderMetrics?: () => Promise<string>;
}

/** Registers `GET /readyz` and `GET /metrics`, reading `app.readiness` and `app.metrics`. */
export const opsRoutes = fp<OpsRoutesOptions>(
  async (app, options) => {
    const { db } = options;
    const { readiness, metrics } = app;
    const renderMetrics = options.renderMetrics ?? (() => metrics.registry.metrics());
    const probe = new DatabaseProbe((timeoutMs) => db.probe(timeoutMs), app.log);
    app.addHook('onReady', (done) => {
      probe.start();
      done();
    });
    app.addHook('onClose', (_app, done) => {
      probe.stop().then(() => done(), done);
    });

    app.get('/readyz', {
      schema: {
        operationId: 'readyz',
        summary:
          'Readiness: 200 while the database answered the background probe (at most 2.5 s ago) and the process is not shutting down',
        tags: ['operations'],
        response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: Detail },
      },
      handler: async (_request, reply) => {
        reply.header('cache-control', 'no-store');
        if (readiness.shuttingDown) return reply.code(503).send({ detail: 'Shutting down.' });
        if (!(await probe.ready())) {
          return reply.code(503).header('retry-after', '1').send({ detail: 'Database unavailable.' });
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
