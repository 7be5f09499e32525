/**
 * Browser-facing safety: security headers on every response (@fastify/helmet) and CORS for the
 * origins in `CORS_ORIGINS` (@fastify/cors).
 *
 * Headers (OWASP HTTP Headers Cheat Sheet): `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
 * `Referrer-Policy: same-origin`, `Cross-Origin-Opener-Policy: same-origin`, HSTS, and a CSP of
 * `default-src 'self'` that still runs the local `/docs` and `/` pages (scripts from files only;
 * inline styles and `data:` images allowed). `upgrade-insecure-requests` is left out so the same
 * pages work over plain HTTP on localhost.
 *
 * CORS and DRF's `OPTIONS` metadata share the method: only a real preflight (an `OPTIONS` with
 * `Origin` and `Access-Control-Request-Method`, Fetch standard §3.2.2) is answered by the CORS
 * plugin (204); any other `OPTIONS` reaches the route's metadata handler.
 *
 * @module
 */
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Methods a cross-origin page may use: those the items API serves. */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Seconds a browser may cache a preflight answer (Chromium caps it at 7200). */
export const CORS_MAX_AGE = 600;

/** The Content-Security-Policy directives, in helmet's camelCase form. */
export const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
};

/** Whether `request` is a CORS preflight rather than a plain `OPTIONS` (DRF metadata). */
export function isPreflight(request: FastifyRequest): boolean {
  return (
    request.method === 'OPTIONS' &&
    request.headers.origin !== undefined &&
    request.headers['access-control-request-method'] !== undefined
  );
}

/**
 * Registers helmet and, when `corsOrigins` is not empty, CORS. Call before any route is added
 * (helmet reads route options in an `onRoute` hook).
 */
export async function registerSecurity(app: FastifyInstance, { corsOrigins }: { corsOrigins: readonly string[] }): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
  });
  if (corsOrigins.length === 0) return;
  const base: FastifyCorsOptions = {
    origin: corsOrigins.includes('*') ? '*' : [...corsOrigins],
    methods: CORS_METHODS,
    exposedHeaders: ['X-Request-ID', 'Location', 'Allow'],
    maxAge: CORS_MAX_AGE,
    strictPreflight: false,
  };
  await app.register(cors, {
    hook: 'onRequest',
    delegator: (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) =>
      callback(null, { ...base, preflight: isPreflight(request) }),
  });
}
