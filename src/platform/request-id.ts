/**
 * The request id: the client's `X-Request-ID` when it is short and printable, so it cannot forge
 * log lines, else a random UUID. Every log line of the request carries it (`reqId`), and every
 * response echoes it in `X-Request-ID`.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';

/** `X-Request-ID` values kept from clients. */
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * Fastify options choosing the id. `requestIdHeader: false` leaves the header to `genReqId` alone:
 * with a header name set, Fastify would take any value as is.
 */
export const requestIdOptions = {
  requestIdHeader: false,
  genReqId: (req: IncomingMessage): string => {
    const incoming = req.headers['x-request-id'];
    return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  },
} as const;

/** Sends the request id back in `X-Request-ID` on every response. */
export const requestId = fp(
  async (app) => {
    // A callback hook, not an async one: that costs a promise and a microtask per request.
    app.addHook('onSend', (request, reply, payload, done) => {
      reply.header('x-request-id', request.id);
      done(null, payload);
    });
  },
  { name: 'request-id' },
);
