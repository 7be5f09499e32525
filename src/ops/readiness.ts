/**
 * Whether this process should still receive new traffic. Shutdown flips it first, so `/readyz`
 * answers 503 while requests are still served during the drain: the load balancer deregisters the
 * task before its listener closes.
 *
 * @module
 */
import fp from 'fastify-plugin';
import { ApiError } from '../drf/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This process's phase, read by `/readyz`. */
    readiness: Readiness;
  }
}

/**
 * The process's phase, shared by the shutdown sequence, `/readyz`, and the hook that adds
 * `Connection: close` to responses once the server is closing.
 */
export class Readiness {
  #shuttingDown = false;
  #closing = false;

  /** True once shutdown has started; never goes back. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Marks the process as stopping: `/readyz` answers 503 from now on. */
  beginShutdown(): void {
    this.#shuttingDown = true;
  }

  /**
   * True once the server is closing (after the drain). Responses then carry `Connection: close`:
   * Node closes only the sockets idle at `server.close()`, so a keep-alive socket whose request was
   * in flight would otherwise stay open until the keep-alive timeout and hold up the exit.
   */
  get closing(): boolean {
    return this.#closing;
  }

  /** Marks the server as closing (implies shutting down). */
  beginClosing(): void {
    this.#shuttingDown = true;
    this.#closing = true;
  }
}

/** Shares `readiness` as `app.readiness`, and sends `Connection: close` once the server is closing. */
export const readinessPlugin = fp<{ readiness: Readiness }>(
  async (app, { readiness }) => {
    app.decorate('readiness', readiness);
    // A request arriving once the server is closing gets 503, after its body is read: closing a
    // socket with unread bytes makes the kernel answer a reset instead of the 503. One that arrived
    // before completes, however long its body takes. Callback hooks, not async ones: an async hook
    // costs a promise and a microtask per request.
    const arrivedClosing = new WeakSet<object>();
    app.addHook('onRequest', (request, _reply, done) => {
      if (readiness.closing) arrivedClosing.add(request);
      done();
    });
    app.addHook('preHandler', (request, _reply, done) => {
      done(arrivedClosing.has(request) ? new ApiError(503, { detail: 'Shutting down.' }) : undefined);
    });
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (readiness.closing) reply.header('connection', 'close');
      done(null, payload);
    });
  },
  { name: 'readiness', dependencies: ['drf-errors'] },
);
