/**
 * Errors raised before a request reaches a route, reshaped into the API's JSON error body
 * `{"detail": "..."}` (Fastify's defaults answer `{"error","message","statusCode"}` there).
 *
 * - {@link frameworkErrors}: a path with broken percent-encoding (`/api/items/%/`, `%C0%AE`) or a path
 *   parameter longer than the router's `maxParamLength` (200). No item can have such an id, so the
 *   answer is DRF's 404 `{"detail": "Not found."}`, which Django gave for any URL its patterns didn't match.
 * - {@link clientErrorHandler}: what Node's HTTP parser refuses before Fastify sees a request
 *   (Node `http.Server` `'clientError'` event): request line plus headers above `maxHeaderSize`
 *   (16 KiB by default; a 100 KB URL lands here) → 431; a request that took longer than the
 *   headers/request timeout → 408; anything unparseable (an unknown method such as `FOO`, a
 *   repeated `Content-Length`, bytes above 0x7F in the request target, a broken request line) →
 *   400. The socket is closed after the answer, as Node itself does. Each one is handed to a
 *   callback, which logs and counts it, since no Fastify hook ever sees it.
 * - {@link hostRequired}: an HTTP/1.1 request without `Host` (RFC 9112 §3.2) → 400. Node's own
 *   check answers an empty 400 that no hook sees, so it is turned off (`requireHostHeader: false`)
 *   and made here instead, as a request that is logged and counted like any other.
 *
 * @module
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, errorHandler, notFound } from './errors.js';

/** Fastify `frameworkErrors` option: router-level failures as DRF JSON. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(404).send(notFound().body);
    return;
  }
  void errorHandler(error, request, reply);
}

/** Node parser error codes → status and `detail` text. */
function describe(code: string | undefined): [number, string] {
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'Request line and headers are too large.'];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'Request timeout.'];
  return [400, 'Malformed HTTP request.'];
}

/** A request Node's HTTP parser refused, as answered. */
export interface RejectedRequest {
  /** The status answered (400, 408 or 431), or `undefined` when the socket could take no answer. */
  status: number | undefined;
  /** Node's error code, e.g. `HPE_INVALID_METHOD`, `HPE_HEADER_OVERFLOW`. */
  code: string | undefined;
  /** llhttp's reason, e.g. "Invalid method encountered"; `undefined` for timeouts. */
  reason: string | undefined;
  /** The bytes the parser was reading when it failed (part of the request), when Node has them. */
  rawPacket: Buffer | undefined;
}

/**
 * Makes the Fastify `clientErrorHandler` option: answers
 * one JSON error on the raw socket if it is still writable, then closes it, and hands the rejection
 * and the socket to `onRejected`. A connection the client reset gets nothing and is not reported.
 */
export function clientErrorHandler(onRejected: (rejection: RejectedRequest, socket: Duplex) => void) {
  return (error: NodeJS.ErrnoException, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, detail] = describe(error.code);
    const { reason, rawPacket } = error as { reason?: unknown; rawPacket?: unknown };
    const answered = socket.writable;
    if (answered) {
      const body = JSON.stringify({ detail });
      socket.write(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
    onRejected(
      {
        status: answered ? status : undefined,
        code: error.code,
        reason: typeof reason === 'string' ? reason : undefined,
        rawPacket: Buffer.isBuffer(rawPacket) ? rawPacket : undefined,
      },
      socket,
    );
  };
}

/**
 * 400 `{"detail"}` for an HTTP/1.1 request without `Host`, which RFC 9112 §3.2 says a server must
 * refuse (HTTP/1.0 has no such rule). Pair with the Node server option `requireHostHeader: false`.
 * Registered after request logging, so the request and its answer are logged like any other.
 */
export const hostRequired = fp(
  async (app) => {
    // A callback hook, not an async one: that costs a promise and a microtask per request.
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
        return done(new ApiError(400, { detail: 'Missing Host header.' }, { connection: 'close' }));
      }
      done();
    });
  },
  { name: 'host-required', dependencies: ['drf-errors', 'request-logging'] },
);
