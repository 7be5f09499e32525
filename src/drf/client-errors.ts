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
 *   headers/request timeout → 408; anything unparseable (bytes above 0x7F in the request target,
 *   a broken request line) → 400. The socket is closed after the answer, as Node itself does.
 *
 * @module
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorHandler, notFound } from './errors.js';

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

/**
 * Fastify `clientErrorHandler` option (called with the Fastify instance as `this`): answers one
 * JSON error on the raw socket if it is still writable, then closes it. A reset connection gets nothing.
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] = describe(error.code);
  this.log.debug({ err: error, status }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({ detail });
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
