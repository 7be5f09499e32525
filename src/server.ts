/**
 * Process entry (`node dist/server.js`): reads `.env` when present, reads and validates the
 * configuration (a bad value, or a `HOST` this machine cannot bind: one line on stderr naming the
 * variable, exit 1), applies pending migrations once, then serves, in this process when
 * `WEB_CONCURRENCY` is 1, or in that many cluster workers (`process/cluster.ts`).
 * Serving processes stop gracefully on SIGTERM/SIGINT (`process/shutdown.ts`).
 *
 * SQLite with several workers means several connections on one WAL-mode file: reads run in
 * parallel, writes take turns, each waiting up to the 5 s busy timeout for the lock.
 *
 * @module
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { checkHost, ConfigError, loadConfig, loadEnvFile, type Config } from './config.js';
import { createDb, type Db } from './db/database.js';
import { migrateWithConfig } from './db/migrate.js';
import { createLogger, type LogSinks } from './platform/logger.js';
import { clusterAwareMetrics, runPrimary } from './process/cluster.js';
import { Readiness } from './ops/readiness.js';
import { gracefulShutdown, onShutdownSignal } from './process/shutdown.js';

/**
 * `.env` (when present) under the environment, then the configuration; a process that will bind
 * checks first that `HOST` can be bound (cluster workers bind through their primary).
 */
async function readConfig(): Promise<Config> {
  try {
    loadEnvFile();
    const config = loadConfig();
    if (!cluster.isWorker) await checkHost(config.host);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`itemstore: invalid configuration: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** Logs the failure to both sinks, waits until it is written (an exit would drop buffered lines), and exits 1. */
async function failStartup(sinks: LogSinks, error: unknown, db?: Db): Promise<never> {
  sinks.logger.fatal({ err: error }, 'start-up failed');
  await db?.destroy().catch(() => {});
  await sinks.end();
  process.exit(1);
}

/**
 * The start-up migration, skipped with `MIGRATE_ON_START=false`. On PostgreSQL it runs on a pool of
 * its own on `MIGRATION_DATABASE_URL`, closed after, so that no connection opened before the role's
 * statement timeout was written serves requests. SQLite migrates the service's own handle
 * (`sqlite://:memory:` exists only there).
 */
async function migrate(config: Config, logger: Logger, serviceDb?: Db): Promise<void> {
  if (!config.migrateOnStart) {
    logger.info('MIGRATE_ON_START=false: migrations left to the migration task');
    return;
  }
  const shared = serviceDb && serviceDb.client === 'sqlite' && config.migrationDatabase === config.database;
  const db = shared ? serviceDb : createDb(config.migrationDatabase);
  try {
    const applied = await migrateWithConfig(db, config);
    if (applied.length) logger.info({ migrations: applied.map((m) => m.migrationName) }, 'migrations applied');
  } finally {
    if (!shared) await db.destroy();
  }
}

/** Serves HTTP in this process until a shutdown signal. Migrates first unless a primary already did. */
async function serve(config: Config, sinks: LogSinks, options: { migrate: boolean }): Promise<void> {
  const { logger } = sinks;
  const readiness = new Readiness();
  let shutdown: ((signal: string) => Promise<void>) | undefined;
  let pendingSignal: string | undefined;
  // A signal during start-up is honoured once the app exists.
  onShutdownSignal((signal) => (shutdown ? shutdown(signal) : (pendingSignal ??= signal)));
  // Opened inside the try: a database that cannot be opened (an SQLite path that cannot be
  // created) is a start-up failure, logged to both sinks before exit 1.
  let db: Db | undefined;
  try {
    db = createDb(config.database);
    if (options.migrate) await migrate(config, logger, db);
    const app = await buildApp({ config, db, logger, readiness, metricsRenderer: clusterAwareMetrics });
    shutdown = gracefulShutdown({
      app,
      db,
      logger,
      flush: sinks.flush,
      endLogs: () => sinks.end(),
      readiness,
      drainMs: config.shutdownDrainMs,
      timeoutMs: config.shutdownTimeoutMs,
    });
    await app.listen({ port: config.port, host: config.host });
    logger.info({ port: config.port, host: config.host, database: config.database.client }, 'listening');
    if (pendingSignal) void shutdown(pendingSignal);
  } catch (error) {
    await failStartup(sinks, error, db);
  }
}

async function main(): Promise<void> {
  const config = await readConfig();
  const sinks = createLogger({ level: config.logLevel, logDir: config.logDir });
  if (cluster.isWorker) return serve(config, sinks, { migrate: false });
  if (config.webConcurrency === 1) return serve(config, sinks, { migrate: true });

  try {
    await migrate(config, sinks.logger);
  } catch (error) {
    await failStartup(sinks, error);
  }
  if (config.database.client === 'sqlite') {
    sinks.logger.info(
      { workers: config.webConcurrency, filename: config.database.filename },
      'SQLite shared by several workers: one connection each on a WAL file, writes take turns',
    );
  }
  runPrimary({
    workers: config.webConcurrency,
    logger: sinks.logger,
    sinks,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  });
}

void main();
