/**
 * The methods of the operations URLs (`/healthz`, `/readyz`, `/metrics`), alike on each: GET and HEAD,
 * and OPTIONS answered 200 with `Allow` (RFC 9110 §9.3.7: a successful OPTIONS answer says what the
 * target supports); any other method gets DRF's 405 `{"detail"}` with the same `Allow`
 * (RFC 9110 §15.5.6). OPTIONS is there because the replaced service's `/healthz`, a Django view,
 * answered it `OK`; the other two follow it so that a client sees one rule.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { methodNotAllowedRoute } from '../drf/view.js';

/** The `Allow` header of every operations URL. */
const OPS_ALLOW = 'GET, HEAD, OPTIONS';

/**
 * Registers OPTIONS (200, `Allow`, then `answer`'s reply: an empty body unless it sends one) and the
 * 405 route for `url`. The GET route (Fastify adds HEAD) is the caller's.
 */
export function opsMethodRoutes(
  app: FastifyInstance,
  url: string,
  viewName: string,
  answer: (reply: FastifyReply) => FastifyReply | Promise<FastifyReply> = (reply) => reply.send(),
): void {
  app.options(url, { schema: { hide: true } }, async (_request, reply) => answer(reply.header('allow', OPS_ALLOW)));
  methodNotAllowedRoute(app, url, { allow: OPS_ALLOW, viewName });
}
