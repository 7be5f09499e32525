/**
 * The DRF service's URL conventions (Django `APPEND_SLASH`, DRF `format_suffix_patterns`) in front of
 * Fastify's router, which treats `/api/items` and `/api/items/` as different routes.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * DRF format suffixes: `/api/items.json`, `/api/items/7.json` and `/api/items/7.json/` mean
 * `?format=json` on the slash URL (`[^/.]+` is DRF's default lookup pattern, `[a-z0-9]+` its suffix
 * pattern). The suffix is appended as the last `format` value, which is the one read.
 */
const FORMAT_SUFFIX = /^(\/api(?:\/items(?:\/[^/.?]+)?)?)\.([a-z0-9]+)\/?(?:\?(.*))?$/;

/**
 * Fastify `rewriteUrl`: turns a format suffix into `?format=`; every other URL passes unchanged.
 * The original URL stays in `request.originalUrl` for the logs.
 */
export function rewriteFormatSuffix(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const match = FORMAT_SUFFIX.exec(url);
  if (!match) return url;
  const [, path, format, query] = match;
  return `${path}/?${query ? `${query}&` : ''}format=${format}`;
}

/**
 * Slash-less API URLs redirect to the slash URL, query kept, `Location` relative. GET and HEAD get
 * Django's 301; other methods get 308 so the client repeats the method and body at the right URL
 * (the DRF service answered 500 there). Nothing is ever changed through a slash-less URL.
 */
export async function trailingSlashRoutes(app: FastifyInstance): Promise<void> {
  for (const url of ['/api', '/api/items', '/api/items/:id']) {
    app.route({
      method: app.supportedMethods.filter((m) => m !== 'CONNECT'),
      url,
      schema: { hide: true },
      handler: async (request, reply) => {
        const [path, query] = splitUrl(request.url);
        const status = request.method === 'GET' || request.method === 'HEAD' ? 301 : 308;
        return reply.code(status).header('location', `${path}/${query}`).type('text/html; charset=utf-8').send('');
      },
    });
  }
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q)];
}
