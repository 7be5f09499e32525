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
import { ApiError, parseError, unsupportedMediaType } from './errors.js';
import { parseJsonText } from './json.js';

/** A body that was received but cannot be used; reading it throws {@link UnreadableBody.error}. */
export class UnreadableBody {
  /**
   * @param error what reading it answers.
   * @param raw the bytes received, for the debug log; absent for multipart (parsed as it streams).
   */
  constructor(
    readonly error: ApiError,
    readonly raw?: Buffer,
  ) {}
}

/**
 * The parsed body for an action that needs one: an object or other JSON value (numbers as
 * {@link JsonNumber}); `{}` or `undefined` for no body. Form fields arrive as strings, a repeated
 * field keeping its last value (Django `QueryDict`); a multipart file is an {@link UploadedFile}
 * and wins over a plain field of the same name, as DRF merges `request.FILES` into `request.data`
 * after the fields.
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
    return new UnreadableBody(parseError('body is not valid UTF-8'), raw);
  }
  if (text.charCodeAt(0) === 0xfeff) return new UnreadableBody(parseError('unexpected UTF-8 BOM'), raw);
  try {
    // Numbers keep their source text; "__proto__" and "constructor.prototype" keys are dropped, as
    // unknown fields are (DRF ignores them).
    const data = parseJsonText(text);
    // DRF: a JSON `null` body is "No data provided" (Serializer's `null` message), unlike an empty body.
    return data === null
      ? new UnreadableBody(new ApiError(400, { non_field_errors: ['No data provided'] }), raw)
      : data;
  } catch (error) {
    return new UnreadableBody(parseError((error as Error).message), raw);
  }
}

/**
 * A file sent in a multipart part. Its content is not kept: no item field takes a file, and DRF's
 * fields judge it by type (`CharField`: "Not a valid string.") or by `str()`, which is its name.
 */
export class UploadedFile {
  /** @param name the file name as Django keeps it: the last segment of the sent path */
  constructor(readonly name: string) {}

  /** Django `File.__str__`. */
  toString(): string {
    return this.name;
  }
}

/**
 * The file name as Django's `MultiPartParser.sanitize_file_name` keeps it: the last segment after
 * `/` or `\`, printable characters only (Python `str.isprintable`); `undefined` for a part Django
 * skips (nothing left, `.` or `..`).
 */
function uploadedFileName(filename: string): string | undefined {
  const lastSegment = filename.split(/[/\\]/).at(-1) ?? '';
  const name = lastSegment.replace(/(?! )[\p{C}\p{Z}]/gu, '');
  return name === '' || name === '.' || name === '..' ? undefined : name;
}

function lastValues<T>(entries: Iterable<[string, T]>): Record<string, T> {
  const fields: Record<string, T> = Object.create(null);
  for (const [key, value] of entries) fields[key] = value;
  return fields;
}

function parseMultipart(request: FastifyRequest, payload: NodeJS.ReadableStream): Promise<unknown> {
  return new Promise((resolve) => {
    const fields: [string, string][] = [];
    const files: [string, UploadedFile][] = [];
    let parser: BusboyInstance;
    try {
      parser = new Busboy({
        headers: request.headers as BusboyHeaders,
        defCharset: 'utf8',
        // Django's rule: a part is a file when it has a non-empty filename (whatever its type);
        // the name is cut to its last segment below, as Django does, so busboy keeps the path.
        isPartAFile: (_field, _type, fileName) => Boolean(fileName),
        preservePath: true,
      });
    } catch (error) {
      resolve(
        new UnreadableBody(new ApiError(400, { detail: `Multipart form parse error - ${(error as Error).message}` })),
      );
      return;
    }
    parser.on('field', (name: string, value: string) => fields.push([name, value]));
    parser.on('file', (name: string, stream: NodeJS.ReadableStream, filename: string) => {
      stream.resume();
      const fileName = uploadedFileName(filename);
      if (fileName !== undefined) files.push([name, new UploadedFile(fileName)]);
    });
    parser.on('error', (error: Error) =>
      resolve(new UnreadableBody(new ApiError(400, { detail: `Multipart form parse error - ${error.message}` }))),
    );
    // Files after fields: DRF's `request.data` is the fields updated with the files.
    parser.on('finish', () => resolve(lastValues<string | UploadedFile>([...fields, ...files])));
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
      done(
        null,
        (body as Buffer).length === 0 ? {} : new UnreadableBody(unsupportedMediaType(mediaType), body as Buffer),
      );
    });
  },
  { name: 'drf-body-parsers' },
);
