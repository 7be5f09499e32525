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
  /** HTTP worker processes (node:cluster), gunicorn's `--workers`. `WEB_CONCURRENCY`, default 1 (no cluster). */
  readonly webConcurrency: number;
  /**
   * Milliseconds the server keeps serving after SIGTERM while `/readyz` already answers 503, so the
   * load balancer stops routing here first (FIELD_NOTES F2). SIGINT (Ctrl-C) skips it.
   * `SHUTDOWN_DRAIN_MS`, default 5000.
   */
  readonly shutdownDrainMs: number;
  /**
   * Milliseconds from the signal to a forced exit (code 1) if closing hangs; keep it below ECS
   * `stopTimeout` (30 s by default), after which the task takes SIGKILL. `SHUTDOWN_TIMEOUT`, default 25000.
   */
  readonly shutdownTimeoutMs: number;
  /**
   * Idle keep-alive socket lifetime in ms; must exceed the ALB idle timeout (60 s) or the ALB reuses
   * a socket Node already closed and answers 502 (FIELD_NOTES F1). `KEEP_ALIVE_TIMEOUT_MS`, default 72000.
   */
  readonly keepAliveTimeoutMs: number;
  /** Longest wait for a request's complete headers, ms; above keep-alive (F1). `HEADERS_TIMEOUT_MS`, default keep-alive + 1000. */
  readonly headersTimeoutMs: number;
  /** Longest wait for a whole request (headers and body), ms; 0 = no limit. `REQUEST_TIMEOUT_MS`, default 120000. */
  readonly requestTimeoutMs: number;
  /** Browser origins allowed by CORS (`https://app.example.com`), or `['*']`. `CORS_ORIGINS`, comma-separated, default none. */
  readonly corsOrigins: readonly string[];
  /**
   * Longest a streamed list (`GET /api/items/` longer than one batch) may keep its database
   * connection, in ms; a client reading slower than that has its response cut, so a stalled client
   * cannot hold a pooled connection longer. `LIST_STREAM_TIMEOUT_MS`, default 60000.
   */
  readonly listStreamTimeoutMs: number;
}

/**
 * Every environment variable the service reads, with its default (as written in `.env.example`;
 * empty when unset means "none") and meaning. `.env.example` and the README table list the same
 * names (checked by `test/runtime/config.test.ts`).
 */
export const ENVIRONMENT_VARIABLES: readonly { name: string; default: string; meaning: string }[] = [
  { name: 'PORT', default: '8000', meaning: 'TCP port' },
  { name: 'HOST', default: '0.0.0.0', meaning: 'interface to bind' },
  {
    name: 'DATABASE_URL',
    default: 'sqlite:///data/db.sqlite3',
    meaning: 'sqlite:///relative.sqlite3, sqlite:////absolute.sqlite3, or postgres://user:pass@host:5432/db',
  },
  { name: 'DB_HOST', default: '', meaning: 'without DATABASE_URL: PostgreSQL host (selects PostgreSQL)' },
  { name: 'DB_PORT', default: '5432', meaning: 'with DB_HOST: PostgreSQL port' },
  { name: 'DB_NAME', default: 'postgres', meaning: 'with DB_HOST: database name' },
  { name: 'DB_USER', default: 'postgres', meaning: 'with DB_HOST: user' },
  { name: 'DB_PASSWORD', default: '', meaning: 'with DB_HOST: password' },
  {
    name: 'DB_POOL_MAX',
    default: '10',
    meaning: 'PostgreSQL: most connections per process (tasks x workers x this must fit max_connections)',
  },
  {
    name: 'DB_CONNECTION_TIMEOUT_MS',
    default: '2000',
    meaning: 'PostgreSQL: wait for a free connection before answering 503',
  },
  { name: 'DB_STATEMENT_TIMEOUT_MS', default: '5000', meaning: 'PostgreSQL: statement_timeout on every connection' },
  { name: 'LOG_LEVEL', default: 'info', meaning: 'fatal, error, warn, info, debug (adds bodies), trace, silent' },
  { name: 'LOG_DIR', default: 'logs', meaning: 'folder of api_server.log; empty turns the file off' },
  { name: 'LOG_BODY_MAX', default: '2048', meaning: 'at debug, bodies are cut to this many characters' },
  { name: 'BODY_LIMIT', default: '1048576', meaning: 'largest request body in bytes; larger gets 413' },
  { name: 'TRUST_PROXY', default: 'true', meaning: 'trust X-Forwarded-* (the service runs behind an ALB)' },
  { name: 'WEB_CONCURRENCY', default: '1', meaning: 'worker processes (node:cluster); 1 runs a single process' },
  {
    name: 'SHUTDOWN_DRAIN_MS',
    default: '5000',
    meaning: 'after SIGTERM, keep serving this long with /readyz at 503 before closing (SIGINT skips it)',
  },
  {
    name: 'SHUTDOWN_TIMEOUT',
    default: '25000',
    meaning: 'ms from the signal until a hung shutdown is forced (exit 1); below ECS stopTimeout',
  },
  {
    name: 'KEEP_ALIVE_TIMEOUT_MS',
    default: '72000',
    meaning: 'idle keep-alive socket lifetime; keep above the ALB idle timeout (60 s)',
  },
  {
    name: 'HEADERS_TIMEOUT_MS',
    default: '73000',
    meaning: 'longest wait for complete request headers (default keep-alive + 1000); above keep-alive',
  },
  {
    name: 'REQUEST_TIMEOUT_MS',
    default: '120000',
    meaning: 'longest wait for a whole request from the client; 0 = no limit',
  },
  {
    name: 'CORS_ORIGINS',
    default: '',
    meaning: 'comma-separated browser origins allowed by CORS (https://app.example.com), or *',
  },
  {
    name: 'LIST_STREAM_TIMEOUT_MS',
    default: '60000',
    meaning: 'longest a streamed list holds its database connection; a client reading slower is cut off',
  },
];

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

/**
 * Reads `CORS_ORIGINS`: comma-separated origins as browsers send them in `Origin`
 * (`scheme://host[:port]`, no path, no trailing slash), or `*` for any.
 *
 * @throws {ConfigError} on an entry that is not an origin.
 */
function origins(env: Env, name: string): string[] {
  const list = (env[name] ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of list) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(
        `${name} entry ${JSON.stringify(origin)} is not an origin like https://app.example.com (no path, no trailing slash)`,
      );
    }
  }
  return list.includes('*') ? ['*'] : list;
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
    if (/^postgres(ql)?:\/\//i.test(url)) {
      if (!URL.canParse(url))
        throw new ConfigError(`DATABASE_URL is not a valid URL (postgres://user:password@host:5432/database)`);
      return pg(url);
    }
    const sqlite = /^sqlite:\/\/(.*)$/i.exec(url);
    if (sqlite) {
      const rest = sqlite[1] ?? '';
      if (rest === ':memory:' || rest === '/:memory:') return { client: 'sqlite', filename: ':memory:' };
      if (!rest.startsWith('/') || rest === '/') {
        throw new ConfigError(
          `DATABASE_URL=${JSON.stringify(url)}: use sqlite:///relative/path or sqlite:////absolute/path`,
        );
      }
      // sqlite:///a.db → "a.db" (relative); sqlite:////tmp/a.db → "/tmp/a.db" (absolute)
      return { client: 'sqlite', filename: path.resolve(decodeURIComponent(rest.slice(1))) };
    }
    throw new ConfigError(
      `DATABASE_URL=${JSON.stringify(url)} must start with sqlite://, postgres:// or postgresql://`,
    );
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
  const keepAliveTimeoutMs = integer(env, 'KEEP_ALIVE_TIMEOUT_MS', 72_000, 1, 3_600_000);
  const headersTimeoutMs = integer(env, 'HEADERS_TIMEOUT_MS', keepAliveTimeoutMs + 1000, 1, 3_601_000);
  if (headersTimeoutMs <= keepAliveTimeoutMs) {
    throw new ConfigError(
      `HEADERS_TIMEOUT_MS=${headersTimeoutMs} must be above KEEP_ALIVE_TIMEOUT_MS=${keepAliveTimeoutMs}`,
    );
  }
  const requestTimeoutMs = integer(env, 'REQUEST_TIMEOUT_MS', Math.max(120_000, headersTimeoutMs), 0, 3_601_000);
  // Node's http.createServer refuses a headersTimeout above a non-zero requestTimeout (ERR_OUT_OF_RANGE).
  if (requestTimeoutMs !== 0 && requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError(
      `REQUEST_TIMEOUT_MS=${requestTimeoutMs} must be 0 or at least HEADERS_TIMEOUT_MS=${headersTimeoutMs}`,
    );
  }
  const shutdownDrainMs = integer(env, 'SHUTDOWN_DRAIN_MS', 5000, 0, 600_000);
  const shutdownTimeoutMs = integer(env, 'SHUTDOWN_TIMEOUT', 25_000, 1, 3_600_000);
  if (shutdownTimeoutMs <= shutdownDrainMs) {
    throw new ConfigError(`SHUTDOWN_TIMEOUT=${shutdownTimeoutMs} must be above SHUTDOWN_DRAIN_MS=${shutdownDrainMs}`);
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
    webConcurrency: integer(env, 'WEB_CONCURRENCY', 1, 1, 64),
    shutdownDrainMs,
    shutdownTimeoutMs,
    keepAliveTimeoutMs,
    headersTimeoutMs,
    requestTimeoutMs,
    corsOrigins: Object.freeze(origins(env, 'CORS_ORIGINS')),
    listStreamTimeoutMs: integer(env, 'LIST_STREAM_TIMEOUT_MS', 60_000, 100, 3_600_000),
  });
}
