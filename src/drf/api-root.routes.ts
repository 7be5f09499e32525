/**
 * `GET /api/`: DRF `DefaultRouter`'s API root, a map of resource names to absolute URLs.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { viewMetadata } from './metadata.js';
import { API_PREFIX } from './resource.js';
import { methodNotAllowedRoute, type DrfViewConfig } from './view.js';

const ROOT: DrfViewConfig = { allow: 'GET, HEAD, OPTIONS', viewName: 'Api Root' };

/** DRF's docstring of `APIRootView`, which its OPTIONS answer shows as the description. */
const ROOT_DESCRIPTION = 'The default basic root view for DefaultRouter';

/** Registers `/api/` listing `basenames`, in order. */
export async function apiRootRoutes(app: FastifyInstance, { basenames }: { basenames: readonly string[] }) {
  app.get(API_PREFIX, {
    config: ROOT,
    schema: {
      operationId: 'api_root',
      summary: 'API root: links to each resource',
      tags: ['api'],
      response: {
        200: Type.Object(
          Object.fromEntries(
            basenames.map((name) => [
              name,
              Type.String({ format: 'uri', examples: [`http://localhost:8000${API_PREFIX}${name}/`] }),
            ]),
          ),
        ),
      },
    },
    // Absolute, from the request's own scheme and Host (X-Forwarded-* when TRUST_PROXY), as DRF's reverse().
    handler: async (request) =>
      Object.fromEntries(basenames.map((name) => [name, `${request.protocol}://${request.host}${API_PREFIX}${name}/`])),
  });
  app.options(API_PREFIX, { config: ROOT, schema: { hide: true } }, async () =>
    viewMetadata(ROOT.viewName, ROOT_DESCRIPTION),
  );
  methodNotAllowedRoute(app, API_PREFIX, ROOT);
}
