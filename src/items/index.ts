/**
 * The items resource (product names and prices), as `app.ts` lists it.
 *
 * @module
 */
import type { Resource } from '../drf/resource.js';
import { itemDocs } from './item.openapi.js';
import { BASENAME, itemRoutes } from './item.routes.js';

export const items: Resource = { basename: BASENAME, routes: itemRoutes, docs: itemDocs };
