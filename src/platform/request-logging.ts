/**
 * One JSON line per request and one per response, with the request id on both (pino child
 * binding `reqId`). At `debug`, request and response bodies too, cut at `LOG_BODY_MAX` characters.
 *
 * Lines: `{"msg":"request","method","path"}` when the request arrives, and
 * `{"msg":"response","method","path","status","responseTime"}` (milliseconds) when it has been sent.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Cuts `text` to `max` UTF-16 code units, marking the cut. */
function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more]`;
}

function bodyText(body: unknown): string | undefined {
  if (body === undefined) return undefined;
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

/** The request/response log hooks, for every route; `bodyMax` is `LOG_BODY_MAX`, in characters. */
export const requestLogging = fp<{ bodyMax: number }>(
  async (app, { bodyMax }) => {
    const path = (request: FastifyRequest) => request.originalUrl;
    app.addHook('onRequest', async (request) => {
      request.log.info({ method: request.method, path: path(request) }, 'request');
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
    app.addHook('onResponse', async (request, reply) => {
      request.log.info(
        {
          method: request.method,
          path: path(request),
          status: reply.statusCode,
          responseTime: Math.round(reply.elapsedTime * 1000) / 1000,
        },
        'response',
      );
    });
  },
  { name: 'request-logging' },
);
