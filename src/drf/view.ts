/**
 * What every DRF view did around its handler, as Fastify hooks for the API scope: content
 * negotiation before the body is read, then `Allow` and `Vary` headers and the chosen rendering
 * (JSON, indented JSON, or the Browsable API page) on the way out.
 *
 * Routes declare `config: { allow, viewName }`; other methods on the same URL get a 405 from
 * {@link methodNotAllowedRoute}.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { renderBrowsablePage } from './browsable.js';
import { methodNotAllowed } from './errors.js';
import { indentJson } from './json.js';
import { negotiate, type Renderer } from './negotiation.js';

/** Route config read by the hooks. */
export interface DrfViewConfig {
  /** The `Allow` header: DRF lists the view's methods plus HEAD and OPTIONS. */
  allow: string;
  /** DRF's view name, shown by OPTIONS and as the HTML page title. */
  viewName: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The renderer chosen by content negotiation (`undefined` outside the API scope). */
    renderer: Renderer | undefined;
  }
  interface FastifyContextConfig {
    allow?: string;
    viewName?: string;
  }
}

/** The last value of a query parameter (Django `QueryDict.get`), or `undefined`. */
export function lastQueryValue(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  const last = Array.isArray(value) ? value.at(-1) : value;
  return typeof last === 'string' ? last : undefined;
}

function render(request: FastifyRequest, reply: FastifyReply, payload: unknown): unknown {
  const { allow, viewName } = request.routeOptions.config;
  if (allow) reply.header('allow', allow);
  // Appended, not replaced: CORS may already vary the response on Origin.
  const vary = reply.getHeader('vary');
  reply.header('vary', vary ? `${String(vary)}, Accept` : 'Accept');
  const renderer = request.renderer;
  if (
    !renderer ||
    typeof payload !== 'string' ||
    !String(reply.getHeader('content-type')).startsWith('application/json')
  ) {
    return payload;
  }
  // The ETag belongs to the plain JSON bytes; the HTML page and indented JSON are other variants
  // (RFC 9110 §8.8.3: a strong tag names one representation) and carry none.
  if (renderer.kind === 'html' || renderer.indent !== undefined) reply.removeHeader('etag');
  if (renderer.kind === 'html') {
    reply.type('text/html; charset=utf-8');
    return renderBrowsablePage(viewName ?? 'API', `${request.method} ${request.url} → ${reply.statusCode}`, payload);
  }
  if (renderer.indent !== undefined) return indentJson(payload, renderer.indent);
  return payload;
}

/** Adds the DRF view hooks to `app` (an encapsulated scope holding the API routes). */
export function registerDrfViewHooks(app: FastifyInstance): void {
  app.decorateRequest('renderer', undefined);
  // Callback hooks, not async ones: each async hook costs a promise and a microtask per request.
  app.addHook('onRequest', (request, _reply, done) => {
    request.renderer = undefined;
    try {
      request.renderer = negotiate(lastQueryValue(request, 'format'), request.headers.accept);
    } catch (error) {
      return done(error as Error);
    }
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    let rendered: unknown;
    try {
      rendered = render(request, reply, payload);
    } catch (error) {
      return done(error as Error);
    }
    done(null, rendered);
  });
}

/** Registers a 405 answer for every method of `url` that `allow` does not list. */
export function methodNotAllowedRoute(app: FastifyInstance, url: string, config: DrfViewConfig): void {
  const allowed = new Set(config.allow.split(', '));
  app.route({
    method: app.supportedMethods.filter((m) => !allowed.has(m) && m !== 'CONNECT'),
    url,
    config,
    schema: { hide: true },
    handler: async (request) => {
      throw methodNotAllowed(request.method, config.allow);
    },
  });
}
