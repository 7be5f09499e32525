/**
 * Whether this process should still receive new traffic. Shutdown flips it first, so `/readyz`
 * answers 503 while requests are still served during the drain: the load balancer deregisters the
 * task before its listener closes.
 *
 * @module
 */
import type { FastifyBaseLogger } from 'fastify';
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

/** How often the database is probed, in ms. */
const PROBE_INTERVAL_MS = 1000;
/** Longest a probe may take (connecting included), in ms; a later answer counts as a failure. */
const PROBE_TIMEOUT_MS = 1000;
/**
 * Oldest probe result `/readyz` trusts, in ms: two intervals and a half, so one late tick does not
 * flip it, while a stalled probe loop (an event loop blocked for seconds) reads as not ready.
 */
const PROBE_MAX_AGE_MS = 2500;

/** What the latest probe found. */
interface ProbeResult {
  ok: boolean;
  /** `performance.now()` when it finished. */
  at: number;
}

/**
 * Whether the database answers, from a background probe rather than from the request that asks:
 * `select 1` every {@link PROBE_INTERVAL_MS} on a connection of its own (`Db.probe`, never one of
 * the request pool's), so `/readyz` answers at once from the latest result, however busy the pool
 * is. Under load a readiness query that waits in the request pool makes a load balancer with a short
 * check timeout mark every task down at once; this cannot queue there. A failure and the recovery
 * are logged once each, at `warn` and `info`.
 */
export class DatabaseProbe {
  readonly #probe: (timeoutMs: number) => Promise<void>;
  readonly #log: FastifyBaseLogger;
  #last: ProbeResult | undefined;
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** @param probe runs one check within the given ms, rejecting when the database does not answer. */
  constructor(probe: (timeoutMs: number) => Promise<void>, log: FastifyBaseLogger) {
    this.#probe = probe;
    this.#log = log;
  }

  /** Probes now and then every {@link PROBE_INTERVAL_MS}; the timer does not keep the process alive. */
  start(): void {
    if (this.#timer) return;
    void this.#run();
    this.#timer = setInterval(() => void this.#run(), PROBE_INTERVAL_MS).unref();
  }

  /** Stops probing and waits for a probe in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  /**
   * Whether the latest result says ready: a success no older than {@link PROBE_MAX_AGE_MS}. Before
   * the first result it waits for the first probe (at most {@link PROBE_TIMEOUT_MS}).
   */
  async ready(): Promise<boolean> {
    if (!this.#last) await (this.#inFlight ?? this.#run());
    const last = this.#last;
    return last !== undefined && last.ok && performance.now() - last.at <= PROBE_MAX_AGE_MS;
  }

  #run(): Promise<void> {
    this.#inFlight ??= (async () => {
      let ok = true;
      try {
        await this.#probe(PROBE_TIMEOUT_MS);
      } catch (error) {
        ok = false;
        if (this.#last?.ok !== false) {
          this.#log.warn({ err: error, code: (error as { code?: unknown }).code }, 'readiness probe failed');
        }
      }
      if (ok && this.#last?.ok === false) this.#log.info('readiness probe answers again');
      this.#last = { ok, at: performance.now() };
    })().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }
}
