/**
 * Prometheus metrics (prom-client): HTTP requests by route pattern, method and status, request
 * latency, database pool gauges, and prom-client's default process metrics (CPU, memory, event-loop
 * lag, GC, file descriptors).
 *
 * Each app gets its own {@link Registry}, so several apps in one process (tests) never share
 * counters. Names follow the Prometheus naming guide (base units: seconds; `_total` for counters).
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Db } from '../db/database.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's metrics, rendered by `GET /metrics`. */
    metrics: Metrics;
  }
}

/** Route label for requests that matched no route (404s), so raw URLs never become label values. */
const UNMATCHED_ROUTE = 'unmatched';

/**
 * Method and route label of requests Node's HTTP parser refused (an unknown method, a repeated
 * `Content-Length`, oversized headers): what the client sent is not a label value.
 */
const REJECTED_REQUEST = 'rejected';

/** The service's metrics and the registry `/metrics` renders. */
export interface Metrics {
  readonly registry: Registry;
  /** Counts and times one finished request; call from an `onResponse` hook. */
  observe(request: FastifyRequest, reply: FastifyReply): void;
  /**
   * Counts a request Node's HTTP parser refused, with the status answered, under
   * {@link REJECTED_REQUEST} (no duration: it never became a request).
   */
  observeRejected(status: number): void;
}

/**
 * Creates the registry and metrics for one app.
 *
 * - `http_requests_total{method,route,status_code}` counter; requests Node's parser refused count as
 *   `method="rejected",route="rejected"`
 * - `http_request_duration_seconds{method,route,status_code}` histogram (prom-client default buckets, 5 ms to 10 s)
 * - `db_pool_connections{state="total"|"idle"}` and `db_pool_waiting_requests` gauges, read from
 *   {@link Db.poolStats} at scrape time
 * - prom-client default metrics (`process_*`, `nodejs_*`)
 */
function createMetrics(db: Db): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status code.',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request received to response sent, in seconds.',
    labelNames,
    registers: [registry],
  });
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database connections held by this process, by state (total, idle).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const stats = db.poolStats();
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
    },
  });
  new Gauge({
    name: 'db_pool_waiting_requests',
    help: 'Queries waiting for a free database connection.',
    registers: [registry],
    collect() {
      this.set(db.poolStats().waiting);
    },
  });
  return {
    registry,
    observe(request, reply) {
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        status_code: String(reply.statusCode),
      };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
    },
    observeRejected(status) {
      requests.inc({ method: REJECTED_REQUEST, route: REJECTED_REQUEST, status_code: String(status) });
    },
  };
}

/** Creates the app's metrics (`app.metrics`), counts every answered request, and clears the registry on close. */
export const metricsPlugin = fp<{ db: Db }>(
  async (app, { db }) => {
    const metrics = createMetrics(db);
    app.decorate('metrics', metrics);
    // A callback hook, not an async one: that costs a promise and a microtask per request.
    app.addHook('onResponse', (request, reply, done) => {
      metrics.observe(request, reply);
      done();
    });
    app.addHook('onClose', async () => metrics.registry.clear());
  },
  { name: 'metrics' },
);
