/**
 * Browser-facing safety: security headers on every response and CORS for the origins in
 * `CORS_ORIGINS` (@fastify/cors).
 *
 * Headers (OWASP HTTP Headers Cheat Sheet), the set @fastify/helmet 13 sends with these options,
 * computed once at start-up rather than per response, as helmet would (BENCHMARKS.md):
 * `X-Content-Type-Options: nosniff`,
 * `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`, `Cross-Origin-Opener-Policy: same-origin`,
 * HSTS, and a CSP of
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
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Methods a cross-origin page may use: those the items API serves. */
const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Seconds a browser may cache a preflight answer (Chromium caps it at 7200). */
const CORS_MAX_AGE = 600;

/** The Content-Security-Policy directives (camelCase names, as helmet takes them). */
const CSP_DIRECTIVES = {
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

/** `defaultSrc` → `default-src`. */
function directiveName(name: string): string {
  return name.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`);
}

/** Every security header, with its value; sent unchanged on every response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': Object.entries(CSP_DIRECTIVES)
    .map(([name, values]) => `${directiveName(name)} ${values.join(' ')}`)
    .join(';'),
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'same-origin',
  // One year, as helmet's default; browsers only honour it over HTTPS (RFC 6797 §8.1).
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  // 0 disables the legacy XSS auditor, which itself enabled attacks (OWASP).
  'x-xss-protection': '0',
});

/** Whether `request` is a CORS preflight rather than a plain `OPTIONS` (DRF metadata). */
function isPreflight(request: FastifyRequest): boolean {
  return (
    request.method === 'OPTIONS' &&
    request.headers.origin !== undefined &&
    request.headers['access-control-request-method'] !== undefined
  );
}

/**
 * Adds {@link SECURITY_HEADERS} to every response (set on arrival, so errors, 404s and redirects carry
 * them too) and, when `corsOrigins` is not empty, registers CORS.
 */
export const security = fp<{ corsOrigins: readonly string[] }>(
  async (app, { corsOrigins }) => {
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(SECURITY_HEADERS);
      done();
    });
    if (corsOrigins.length === 0) return;
    const base: FastifyCorsOptions = {
      origin: corsOrigins.includes('*') ? '*' : [...corsOrigins],
      methods: CORS_METHODS,
      exposedHeaders: ['X-Request-ID', 'Location', 'Allow', 'ETag', 'Retry-After'],
      maxAge: CORS_MAX_AGE,
      strictPreflight: false,
    };
    await app.register(cors, {
      hook: 'onRequest',
      delegator: (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) =>
        callback(null, { ...base, preflight: isPreflight(request) }),
    });
  },
  { name: 'security' },
);
