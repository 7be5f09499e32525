/**
 * The real app on a real socket, like {@link startTestApp}, but with its log captured in a file
 * (stdout copy discarded) that the test can read, and with migrations optional, for tests of
 * failure paths: a database that is unreachable, slow, or rejects a write.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDb, type Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createLogger, LOG_FILE_NAME } from '../../src/logging/logger.js';
import { scratchDir } from './app.js';

export interface LoggedApp {
  db: Db;
  baseUrl: string;
  /** Flushes the logger and returns the log file's text (JSON lines). */
  logText(): Promise<string>;
}

/**
 * Starts the app with configuration `env` (over `LOG_LEVEL=info`) and its log in a scratch folder.
 * `migrate: false` skips migrations (for a database that cannot be reached).
 */
export async function startLoggedApp(
  t: TestContext,
  env: Record<string, string>,
  { migrate = true }: { migrate?: boolean } = {},
): Promise<LoggedApp> {
  const dir = scratchDir(t);
  const config = loadConfig({ LOG_LEVEL: 'info', ...env, LOG_DIR: dir });
  const devNull = fs.openSync('/dev/null', 'w');
  const sinks = createLogger({ level: config.logLevel, logDir: config.logDir, stdoutFd: devNull });
  const db = createDb(config.database);
  if (migrate) await migrateToLatest(db.kysely);
  const app = await buildApp({ config, db, logger: sinks.logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await db.destroy();
    sinks.flush();
    fs.closeSync(devNull);
  });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return {
    db,
    baseUrl: `http://127.0.0.1:${address.port}`,
    /** The log file once the write in flight (which `flush()` can't wait for) has landed. */
    async logText() {
      await new Promise((resolve) => setTimeout(resolve, 100));
      sinks.flush();
      return fs.readFileSync(path.join(dir, LOG_FILE_NAME), 'utf8');
    },
  };
}
