/**
 * The DRF API scope: one encapsulated Fastify context holding the API root and every resource's
 * routes, with DRF's view hooks (content negotiation, `Allow`, `Vary`, rendering) on all of them and
 * on nothing outside (`/healthz`, `/metrics`, the page at `/` keep their own content types).
 *
 * @module
 */
import fp from 'fastify-plugin';
import { apiRootRoutes } from './api-root.routes.js';
import type { Resource, ResourceOptions } from './resource.js';
import { registerDrfViewHooks } from './view.js';

export interface DrfApiOptions extends ResourceOptions {
  resources: readonly Resource[];
}

/** Registers the API scope: view hooks, then each resource's routes, then `GET /api/`. */
export const drfApi = fp<DrfApiOptions>(
  async (api, { resources, ...options }) => {
    registerDrfViewHooks(api);
    for (const resource of resources) await api.register(resource.routes, options);
    await api.register(apiRootRoutes, { basenames: resources.map((resource) => resource.basename) });
  },
  { name: 'drf-api', dependencies: ['drf-errors', 'drf-body-parsers', 'openapi'], encapsulate: true },
);
