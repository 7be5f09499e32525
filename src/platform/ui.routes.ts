/**
 * The management page at `/`: the static files in `public/` (`index.html`, `app.js`, `items-api.js`,
 * `styles.css`, `favicon.ico`), plain ES modules with no build step, served by `@fastify/static`. The
 * page calls the JSON API.
 *
 * Only the files present at start-up get routes (`wildcard: false`), so unknown URLs still reach
 * the JSON 404 handler, and the routes are hidden from the OpenAPI document. `/admin/`, where the
 * Django admin was, redirects to the page.
 *
 * @module
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';

/** `public/` at the project root: two levels up from both `src/platform/` and `dist/platform/`. */
const PUBLIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public');

/** Registers the static files of {@link PUBLIC_DIR} at `/` and the `/admin/` redirect. */
export const managementPage = fp(
  async (app) => {
    await app.register(fastifyStatic, {
      root: PUBLIC_DIR,
      prefix: '/',
      wildcard: false,
      index: 'index.html',
      // The page and its scripts change with each release; revalidate instead of caching blindly.
      cacheControl: true,
      maxAge: 0,
      decorateReply: false,
    });
    app.get('/admin/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/', 302));
  },
  { name: 'management-page', dependencies: ['drf-errors', 'openapi'] },
);
