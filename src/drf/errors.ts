/**
 * The error catalogue and the single error handler that turns every failure into DRF's JSON shape:
 * `{"detail": "..."}` or, for field validation, `{"field": ["..."]}`.
 *
 * A 5xx never carries SQL, stacks or credentials; the full error goes to the log with the request id.
 *
 * @module
 */
import http from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CursorsBusy, isDatabaseUnavailable } from '../db/errors.js';

/** An HTTP error with the exact body to send. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.detail === 'string' ? body.detail : JSON.stringify(body));
  }
}

/** 404 `{"detail": "Not found."}` (DRF 3.14's `Http404` text). */
export const notFound = () => new ApiError(404, { detail: 'Not found.' });

/** 405 with DRF's text and the `Allow` header listing what the URL accepts. */
export const methodNotAllowed = (method: string, allow: string) =>
  new ApiError(405, { detail: `Method "${method}" not allowed.` }, { allow });

/** 415, as DRF's `UnsupportedMediaType`. */
export const unsupportedMediaType = (mediaType: string) =>
  new ApiError(415, { detail: `Unsupported media type "${mediaType}" in request.` });

/** 400 for a body that cannot be parsed (DRF `ParseError`). */
export const parseError = (reason: string) => new ApiError(400, { detail: `JSON parse error - ${reason}` });

/** 406, as DRF's `NotAcceptable`. */
export const notAcceptable = () => new ApiError(406, { detail: 'Could not satisfy the request Accept header.' });

/** 503 while the database can't be reached; the client may retry. */
const databaseUnavailable = () => new ApiError(503, { detail: 'Database unavailable.' }, { 'retry-after': '1' });

/** 503 while other clients are reading as many long lists as the pool allows at once. */
const tooManyLists = () =>
  new ApiError(503, { detail: 'Too many long lists are being read at once; retry shortly.' }, { 'retry-after': '1' });

/** 400 for a request whose client closed the connection before its body was whole. */
const incompleteRequest = () => new ApiError(400, { detail: 'Request body incomplete: the connection closed.' });

/** Fastify's own error codes, mapped to DRF-style bodies. */
const FASTIFY_ERRORS: Record<string, (error: FastifyError) => ApiError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new ApiError(413, { detail: 'Request body is too large.' }),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (error) => unsupportedMediaType(/"([^"]*)"/.exec(error.message)?.[1] ?? ''),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new ApiError(400, { detail: 'Request body length does not match Content-Length.' }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new ApiError(400, { detail: 'JSON parse error - empty body.' }),
};

/**
 * Converts any thrown value into the {@link ApiError} to send. Unknown errors become 500 and
 * database outages 503; both are logged in full at `error` level.
 */
function toApiError(error: unknown, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error;
  const fastifyError = error as FastifyError;
  const mapped = typeof fastifyError?.code === 'string' ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (mapped) return mapped(fastifyError);
  // The request stream's own error: its client left before sending all of it (Node destroys the
  // stream with ECONNRESET "aborted"), which is no database outage. Nobody is left to read the 400.
  if (error !== null && request.raw.errored === error) return incompleteRequest();
  if (error instanceof CursorsBusy) return tooManyLists();
  if (isDatabaseUnavailable(error)) {
    request.log.error({ err: error }, 'database unavailable');
    return databaseUnavailable();
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(status, { detail: fastifyError.message });
  }
  request.log.error({ err: error }, 'unhandled error');
  return new ApiError(500, { detail: 'Internal server error.' });
}

/** Fastify error handler: every error leaves as JSON with the right status and headers. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const apiError = toApiError(error, request);
  return reply.code(apiError.statusCode).headers(apiError.headers).send(apiError.body);
}

/** Fastify not-found handler: unknown routes get DRF's JSON 404, not an HTML page. */
function notFoundHandler(_request: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send(notFound().body);
}

/**
 * Every answer in DRF's shape: the error and not-found handlers above, and every method Node parses
 * made routable, because DRF answered 405 (not 404) to methods such as PROPFIND while Fastify only
 * routes the ones it knows. Register before any route.
 */
export const drfErrors = fp(
  async (app) => {
    for (const method of http.METHODS) {
      if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
    }
    app.setErrorHandler(errorHandler);
    app.setNotFoundHandler(notFoundHandler);
  },
  { name: 'drf-errors' },
);
