/**
 * Whether this process should still receive new traffic. Shutdown flips it first, so `/readyz`
 * answers 503 while requests are still served during the drain: the load balancer deregisters the
 * task before its listener closes.
 *
 * @module
 */
import fp from 'fastify-plugin';

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
    app.addHook('onSend', async (_request, reply, payload) => {
      if (readiness.closing) reply.header('connection', 'close');
      return payload;
    });
  },
  { name: 'readiness' },
);
