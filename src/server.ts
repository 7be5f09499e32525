/**
 * Process entry: reads the configuration, migrates, listens, and stops cleanly on SIGTERM/SIGINT
 * (in-flight requests finish, the database closes, logs are flushed, exit code 0).
 *
 * @module
 */
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDb, type Db } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { createLogger } from './logging/logger.js';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`itemstore: invalid configuration: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const sinks = createLogger({ level: config.logLevel, logDir: config.logDir });
  const { logger } = sinks;
  // Opened inside the try below: a database that cannot be opened (an SQLite path that cannot be
  // created) is a start-up failure, logged to both sinks before exit 1 (FIELD_NOTES F3).
  let db: Db | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;

  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutdown started');
    try {
      await app?.close();
      await db?.destroy();
      logger.info('server closed');
    } catch (error) {
      logger.error({ err: error }, 'error during shutdown');
    }
    sinks.flush();
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));

  try {
    db = createDb(config.database);
    const applied = await migrateToLatest(db.kysely);
    if (applied.length) logger.info({ migrations: applied.map((m) => m.migrationName) }, 'migrations applied');
    app = await buildApp({ config, db, logger });
    await app.listen({ port: config.port, host: config.host });
    logger.info({ port: config.port, host: config.host, database: config.database.client }, 'listening');
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    sinks.flush();
    await db?.destroy().catch(() => {});
    process.exit(1);
  }
}

void main();
