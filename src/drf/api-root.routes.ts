/**
 * `GET /api/`: DRF `DefaultRouter`'s API root, a map of resource names to absolute URLs.
 *
 * @module
 */
import net from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { viewMetadata } from './metadata.js';
import { API_PREFIX } from './resource.js';
import { methodNotAllowedRoute, type DrfViewConfig } from './view.js';

const ROOT: DrfViewConfig = { allow: 'GET, HEAD, OPTIONS', viewName: 'Api Root' };

/** DRF's docstring of `APIRootView`, which its OPTIONS answer shows as the description. */
const ROOT_DESCRIPTION = 'The default basic root view for DefaultRouter';

/**
 * The host of the root's absolute URLs, as Django's `request.get_host()` with its default
 * `USE_X_FORWARDED_HOST = False`: the `Host` header (an ALB passes the client's on), never
 * `X-Forwarded-Host`, which any client can set; the scheme does follow `X-Forwarded-Proto` when
 * `TRUST_PROXY` (the ALB ends TLS). Without `Host` (HTTP/1.0), the address the request came in on,
 * as Django's `SERVER_NAME:SERVER_PORT`.
 */
function requestHost(request: FastifyRequest): string {
  if (request.headers.host) return request.headers.host;
  const { localAddress = '', localPort } = request.socket;
  return `${net.isIPv6(localAddress) ? `[${localAddress}]` : localAddress}:${localPort}`;
}

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
    handler: async (request) => {
      const origin = `${request.protocol}://${requestHost(request)}`;
      return Object.fromEntries(basenames.map((name) => [name, `${origin}${API_PREFIX}${name}/`]));
    },
  });
  app.options(API_PREFIX, { config: ROOT, schema: { hide: true } }, async () =>
    viewMetadata(ROOT.viewName, ROOT_DESCRIPTION),
  );
  methodNotAllowedRoute(app, API_PREFIX, ROOT);
}
