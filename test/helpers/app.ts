/**
 * Test harness: the real app on a real HTTP socket (127.0.0.1, a free port) over a real database
 * file in a scratch folder, torn down after the test.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createDb, type Db } from '../../src/db/database.js';
import { migrateToLatest, migrateWithConfig } from '../../src/db/migrate.js';
import { createLogger, LOG_FILE_NAME } from '../../src/platform/logger.js';

export interface TestApp {
  app: FastifyInstance;
  db: Db;
  config: Config;
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  /** Scratch folder holding the database file and logs. */
  dir: string;
  /** fetch against the app: `request('/api/items/', { method: 'POST', json: {...} })`. */
  request(urlPath: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /**
   * With `captureLog`: the log file's text (JSON lines), once the write in flight has landed
   * (`flush()` writes what is queued but cannot wait for a write already under way).
   */
  logText(): Promise<string>;
}

export interface TestAppOptions {
  /** Run the migrations first (default true); false for a database that cannot be reached. */
  migrate?: boolean;
  /**
   * Log at `info` (unless `env` says otherwise) to `api_server.log` in the scratch folder, stdout
   * copy discarded, for tests that read the log through {@link TestApp.logText}.
   */
  captureLog?: boolean;
}

/** The `options` parameter of a PostgreSQL URL (libpq's per-session settings), or `undefined`. */
function sessionOptions(connectionString: string): string | undefined {
  return new URL(connectionString).searchParams.get('options') ?? undefined;
}

/** A fresh scratch folder removed when the test ends. */
export function scratchDir(t: TestContext, prefix = 'itemstore-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts the app for one test. `env` overrides configuration variables; by default the database is
 * a new SQLite file and logging is silent (set `LOG_LEVEL` to see it, `LOG_DIR` to keep a file, or
 * `captureLog` to read it).
 */
export async function startTestApp(
  t: TestContext,
  env: Record<string, string> = {},
  { migrate = true, captureLog = false }: TestAppOptions = {},
): Promise<TestApp> {
  const dir = scratchDir(t);
  let config = loadConfig({
    DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`,
    LOG_LEVEL: captureLog ? 'info' : 'silent',
    LOG_DIR: '',
    ...env,
    ...(captureLog ? { LOG_DIR: dir } : {}),
  });
  // A schema of the shared test role (`withSearchPath`): its statement timeout goes in the URL's
  // `options` beside the search_path, a startup parameter of this test's sessions only, as
  // writing it as the role's default would change it for every test running meanwhile.
  const sharedRole = config.database.client === 'postgres' && sessionOptions(config.database.connectionString);
  if (sharedRole && config.database.client === 'postgres') {
    const url = new URL(config.database.connectionString);
    url.searchParams.set('options', `${sharedRole} -c statement_timeout=${config.database.statementTimeoutMs}`);
    config = { ...config, database: { ...config.database, connectionString: url.toString() } };
  }
  const devNull = captureLog ? fs.openSync('/dev/null', 'w') : undefined;
  const sinks = createLogger({ level: config.logLevel, logDir: config.logDir, stdoutFd: devNull });
  if (migrate && config.database.client === 'postgres' && !sharedRole) {
    // As start-up does: a pool of its own, writing the role's statement timeout, closed before the
    // service's pool opens a connection, so every connection of the service starts with it.
    const migrationDb = createDb(config.migrationDatabase);
    try {
      await migrateWithConfig(migrationDb, config);
    } finally {
      await migrationDb.destroy();
    }
  }
  const db = createDb(config.database);
  if (migrate && (config.database.client === 'sqlite' || sharedRole)) await migrateToLatest(db.kysely);
  const app = await buildApp({ config, db, logger: sinks.logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await db.destroy();
    // Ended, not only flushed: the streams close their own descriptors (`/dev/null` included), so
    // none is left holding a closed descriptor's number that a later socket or pipe may reuse.
    await sinks.end();
  });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  return {
    app,
    db,
    config,
    baseUrl,
    dir,
    request(urlPath, init = {}) {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (json !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
      return fetch(baseUrl + urlPath, {
        ...rest,
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
        redirect: 'manual',
      });
    },
    async logText() {
      if (!captureLog) throw new Error('startTestApp: pass { captureLog: true } to read the log');
      await new Promise((resolve) => setTimeout(resolve, 100));
      sinks.flush();
      return fs.readFileSync(path.join(dir, LOG_FILE_NAME), 'utf8');
    },
  };
}
