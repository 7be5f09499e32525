/**
 * What a REST resource hands the DRF kit and the OpenAPI document: its URL name, its routes, and
 * what its part of the document says that its route schemas cannot. `app.ts` lists the resources;
 * nothing else names one.
 *
 * @module
 */
import type { FastifyPluginAsync } from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';
import type { TSchema } from 'typebox';
import type { Db } from '../db/database.js';

/** Named examples of one media type (OpenAPI 3.1 Media Type Object `examples`). */
export type Examples = OpenAPIV3_1.MediaTypeObject['examples'];

/** A resource's part of the OpenAPI document. */
export interface ResourceDocs {
  /** The tag its operations carry, listed in the document's `tags`. */
  tag: { name: string; description: string };
  /** Schemas shown once under `components.schemas` by name and referenced wherever a route uses them. */
  components: Readonly<Record<string, TSchema>>;
  /** Response descriptions by status code, for operations whose schema gives none. */
  statusDescriptions: Readonly<Record<string, string>>;
  /** Named request-body examples, by operationId. */
  requestExamples: Readonly<Record<string, Examples>>;
  /** Named `application/json` answer examples for one of its operations' responses, if any. */
  responseExamples(operationId: string, status: string, hasBody: boolean): Examples | undefined;
  /** Response headers one of its operations' answers carries (e.g. `ETag`), if any. */
  responseHeaders?(operationId: string, status: string): Record<string, OpenAPIV3_1.HeaderObject> | undefined;
}

/** What the API scope hands every resource's routes. */
export interface ResourceOptions {
  db: Db;
  /**
   * Milliseconds an `Idempotency-Key` and the answer stored with it are kept
   * (`IDEMPOTENCY_KEY_TTL_MS`; drf/idempotency-key.ts).
   */
  idempotencyKeyTtlMs: number;
  /**
   * Longest a list answered as a stream may hold its database connection, in ms
   * (`LIST_STREAM_TIMEOUT_MS`; see drf/array-stream.ts).
   */
  listStreamTimeoutMs: number;
}

/** A resource as DRF's `DefaultRouter` mounts a viewset: `/api/{basename}/` and `/api/{basename}/{id}/`. */
export interface Resource {
  /** DRF's router basename: the URL segment and the API root's key, e.g. `items`. */
  basename: string;
  /** Registers its routes (at `/api/{basename}/…`) in the API scope, storing through `db`. */
  routes: FastifyPluginAsync<ResourceOptions>;
  docs: ResourceDocs;
}

/** Where DRF's router mounts every resource (the replaced service's `path('api/', include(router.urls))`). */
export const API_PREFIX = '/api/';
