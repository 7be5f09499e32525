/**
 * `GET /healthz`: liveness. Plain `OK` as `text/html; charset=utf-8`, as the DRF service's Django view
 * answered, for GET, HEAD and OPTIONS and any query string. It touches no database, so a database
 * outage never makes the load balancer kill healthy tasks.
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { opsMethodRoutes } from './methods.js';

/** Registers `/healthz`. */
export const healthRoutes = fp(
  async (app) => {
    const ok = async (_request: unknown, reply: FastifyReply) => reply.type('text/html; charset=utf-8').send('OK');
    app.get('/healthz', {
      schema: {
        operationId: 'healthz',
        summary: 'Liveness: answers OK while the process serves',
        tags: ['operations'],
        response: { 200: { content: { 'text/html': { schema: Type.String({ examples: ['OK'] }) } } } },
      },
      handler: ok,
    });
    opsMethodRoutes(app, '/healthz', 'Health', (reply) => ok(undefined, reply));
  },
  { name: 'health-routes', dependencies: ['drf-errors', 'openapi'] },
);
