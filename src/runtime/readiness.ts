/**
 * Whether this process should still receive new traffic. Shutdown flips it first, so `/readyz`
 * answers 503 while requests are still served during the drain (FIELD_NOTES F2).
 *
 * @module
 */

/** The readiness flag shared by the shutdown sequence and `/readyz`. */
export class Readiness {
  #shuttingDown = false;

  /** True once shutdown has started; never goes back. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Marks the process as stopping: `/readyz` answers 503 from now on. */
  beginShutdown(): void {
    this.#shuttingDown = true;
  }
}
