/**
 * The DRF service's URL conventions (Django `APPEND_SLASH`, DRF `format_suffix_patterns`) in front of
 * Fastify's router, which treats `/api/items` and `/api/items/` as different routes.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';
import { API_PREFIX } from './resource.js';

/** `/api/`, without its slash. */
const API_ROOT = API_PREFIX.slice(0, -1);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Fastify `rewriteUrl` for the resources `basenames`: DRF format suffixes, `/api/items.json`,
 * `/api/items/7.json` and `/api/items/7.json/`, mean `?format=json` on the slash URL (`[^/.]+` is
 * DRF's default lookup pattern, `[a-z0-9]+` its suffix pattern). The suffix is appended as the last
 * `format` value, which is the one read. Every other URL passes unchanged; the original stays in
 * `request.originalUrl` for the logs.
 */
export function formatSuffixRewriter(basenames: readonly string[]): (req: IncomingMessage) => string {
  const names = basenames.map(escapeRegExp).join('|');
  const suffix = new RegExp(
    `^(${escapeRegExp(API_ROOT)}(?:\\/(?:${names})(?:\\/[^/.?]+)?)?)\\.([a-z0-9]+)\\/?(?:\\?(.*))?$`,
  );
  return (req) => {
    const url = req.url ?? '/';
    const match = suffix.exec(url);
    if (!match) return url;
    const [, path, format, query] = match;
    return `${path}/?${query ? `${query}&` : ''}format=${format}`;
  };
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q)];
}

/**
 * Slash-less API URLs (`/api`, `/api/items`, `/api/items/7`) redirect to the slash URL, query kept,
 * `Location` relative. GET and HEAD get Django's 301; other methods get 308 so the client repeats the
 * method and body at the right URL (the DRF service answered 500 there). Nothing is ever changed
 * through a slash-less URL.
 */
export const trailingSlashRedirects = fp<{ basenames: readonly string[] }>(
  async (app, { basenames }) => {
    const urls = [API_ROOT, ...basenames.flatMap((name) => [`${API_PREFIX}${name}`, `${API_PREFIX}${name}/:id`])];
    for (const url of urls) {
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
  },
  { name: 'drf-trailing-slash', dependencies: ['drf-errors'] },
);
