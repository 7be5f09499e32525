/**
 * One JSON line per request and one per response, with the request id on both (pino child
 * binding `reqId`). At `debug`, request and response bodies too, cut at `LOG_BODY_MAX` characters.
 *
 * Lines: `{"msg":"request","method","path"}` when the request arrives, and
 * `{"msg":"response","method","path","status","responseTime"}` (milliseconds) when it has been sent.
 * A client that goes away before its request was whole or answered (a body cut short, a long list
 * left half-read) has its request closed by `{"msg":"request aborted","method","path"}` instead.
 * A request Node's HTTP parser refused never reaches these hooks and gets one line of its own,
 * `{"msg":"request rejected","status","code","reason"}` ({@link logRejectedRequest}), unless the
 * client ended the connection inside a request already logged (mid-body, `HPE_INVALID_EOF_STATE`):
 * that request's `request aborted` line is its record.
 *
 * @module
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { UnreadableBody } from '../drf/body-parsers.js';
import type { RejectedRequest } from '../drf/client-errors.js';

/** Cuts `text` to `max` UTF-16 code units, marking the cut. */
function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more]`;
}

function bodyText(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  // As received (invalid UTF-8 shown as U+FFFD), not the error it gave: the error is the response.
  if (body instanceof UnreadableBody) return body.raw?.toString('utf8');
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  try {
    return JSON.stringify(body);
  } catch (error) {
    // Not String(body): on a deeply nested array it recurses just as far and throws again, and a
    // log line must never turn a 400 into a 500.
    return `[body not serializable: ${(error as Error).message}]`;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The requests logged as arrived and not yet as answered or aborted. */
    requestLog: OpenRequests;
  }
  interface FastifyRequest {
    /** Whether its `request` line is still without a closing line (counted in {@link OpenRequests}). */
    logOpen: boolean;
  }
}

/**
 * Counts the requests whose `request` line has no closing line yet, so that a shutdown can wait
 * for the closing lines of the requests whose connections it closed before it ends the logs, and
 * knows which connections carry one ({@link OpenRequests.carries}).
 */
class OpenRequests {
  #open = 0;
  #waiters: (() => void)[] = [];
  /** Open requests per connection: one, or a few pipelined. */
  readonly #bySocket = new WeakMap<object, number>();

  get open(): number {
    return this.#open;
  }

  opened(request: FastifyRequest): void {
    request.logOpen = true;
    this.#open++;
    const socket = request.raw.socket;
    this.#bySocket.set(socket, (this.#bySocket.get(socket) ?? 0) + 1);
  }

  /** Counts `request` closed once; whether it was still open. */
  closed(request: FastifyRequest): boolean {
    if (!request.logOpen) return false;
    request.logOpen = false;
    const socket = request.raw.socket;
    this.#bySocket.set(socket, (this.#bySocket.get(socket) ?? 1) - 1);
    if (--this.#open <= 0) for (const wake of this.#waiters.splice(0)) wake();
    return true;
  }

  /**
   * Whether a request on `socket` was logged as arrived and is not yet closed: the connection's
   * end in the middle of a message is then that request's, whose own closing line reports it.
   */
  carries(socket: object): boolean {
    return (this.#bySocket.get(socket) ?? 0) > 0;
  }

  /**
   * Resolves once no request is open, or after `timeoutMs` (a request whose response was cut
   * off mid-way gets no closing line).
   */
  async settled(timeoutMs: number): Promise<void> {
    if (this.#open <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
  }
}

/** The request/response log hooks, for every route; `bodyMax` is `LOG_BODY_MAX`, in characters. */
export const requestLogging = fp<{ bodyMax: number }>(
  async (app, { bodyMax }) => {
    const path = (request: FastifyRequest) => request.originalUrl;
    const open = new OpenRequests();
    app.decorate('requestLog', open);
    app.decorateRequest('logOpen', false);
    // Callback hooks, not async ones: each async hook costs a promise and a microtask per request.
    app.addHook('onRequest', (request, reply, done) => {
      open.opened(request);
      request.log.info({ method: request.method, path: path(request) }, 'request');
      // Node closes every response, sent or not; one closed before it was sent (the client left
      // mid-body, mid-list, or while the handler worked) gets no onResponse hook from Fastify.
      reply.raw.once('close', () => {
        if (open.closed(request)) request.log.info({ method: request.method, path: path(request) }, 'request aborted');
      });
      done();
    });
    if (['debug', 'trace'].includes(app.log.level)) {
      app.addHook('preHandler', async (request) => {
        const text = bodyText(request.body);
        if (text !== undefined) request.log.debug({ body: truncate(text, bodyMax) }, 'request body');
      });
      app.addHook('onSend', async (request, reply, payload) => {
        const text = bodyText(payload);
        if (text !== undefined && text !== '') reply.log.debug({ body: truncate(text, bodyMax) }, 'response body');
        return payload;
      });
    }
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        {
          method: request.method,
          path: path(request),
          status: reply.statusCode,
          responseTime: Math.round(reply.elapsedTime * 1000) / 1000,
        },
        'response',
      );
      open.closed(request);
      done();
    });
  },
  { name: 'request-logging' },
);

/**
 * Logs a request Node's HTTP parser refused (see `drf/client-errors.ts`) as one `info` line with
 * the status answered; at `debug` also the bytes the parser was reading (as Latin-1, so every byte
 * shows), cut at `bodyMax` characters like bodies: a 16 KiB header overflow stays one short line.
 */
export function logRejectedRequest(log: FastifyBaseLogger, rejection: RejectedRequest, bodyMax: number): void {
  const { status, code, reason, rawPacket } = rejection;
  const raw =
    rawPacket && ['debug', 'trace'].includes(log.level) ? truncate(rawPacket.toString('latin1'), bodyMax) : undefined;
  log.info({ status, code, reason, raw }, 'request rejected');
}
