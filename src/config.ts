/**
 * Service configuration, read once from the environment at start-up.
 *
 * `process.env` is read here and nowhere else. Every key has a default and a one-line meaning;
 * the README and `.env.example` carry the same table. A bad value throws {@link ConfigError}
 * naming the variable, and the process entry points print that one line and exit 1.
 *
 * @module
 */
import path from 'node:path';

/** Where the items live: an embedded SQLite file, or a PostgreSQL server. */
export type DatabaseConfig =
  | { readonly client: 'sqlite'; readonly filename: string }
  | {
      readonly client: 'postgres';
      /** libpq-style connection string (`postgres://user:pass@host:port/db`). */
      readonly connectionString: string;
      /** Most connections one process opens (`pg.Pool` `max`). */
      readonly poolMax: number;
      /** Milliseconds a query may wait for a free connection before it fails with 503. */
      readonly connectionTimeoutMs: number;
      /** PostgreSQL `statement_timeout`, in milliseconds, set on every connection. */
      readonly statementTimeoutMs: number;
    };

export interface Config {
  /** TCP port to listen on. `PORT`, default 8000 (the replaced gunicorn service's port). */
  readonly port: number;
  /** Interface to bind. `HOST`, default `0.0.0.0` (all interfaces, as a container needs). */
  readonly host: string;
  readonly database: DatabaseConfig;
  /** pino level: fatal, error, warn, info, debug, trace, silent. `LOG_LEVEL`, default `info`. */
  readonly logLevel: string;
  /** Folder of `api_server.log`; empty string turns the file off. `LOG_DIR`, default `logs`. */
  readonly logDir: string;
  /** Longest request/response body logged at debug level, in UTF-16 code units. `LOG_BODY_MAX`, default 2048. */
  readonly logBodyMax: number;
  /** Largest accepted request body in bytes; larger gets 413. `BODY_LIMIT`, default 1 MiB. */
  readonly bodyLimit: number;
  /** Trust `X-Forwarded-*` from the load balancer. `TRUST_PROXY`, default `true` (the service sits behind an ALB). */
  readonly trustProxy: boolean;
}

/** A configuration value that cannot be used; `message` names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not an integer from ${min} to ${max}`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(env[name])} is not a boolean (true/false)`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads the database location in the dj-database-url convention the replaced service used:
 * `sqlite:///relative/path.sqlite3`, `sqlite:////absolute/path.sqlite3`, `sqlite://:memory:`,
 * `postgres://…` or `postgresql://…`. Without `DATABASE_URL`, `DB_HOST` (with `DB_NAME`, `DB_USER`,
 * `DB_PASSWORD`, `DB_PORT`, as the replaced service's deployments set them) selects PostgreSQL;
 * otherwise SQLite at `data/db.sqlite3`.
 *
 * @throws {ConfigError} on a URL scheme that is neither sqlite nor postgres.
 */
export function readDatabaseConfig(env: Env): DatabaseConfig {
  const url = env.DATABASE_URL?.trim();
  const pg = (connectionString: string): DatabaseConfig => ({
    client: 'postgres',
    connectionString,
    poolMax: integer(env, 'DB_POOL_MAX', 10, 1, 1000),
    connectionTimeoutMs: integer(env, 'DB_CONNECTION_TIMEOUT_MS', 2000, 1, 600_000),
    statementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 5000, 1, 3_600_000),
  });
  if (url) {
    if (/^postgres(ql)?:\/\//i.test(url)) return pg(url);
    const sqlite = /^sqlite:\/\/(.*)$/i.exec(url);
    if (sqlite) {
      const rest = sqlite[1] ?? '';
      if (rest === ':memory:' || rest === '/:memory:') return { client: 'sqlite', filename: ':memory:' };
      if (!rest.startsWith('/') || rest === '/') {
        throw new ConfigError(`DATABASE_URL=${JSON.stringify(url)}: use sqlite:///relative/path or sqlite:////absolute/path`);
      }
      // sqlite:///a.db → "a.db" (relative); sqlite:////tmp/a.db → "/tmp/a.db" (absolute)
      return { client: 'sqlite', filename: path.resolve(decodeURIComponent(rest.slice(1))) };
    }
    throw new ConfigError(`DATABASE_URL=${JSON.stringify(url)} must start with sqlite://, postgres:// or postgresql://`);
  }
  if (env.DB_HOST?.trim()) {
    const u = new URL('postgres://localhost');
    u.hostname = env.DB_HOST.trim();
    u.port = String(integer(env, 'DB_PORT', 5432, 1, 65535));
    u.username = encodeURIComponent(env.DB_USER ?? 'postgres');
    u.password = encodeURIComponent(env.DB_PASSWORD ?? '');
    u.pathname = `/${encodeURIComponent(env.DB_NAME ?? 'postgres')}`;
    return pg(u.toString());
  }
  return { client: 'sqlite', filename: path.resolve('data/db.sqlite3') };
}

/**
 * Builds the frozen {@link Config} from an environment (default `process.env`).
 *
 * @throws {ConfigError} naming the first variable whose value cannot be used.
 */
export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env.LOG_LEVEL ?? 'info').trim().toLowerCase() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)} is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return Object.freeze({
    port: integer(env, 'PORT', 8000, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    database: Object.freeze(readDatabaseConfig(env)),
    logLevel,
    logDir: env.LOG_DIR ?? 'logs',
    logBodyMax: integer(env, 'LOG_BODY_MAX', 2048, 0, 1_048_576),
    bodyLimit: integer(env, 'BODY_LIMIT', 1_048_576, 1024, 104_857_600),
    trustProxy: boolean(env, 'TRUST_PROXY', true),
  });
}
