/**
 * The management page at `/`: the static files in `public/` (`index.html`, `app.js`, `items-api.js`,
 * `styles.css`, `favicon.ico`), plain ES modules with no build step, served by `@fastify/static`. The
 * page calls the JSON API.
 *
 * Only the files present at start-up get routes (`wildcard: false`), so unknown URLs still reach
 * the JSON 404 handler, and the routes are hidden from the OpenAPI document.
 *
 * @module
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** `public/` at the project root: two levels up from both `src/platform/` and `dist/platform/`. */
export const PUBLIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public');

export async function uiRoutes(app: FastifyInstance): Promise<void> {
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
}
