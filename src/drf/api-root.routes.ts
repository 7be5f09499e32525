/**
 * `GET /api/`: DRF `DefaultRouter`'s API root, a map of resource names to absolute URLs.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { viewMetadata } from './metadata.js';
import { methodNotAllowedRoute, type DrfViewConfig } from './view.js';

const ROOT: DrfViewConfig = { allow: 'GET, HEAD, OPTIONS', viewName: 'Api Root' };

/** DRF's docstring of `APIRootView`, which its OPTIONS answer shows as the description. */
const ROOT_DESCRIPTION = 'The default basic root view for DefaultRouter';

export async function apiRootRoutes(app: FastifyInstance): Promise<void> {
  app.get('/api/', {
    config: ROOT,
    schema: {
      operationId: 'api_root',
      summary: 'API root: links to each resource',
      tags: ['api'],
      response: {
        200: Type.Object({ items: Type.String({ format: 'uri', examples: ['http://localhost:8000/api/items/'] }) }),
      },
    },
    // Absolute, from the request's own scheme and Host (X-Forwarded-* when TRUST_PROXY), as DRF's reverse().
    handler: async (request) => ({ items: `${request.protocol}://${request.host}/api/items/` }),
  });
  app.options('/api/', { config: ROOT, schema: { hide: true } }, async () =>
    viewMetadata(ROOT.viewName, ROOT_DESCRIPTION),
  );
  methodNotAllowedRoute(app, '/api/', ROOT);
}
