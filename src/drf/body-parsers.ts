/**
 * Request body parsers with DRF's rules (`rest_framework/parsers.py`): JSON, form-urlencoded and
 * multipart are accepted, anything else is 415; an empty body is an empty object (DRF's empty
 * `request.data`), so create answers "required" for each field and PATCH changes nothing.
 *
 * Parsing is strict but the verdict is lazy, as in DRF, where `request.data` is only parsed when a
 * view reads it: a body that cannot be used becomes an {@link UnreadableBody}, and only the actions
 * that read a body (create, update, partial_update) answer its error. A DELETE whose client sends
 * `Content-Type: application/json` with no body, or junk, still deletes.
 *
 * @module
 */
import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import secureJson from 'secure-json-parse';
import { ApiError, parseError, unsupportedMediaType } from './errors.js';

/** A body that was received but cannot be used; reading it throws {@link UnreadableBody.error}. */
class UnreadableBody {
  constructor(readonly error: ApiError) {}
}

/**
 * The parsed body for an action that needs one: an object or other JSON value; `{}` or
 * `undefined` for no body. Form fields arrive as strings, a repeated field keeping its last value (Django `QueryDict`).
 *
 * @throws {ApiError} 400 for malformed JSON or bad encoding, 415 for an unsupported media type.
 */
export function readBody(request: FastifyRequest): unknown {
  if (request.body instanceof UnreadableBody) throw request.body.error;
  return request.body;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Python's `json.loads` refuses a BOM ("Unexpected UTF-8 BOM"); so does DRF, with a 400. */
function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return new UnreadableBody(parseError('body is not valid UTF-8'));
  }
  if (text.charCodeAt(0) === 0xfeff) return new UnreadableBody(parseError('unexpected UTF-8 BOM'));
  try {
    // "__proto__" and "constructor.prototype" keys are dropped, as unknown fields are (DRF ignores them).
    const data: unknown = secureJson.parse(text, undefined, { protoAction: 'remove', constructorAction: 'remove' });
    // DRF: a JSON `null` body is "No data provided" (Serializer's `null` message), unlike an empty body.
    return data === null ? new UnreadableBody(new ApiError(400, { non_field_errors: ['No data provided'] })) : data;
  } catch (error) {
    return new UnreadableBody(parseError((error as Error).message));
  }
}

function lastValues(entries: Iterable<[string, string]>): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  for (const [key, value] of entries) fields[key] = value;
  return fields;
}

function parseMultipart(request: FastifyRequest, payload: NodeJS.ReadableStream): Promise<unknown> {
  return new Promise((resolve) => {
    const fields: [string, string][] = [];
    let parser: BusboyInstance;
    try {
      parser = new Busboy({ headers: request.headers as BusboyHeaders, defCharset: 'utf8' });
    } catch (error) {
      resolve(
        new UnreadableBody(new ApiError(400, { detail: `Multipart form parse error - ${(error as Error).message}` })),
      );
      return;
    }
    parser.on('field', (name: string, value: string) => fields.push([name, value]));
    parser.on('file', (_name: string, stream: NodeJS.ReadableStream) => stream.resume());
    parser.on('error', (error: Error) =>
      resolve(new UnreadableBody(new ApiError(400, { detail: `Multipart form parse error - ${error.message}` }))),
    );
    parser.on('finish', () => resolve(lastValues(fields)));
    payload.pipe(parser);
  });
}

/** The media types DRF's default parsers accept, in its order (also shown by OPTIONS). */
export const PARSED_MEDIA_TYPES = [
  'application/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
] as const;

/**
 * Replaces Fastify's body parsers with DRF's, for every route: the slash-less redirects, `/healthz`'s
 * 405 and the JSON 404 then answer the same way whatever body comes with the request (the parsed
 * body is only judged where an action reads it).
 */
export const bodyParsers = fp(
  async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
      done(null, parseJson(body as Buffer));
    });
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, lastValues(new URLSearchParams(body as string)));
    });
    app.addContentTypeParser('multipart/form-data', (request: FastifyRequest, payload: NodeJS.ReadableStream) =>
      parseMultipart(request, payload),
    );
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
      const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
      done(null, (body as Buffer).length === 0 ? {} : new UnreadableBody(unsupportedMediaType(mediaType)));
    });
  },
  { name: 'drf-body-parsers' },
);
