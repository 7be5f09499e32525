/**
 * The process model: with `WEB_CONCURRENCY` > 1 a primary process forks that many HTTP workers
 * (node:cluster, the analogue of gunicorn's arbiter and `--workers`). The workers share the listening
 * port (the primary accepts and hands connections round-robin); each has its own database pool.
 *
 * The primary:
 * - logs "worker listening" for each worker once it listens;
 * - replaces a worker that dies unexpectedly, logging `{workerPid, exitCode, signal}` at `error`;
 * - stops everything and exits 1 when a worker exits before it ever listened (a boot failure, such
 *   as a port in use, would otherwise fork forever; gunicorn halts the same way);
 * - forwards SIGTERM/SIGINT to every worker, which shuts down gracefully on its own
 *   (`process/shutdown.ts`), and exits 0 once all have exited (1 if one failed to stop cleanly, or
 *   if they have not all exited `PRIMARY_GRACE_MS` after the shutdown timeout: they are then killed).
 * - answers workers' `/metrics` with prom-client's aggregate of every worker's registry;
 * - writes its workers' stdout to its own, whole lines at a time ({@link passOnLines}): workers
 *   writing to one inherited pipe could interleave within a line, since a pipe keeps a write whole
 *   only up to `PIPE_BUF` (4 KiB on Linux) and a batch of log lines is often longer.
 *
 * @module
 */
import cluster, { type Worker } from 'node:cluster';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { LogSinks } from '../platform/logger.js';
import { AggregatorRegistry } from 'prom-client';
import { SHUTDOWN_SIGNALS } from './shutdown.js';

/** Extra time the primary gives workers beyond their own shutdown timeout before SIGKILL. */
const PRIMARY_GRACE_MS = 2000;

/** IPC message type for "send me the cluster's metrics" (worker → primary) and the answer. */
const METRICS_MESSAGE = 'itemstore:cluster-metrics';

interface MetricsMessage {
  type: typeof METRICS_MESSAGE;
  id: number;
  text?: string;
  error?: string;
}

function isMetricsMessage(message: unknown): message is MetricsMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === METRICS_MESSAGE;
}

export interface PrimaryOptions {
  /** How many workers to keep running. */
  workers: number;
  logger: Logger;
  /** The log sinks: workers' stdout lines go to `writeStdout`; ended before the primary exits. */
  sinks: Pick<LogSinks, 'end' | 'writeStdout'>;
  /** The workers' own shutdown timeout, in ms. */
  shutdownTimeoutMs: number;
}

/** Longest wait, once every worker has exited, for the rest of their output, in ms. */
const OUTPUT_GRACE_MS = 2000;

/**
 * Reads `stream` (a worker's stdout or stderr) and hands `write` whole lines only, each call one
 * or more complete lines as read; a last line without a newline is handed over when the stream ends.
 *
 * @returns a promise settled when the stream has ended or closed.
 */
function passOnLines(stream: Readable, write: (text: string) => void): Promise<void> {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const end = chunk.lastIndexOf('\n');
    if (end === -1) {
      rest += chunk;
      return;
    }
    write(rest + chunk.slice(0, end + 1));
    rest = chunk.slice(end + 1);
  });
  return new Promise((resolve) => {
    const done = () => {
      if (rest !== '') write(rest);
      rest = '';
      resolve();
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

/** Runs the cluster primary: forks, supervises, and relays signals (see the module description). */
export function runPrimary({ workers: size, logger, sinks, shutdownTimeoutMs }: PrimaryOptions): void {
  const live = new Set<Worker>();
  const booted = new WeakSet<Worker>();
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let exitCode = 0;

  const outputs = new Set<Promise<void>>();
  let finishing = false;
  const finish = () => {
    if (finishing) return;
    finishing = true;
    const grace = new Promise((resolve) => setTimeout(resolve, OUTPUT_GRACE_MS).unref());
    void Promise.race([Promise.all(outputs), grace])
      .then(() => {
        logger.info({ exitCode }, 'primary exiting');
        return sinks.end();
      })
      .then(() => process.exit(exitCode));
  };
  // Workers get pipes of their own for stdout and stderr (`silent`), read here.
  cluster.setupPrimary({ silent: true });
  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
    const { stdout, stderr } = worker.process;
    if (stdout) outputs.add(passOnLines(stdout, (text) => sinks.writeStdout(text)));
    if (stderr) outputs.add(passOnLines(stderr, (text) => process.stderr.write(text)));
    worker.on('message', (message: unknown) => {
      if (!isMetricsMessage(message)) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS_MESSAGE, id: message.id, text }),
        (error: Error) => worker.send({ type: METRICS_MESSAGE, id: message.id, error: error.message }),
      );
    });
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: live.size }, 'primary stopping workers');
    for (const worker of live) worker.process.kill(signal);
    setTimeout(() => {
      logger.error({ workers: [...live].map((w) => w.process.pid) }, 'workers did not stop in time; killing them');
      for (const worker of live) worker.process.kill('SIGKILL');
      exitCode = 1;
      finish();
    }, shutdownTimeoutMs + PRIMARY_GRACE_MS).unref();
    if (live.size === 0) finish();
  };

  cluster.on('listening', (worker, address) => {
    booted.add(worker);
    logger.info({ workerPid: worker.process.pid, port: address.port }, 'worker listening');
  });
  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    const fields = { workerPid: worker.process.pid, exitCode: code, signal };
    if (stopping) {
      if (code !== 0) exitCode = 1;
      logger.info(fields, 'worker exited');
      if (live.size === 0) finish();
    } else if (!booted.has(worker)) {
      exitCode = 1;
      logger.fatal(fields, 'worker failed to boot; stopping');
      stop('SIGINT');
    } else {
      logger.error(fields, 'worker died; replacing it');
      fork();
    }
  });
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, () => stop(signal));

  logger.info({ workers: size, primaryPid: process.pid }, 'primary forking workers');
  for (let i = 0; i < size; i++) fork();
}

/** Longest wait for the primary's aggregated metrics before a worker answers with its own. */
const CLUSTER_METRICS_TIMEOUT_MS = 6000;

/**
 * Returns the `/metrics` renderer for this process: in a cluster worker, the aggregate over every
 * worker (asked of the primary over IPC; this worker's own registry if that fails), otherwise
 * `registry.metrics()`.
 */
export function clusterAwareMetrics(registry: import('prom-client').Registry): () => Promise<string> {
  if (!cluster.isWorker) return () => registry.metrics();
  // Lets prom-client answer the primary's per-worker requests from this app's registry.
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();
  const pending = new Map<number, (message: MetricsMessage) => void>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (isMetricsMessage(message)) pending.get(message.id)?.(message);
  });
  return async () => {
    const id = nextId++;
    const answer = await new Promise<MetricsMessage | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), CLUSTER_METRICS_TIMEOUT_MS);
      pending.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      process.send?.({ type: METRICS_MESSAGE, id });
    });
    pending.delete(id);
    return answer?.text ?? registry.metrics();
  };
}
