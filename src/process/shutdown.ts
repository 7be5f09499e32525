/**
 * Graceful shutdown of one serving process, on SIGTERM or SIGINT, losing no request and no log line:
 *
 * 1. `/readyz` turns 503 ("shutdown started" is logged);
 * 2. after SIGTERM only, the server keeps serving for `drainMs`, so the load balancer finishes
 *    deregistering the task before the listener closes (SIGINT, a Ctrl-C at a terminal, skips this);
 * 3. closing ("closing server" is logged): the listener closes, so new connections are refused;
 *    in-flight requests complete and their responses carry `Connection: close`; a request arriving
 *    on an open keep-alive socket gets 503 `{"detail": "Shutting down."}` with `Connection: close`
 *    (see {@link Readiness.closing}), and the server closes that socket after the answer. After
 *    SIGTERM, idle sockets are closed only once no request has come for {@link CLOSE_GRACE_MS}:
 *    closing an idle keep-alive socket races with a client reusing it, which then sees a reset
 *    (RFC 9112 §9.3.1), and an answer with `Connection: close` is the only way to tell a client first;
 * 4. `app.close()`: sockets still idle are closed, in-flight requests complete; connections still
 *    open {@link CLOSE_CONNECTIONS_BEFORE_TIMEOUT_MS} before `timeoutMs` runs out are closed (a
 *    request whose client stopped sending its body is then logged as aborted);
 * 5. the database pool closes, "server closed" is logged, the logs are flushed, exit code 0.
 *
 * If it all takes longer than `timeoutMs` from the signal, the process logs "shutdown timed out",
 * flushes and exits 1. A second signal during shutdown is ignored.
 *
 * @module
 */
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import type { Readiness } from '../ops/readiness.js';

/**
 * After SIGTERM's drain, open keep-alive sockets are closed once no request has arrived for this
 * long: until then a client may still send one more request on its socket (answered 503 with
 * `Connection: close`) instead of meeting a closed socket.
 */
const CLOSE_GRACE_MS = 2000;

/**
 * How long before `SHUTDOWN_TIMEOUT` the connections still open are closed, so that a request that
 * can never finish (a client that stopped sending its body) is logged as aborted and the shutdown
 * ends in order (exit 0) instead of being cut by the timeout (exit 1), in ms.
 */
const CLOSE_CONNECTIONS_BEFORE_TIMEOUT_MS = 1000;

/**
 * Stops accepting connections and resolves once every open one has ended, or once no request has
 * arrived for `quietMs`. `net.Server.close`, not `http.Server.close`: the latter also closes idle
 * keep-alive sockets at once (Node ≥ 19), the race {@link gracefulShutdown} avoids. Bounded by the
 * shutdown timeout: each open socket carries at most one more request, then closes.
 */
function stopListening(server: net.Server, quietMs: number): Promise<void> {
  return new Promise((resolve) => {
    let lastRequest = Date.now();
    const onRequest = () => (lastRequest = Date.now());
    server.on('request', onRequest);
    const done = () => {
      clearInterval(poll);
      server.off('request', onRequest);
      resolve();
    };
    const poll = setInterval(() => Date.now() - lastRequest >= quietMs && done(), Math.min(100, quietMs));
    net.Server.prototype.close.call(server, done);
    if (quietMs === 0) done();
  });
}

/** The signals that start a graceful shutdown. */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export interface ShutdownOptions {
  app: FastifyInstance;
  db: Db;
  logger: Logger;
  /** Writes out buffered log lines synchronously (used when the shutdown is forced). */
  flush(): void;
  /** Writes out every log line and closes the sinks (`LogSinks.end`). */
  endLogs(): Promise<void>;
  readiness: Readiness;
  /** Serving time after SIGTERM before closing, in ms. */
  drainMs: number;
  /** From the signal to a forced exit 1, in ms. */
  timeoutMs: number;
  /** Ends the process; `process.exit` unless a test replaces it. */
  exit?: (code: number) => void;
}

/**
 * Runs the shutdown sequence once; later calls return the same promise.
 * @returns a function to call with the signal name.
 */
export function gracefulShutdown(options: ShutdownOptions): (signal: string) => Promise<void> {
  const {
    app,
    db,
    logger,
    flush,
    endLogs,
    readiness,
    drainMs,
    timeoutMs,
    exit = (code) => process.exit(code),
  } = options;
  let running: Promise<void> | undefined;
  const run = async (signal: string) => {
    const startedAt = performance.now();
    readiness.beginShutdown();
    const drain = signal === 'SIGTERM' ? drainMs : 0;
    logger.info({ signal, drainMs: drain, timeoutMs }, 'shutdown started');
    const force = setTimeout(() => {
      logger.error({ signal, timeoutMs }, 'shutdown timed out; exiting');
      flush();
      exit(1);
    }, timeoutMs);
    let code = 0;
    try {
      if (drain > 0) await new Promise((resolve) => setTimeout(resolve, drain));
      logger.info('closing server');
      readiness.beginClosing();
      const cutAt = startedAt + timeoutMs - CLOSE_CONNECTIONS_BEFORE_TIMEOUT_MS;
      let cutOff = false;
      const cut = setTimeout(
        () => {
          cutOff = true;
          logger.warn({ openRequests: app.requestLog.open }, 'closing the connections still open');
          app.server.closeAllConnections();
        },
        Math.max(0, cutAt - performance.now()),
      );
      try {
        await stopListening(app.server, drain > 0 ? CLOSE_GRACE_MS : 0);
        await app.close();
      } finally {
        clearTimeout(cut);
      }
      // A request whose connection was closed above ends a few ticks later, and its closing line
      // comes then: wait for it, until half that margin before the timeout remains.
      if (cutOff) {
        await app.requestLog.settled(
          Math.max(0, startedAt + timeoutMs - CLOSE_CONNECTIONS_BEFORE_TIMEOUT_MS / 2 - performance.now()),
        );
      }
      await db.destroy();
      logger.info('server closed');
    } catch (error) {
      code = 1;
      logger.error({ err: error }, 'error during shutdown');
    }
    clearTimeout(force);
    await endLogs();
    exit(code);
  };
  return (signal) => (running ??= run(signal));
}

/** Calls `onSignal` on the first SIGTERM or SIGINT and keeps listening, so repeats are absorbed. */
export function onShutdownSignal(onSignal: (signal: string) => unknown): void {
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, () => void onSignal(signal));
}
