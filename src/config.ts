/**
 * Service configuration, read once from the environment at start-up.
 *
 * {@link VARIABLES} is the one specification of every variable the service reads: its one-line
 * meaning, what it stands for when unset, and how its text is read. {@link Config} is derived from
 * it, and `npm run config:docs` writes the README table and `.env.example` from it (a test fails
 * when either disagrees). A default is written there and nowhere else.
 *
 * Rules that hold for every variable:
 * - An empty (or blank) variable counts as unset, except `LOG_DIR`, where empty turns the log file off.
 * - Every variable is read and checked, whichever database is selected: `DB_POOL_MAX=abc` stops an
 *   SQLite service too.
 * - A bad value throws {@link ConfigError}, whose message is one line starting with the variable's
 *   name; the process entry points print that line and exit 1.
 *
 * Why a table of our own rather than `env-schema`/`@fastify/env` with a TypeBox schema: what needs
 * checking here is mostly not a JSON-Schema shape. The database URL follows dj-database-url's
 * conventions, two timeout defaults follow other variables (Node refuses a headers timeout above the
 * request timeout), three rules relate two variables, and empty must mean unset, where Ajv's type
 * coercion reports `""` as "must be number". Each of those would be code after the schema check
 * anyway, and Ajv's messages (`/PORT must be <= 65535`) neither quote the value nor fit in one line
 * per variable. A plain table keeps the rule, the default and the message side by side.
 *
 * @module
 */
import net from 'node:net';
import path from 'node:path';

/** A configuration value that cannot be used; `message` is one line starting with the variable's name. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** Reads a set, non-empty variable's text. @throws {ConfigError} naming `name`. */
type Parser<T> = (raw: string, name: string) => T;

/** One environment variable of {@link VARIABLES}. */
export interface Variable<T> {
  /** Its meaning, one line of Markdown, as the README table and `.env.example` show it. */
  readonly doc: string;
  /**
   * What an unset variable stands for: a text, read exactly like a set value, or, when the value
   * follows other variables, `{ rule }` in Markdown words, and {@link Variable.read} gives `undefined`.
   */
  readonly default: string | { readonly rule: string };
  /** The value for the variable's text (`undefined` when unset). @throws {ConfigError} */
  readonly read: (raw: string | undefined, name: string) => T;
}

const isUnset = (raw: string | undefined): raw is undefined => raw === undefined || raw.trim() === '';

/** A variable whose default is a text, parsed like any value. */
function withDefault<T>(defaultText: string, parse: Parser<T>, doc: string): Variable<T> {
  return { doc, default: defaultText, read: (raw, name) => parse(isUnset(raw) ? defaultText : raw, name) };
}

/** A variable whose default follows other variables, as `rule` says; unset reads as `undefined`. */
function withRule<T>(rule: string, parse: Parser<T>, doc: string): Variable<T | undefined> {
  return { doc, default: { rule }, read: (raw, name) => (isUnset(raw) ? undefined : parse(raw, name)) };
}

const quote = (name: string, raw: string) => `${name}=${JSON.stringify(raw)}`;

function integer(min: number, max: number): Parser<number> {
  return (raw, name) => {
    const value = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(`${quote(name, raw)} is not an integer from ${min} to ${max}`);
    }
    return value;
  };
}

const boolean: Parser<boolean> = (raw, name) => {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${quote(name, raw)} is not a boolean (true/false)`);
};

/** The text as given: passwords and names may carry blanks. */
const text: Parser<string> = (raw) => raw;

function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return (raw, name) => {
    const value = raw.trim().toLowerCase();
    if (!(values as readonly string[]).includes(value)) {
      throw new ConfigError(`${quote(name, raw)} is not one of ${values.join(', ')}`);
    }
    return value as T;
  };
}

/** A DNS name as RFC 1123 allows it: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}\.?$)[a-z\d]([a-z\d-]{0,61}[a-z\d])?(\.[a-z\d]([a-z\d-]{0,61}[a-z\d])?)*\.?$/i;

/**
 * An IP address (no brackets) or a host name. Whether it resolves to an address of this machine
 * needs I/O: {@link checkHost} tells, before the service starts.
 */
const host: Parser<string> = (raw, name) => {
  const value = raw.trim();
  if (net.isIP(value) === 0 && !HOST_NAME.test(value)) {
    throw new ConfigError(`${quote(name, raw)} is not an IP address (0.0.0.0, ::, 127.0.0.1) or a host name`);
  }
  return value;
};

/**
 * Reads `CORS_ORIGINS`: comma-separated origins as browsers send them in `Origin`
 * (`scheme://host[:port]`, no path, no trailing slash), or `*` for any.
 */
const origins: Parser<readonly string[]> = (raw, name) => {
  const list = raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of list) {
    if (origin === '*') continue;
    const parsed = URL.canParse(origin) ? new URL(origin) : undefined;
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(
        `${name} entry ${JSON.stringify(origin)} is not an origin like https://app.example.com (no path, no trailing slash)`,
      );
    }
  }
  return Object.freeze(list.includes('*') ? ['*'] : list);
};

/** Where the items live, as `DATABASE_URL` or `DB_HOST` names it. */
type DatabaseLocation = { client: 'sqlite'; filename: string } | { client: 'postgres'; connectionString: string };

const POSTGRES_URL_FORM = 'postgres://user:password@host:5432/database';

/**
 * Reads a database URL in the dj-database-url convention the replaced service used:
 * `sqlite:///relative/path.sqlite3`, `sqlite:////absolute/path.sqlite3`, `sqlite://:memory:`,
 * `postgres://…` or `postgresql://…`. A PostgreSQL URL must name a user and a host (in the URL or
 * as libpq's `?user=`/`?host=` parameters): pg would otherwise fall back on the process's own
 * environment and fail only at the first query. Its text is never quoted in an error: it may hold a password.
 */
const databaseUrl: Parser<DatabaseLocation> = (raw, name) => {
  const url = raw.trim();
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (!parsed) throw new ConfigError(`${name} is not a valid URL (${POSTGRES_URL_FORM})`);
    if (!parsed.hostname && !parsed.searchParams.get('host')) {
      throw new ConfigError(`${name} names no host (${POSTGRES_URL_FORM})`);
    }
    if (!parsed.username && !parsed.searchParams.get('user')) {
      throw new ConfigError(`${name} names no user (${POSTGRES_URL_FORM})`);
    }
    return { client: 'postgres', connectionString: url };
  }
  const sqlite = /^sqlite:\/\/(.*)$/i.exec(url);
  if (sqlite) {
    const rest = sqlite[1] ?? '';
    if (rest === ':memory:' || rest === '/:memory:') return { client: 'sqlite', filename: ':memory:' };
    if (!rest.startsWith('/') || rest === '/') {
      throw new ConfigError(`${quote(name, url)}: use sqlite:///relative/path or sqlite:////absolute/path`);
    }
    // sqlite:///a.db → "a.db" (relative); sqlite:////tmp/a.db → "/tmp/a.db" (absolute)
    return { client: 'sqlite', filename: path.resolve(decodeURIComponent(rest.slice(1))) };
  }
  throw new ConfigError(`${quote(name, url)} must start with sqlite://, postgres:// or postgresql://`);
};

/** The database without `DATABASE_URL` and `DB_HOST`: a file under the working directory. */
const DEFAULT_DATABASE_URL = 'sqlite:///data/db.sqlite3';

/** Headers must time out after keep-alive, or the ALB reuses a socket Node already closed (502). */
const HEADERS_AFTER_KEEP_ALIVE_MS = 1000;

/** The request timeout unless the headers timeout is longer (Node refuses a shorter one). */
const REQUEST_TIMEOUT_MS = 120_000;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every environment variable the service reads, in the order the README table and `.env.example`
 * list them. Sources of the defaults: `PORT`, `WEB_CONCURRENCY`, `DATABASE_URL` and the `DB_*`
 * names are the replaced gunicorn/Django service's; the timeouts follow the ALB's 60 s idle timeout
 * and ECS's 30 s `stopTimeout` (AWS documentation).
 */
export const VARIABLES = {
  PORT: withDefault('8000', integer(0, 65535), 'TCP port'),
  HOST: withDefault(
    '0.0.0.0',
    host,
    'interface to bind: an IP address (`0.0.0.0` all IPv4, `::` all) or a name that resolves to an address of this machine',
  ),
  DATABASE_URL: withRule(
    `\`${DEFAULT_DATABASE_URL}\`, or PostgreSQL at \`DB_HOST\` when that is set`,
    databaseUrl,
    '`sqlite:///relative.sqlite3`, `sqlite:////absolute.sqlite3`, or `postgres://user:pass@host:5432/db` naming a user and a host (also `postgresql://`; libpq URL parameters pass through to pg: `?sslmode=verify-full` for TLS with the server checked against `NODE_EXTRA_CA_CERTS`, `?sslmode=no-verify` for TLS without that check; pg reads `require` as `verify-full` and warns)',
  ),
  DB_HOST: withDefault(
    '',
    (raw, name) => (raw.trim() === '' ? '' : host(raw, name)),
    "without `DATABASE_URL`, a set `DB_HOST` selects PostgreSQL at that host, with the variables below (the replaced service's deployment variables)",
  ),
  DB_PORT: withDefault('5432', integer(1, 65535), 'PostgreSQL port (with `DB_HOST`)'),
  DB_NAME: withDefault('postgres', text, 'database name (with `DB_HOST`)'),
  DB_USER: withDefault('postgres', text, 'user (with `DB_HOST`)'),
  DB_PASSWORD: withDefault('', text, 'password (with `DB_HOST`)'),
  DB_POOL_MAX: withDefault(
    '10',
    integer(1, 1000),
    'PostgreSQL connections one process opens at most; more concurrent queries wait for a free one',
  ),
  DB_CONNECTION_TIMEOUT_MS: withDefault(
    '2000',
    integer(1, 600_000),
    'how long a query waits for a connection (pool full, or server unreachable) before the request gets 503',
  ),
  DB_STATEMENT_TIMEOUT_MS: withDefault(
    '5000',
    integer(1, 3_600_000),
    "PostgreSQL `statement_timeout` of the service's role in its database (`ALTER ROLE … IN DATABASE … SET`, written by the migration step; see PostgreSQL below); a slower statement (or one waiting on a lock) is cancelled and the request gets 503. The client also gives up on a query this long + 1 s after it was sent, whatever a pooler in between does",
  ),
  MIGRATION_DATABASE_URL: withRule(
    '`DATABASE_URL`',
    databaseUrl,
    'the database the migrations run on (`npm run migrate`, and start-up unless `MIGRATE_ON_START=false`): the same database as `DATABASE_URL`, reached directly, not through RDS Proxy or PgBouncer; same forms as `DATABASE_URL`',
  ),
  MIGRATE_ON_START: withDefault(
    'true',
    boolean,
    'apply pending migrations at start-up; `false` where the deployment runs `npm run migrate` (the migration task) first',
  ),
  MIGRATION_LOCK_TIMEOUT_MS: withDefault(
    '60000',
    integer(1, 3_600_000),
    'longest wait (ms) of a migration for a lock: the migration lock another migrator holds, or a table lock the migration needs; past it the migration stops with one line saying so and changes nothing',
  ),
  LOG_LEVEL: withDefault(
    'info',
    oneOf(LOG_LEVELS),
    '`fatal`, `error`, `warn`, `info`, `debug` (adds bodies), `trace`, `silent`',
  ),
  LOG_DIR: {
    doc: 'folder of `api_server.log`, created at start; set and empty turns the file off (the one variable where empty is not unset); a folder that cannot be created or written leaves stdout only',
    default: 'logs',
    read: (raw) => (raw === undefined ? 'logs' : raw.trim() === '' ? '' : raw),
  } satisfies Variable<string>,
  LOG_BODY_MAX: withDefault('2048', integer(0, 1_048_576), 'at `debug`, bodies are cut to this many characters'),
  BODY_LIMIT: withDefault('1048576', integer(1024, 104_857_600), 'largest request body in bytes; larger gets 413'),
  TRUST_PROXY: withDefault(
    'true',
    boolean,
    'trust `X-Forwarded-Proto` and `X-Forwarded-For` (the service runs behind an ALB); the API root takes its host from `Host` alone',
  ),
  WEB_CONCURRENCY: withDefault(
    '1',
    integer(1, 64),
    "worker processes (node:cluster, gunicorn's `--workers`); 1 runs a single process",
  ),
  SHUTDOWN_DRAIN_MS: withDefault(
    '5000',
    integer(0, 600_000),
    'after SIGTERM, keep serving this long with `/readyz` at 503 before closing, so the ALB stops routing here first (SIGINT skips it)',
  ),
  SHUTDOWN_TIMEOUT: withDefault(
    '25000',
    integer(1, 3_600_000),
    'ms from the signal until a hung shutdown is forced (exit 1); keep below ECS `stopTimeout` (30 s)',
  ),
  KEEP_ALIVE_TIMEOUT_MS: withDefault(
    '72000',
    integer(1, 3_600_000),
    'idle keep-alive socket lifetime; keep above the ALB idle timeout (60 s)',
  ),
  HEADERS_TIMEOUT_MS: withRule(
    `\`KEEP_ALIVE_TIMEOUT_MS\` + ${HEADERS_AFTER_KEEP_ALIVE_MS}`,
    integer(1, 3_601_000),
    'longest wait for complete request headers; must be above `KEEP_ALIVE_TIMEOUT_MS`',
  ),
  REQUEST_TIMEOUT_MS: withRule(
    `\`${REQUEST_TIMEOUT_MS}\`, or \`HEADERS_TIMEOUT_MS\` when that is larger`,
    integer(0, 3_601_000),
    'longest wait for a whole request (headers and body) from the client; 0 = no limit, otherwise at least `HEADERS_TIMEOUT_MS`',
  ),
  CORS_ORIGINS: withDefault(
    '',
    origins,
    'comma-separated browser origins allowed by CORS (`https://app.example.com`), or `*`',
  ),
  IDEMPOTENCY_KEY_TTL_MS: withDefault(
    '86400000',
    integer(1, 31_536_000_000),
    'how long (ms, 24 h) an `Idempotency-Key` on create and its stored answer are kept; a retry after that creates again, and later keyed creates purge the expired keys',
  ),
  LIST_STREAM_TIMEOUT_MS: withDefault(
    '60000',
    integer(100, 3_600_000),
    'longest (ms) a list longer than one batch (1,000 items) may hold its database connection while it is streamed; a client reading slower has its response cut (the body ends without the chunked terminator), so a stalled client cannot keep a pooled connection; on PostgreSQL such lists hold at most half of `DB_POOL_MAX` at once, and the next gets 503 with `Retry-After: 1`',
  ),
} as const;

/** Each variable's value, by name, before the rules that relate several of them. */
type Settings = { [Name in keyof typeof VARIABLES]: ReturnType<(typeof VARIABLES)[Name]['read']> };

function readSettings(env: Env): Settings {
  const entries = Object.entries(VARIABLES).map(([name, variable]) => [
    name,
    (variable as Variable<unknown>).read(env[name], name),
  ]);
  return Object.fromEntries(entries) as Settings;
}

/**
 * Where the migrations run: `MIGRATION_DATABASE_URL`, or the service's own database. The timeouts are
 * the service's: its role's statement timeout is written from there (db/migrate.ts).
 */
function migrationDatabaseConfig(s: Settings, database: DatabaseConfig): DatabaseConfig {
  const location = s.MIGRATION_DATABASE_URL;
  if (!location) return database;
  if (location.client !== database.client) {
    throw new ConfigError(
      `MIGRATION_DATABASE_URL is ${location.client} but the service's database is ${database.client}: both name the same database`,
    );
  }
  if (location.client === 'postgres' && database.client === 'postgres') {
    return Object.freeze({ ...database, connectionString: location.connectionString });
  }
  return Object.freeze(location as DatabaseConfig);
}

/** Where the items live: an embedded SQLite file, or a PostgreSQL server (see {@link VARIABLES} for each field's variable). */
export type DatabaseConfig =
  | { readonly client: 'sqlite'; readonly filename: string }
  | {
      readonly client: 'postgres';
      /** libpq-style connection string. */
      readonly connectionString: string;
      /** `pg.Pool` `max`: `DB_POOL_MAX`. */
      readonly poolMax: number;
      /** Milliseconds: `DB_CONNECTION_TIMEOUT_MS`. */
      readonly connectionTimeoutMs: number;
      /** Milliseconds: `DB_STATEMENT_TIMEOUT_MS`. */
      readonly statementTimeoutMs: number;
    };

function databaseConfig(s: Settings): DatabaseConfig {
  let location: DatabaseLocation;
  if (s.DATABASE_URL) location = s.DATABASE_URL;
  else if (s.DB_HOST) {
    const u = new URL('postgres://localhost');
    // An IPv6 address goes in brackets (RFC 3986 §3.2.2); the URL API ignores a host it cannot take.
    u.hostname = net.isIPv6(s.DB_HOST) ? `[${s.DB_HOST}]` : s.DB_HOST;
    u.port = String(s.DB_PORT);
    u.username = encodeURIComponent(s.DB_USER);
    u.password = encodeURIComponent(s.DB_PASSWORD);
    u.pathname = `/${encodeURIComponent(s.DB_NAME)}`;
    location = { client: 'postgres', connectionString: u.toString() };
  } else location = databaseUrl(DEFAULT_DATABASE_URL, 'DATABASE_URL');
  if (location.client === 'sqlite') return Object.freeze(location);
  return Object.freeze({
    ...location,
    poolMax: s.DB_POOL_MAX,
    connectionTimeoutMs: s.DB_CONNECTION_TIMEOUT_MS,
    statementTimeoutMs: s.DB_STATEMENT_TIMEOUT_MS,
  });
}

/**
 * Builds the frozen configuration from an environment (default `process.env`). Times are in
 * milliseconds, sizes in bytes (`logBodyMax` in UTF-16 code units); each field's variable and
 * meaning are in {@link VARIABLES}.
 *
 * @throws {ConfigError} naming the first variable whose value cannot be used.
 */
export function loadConfig(env: Env = process.env) {
  const s = readSettings(env);
  const keepAliveTimeoutMs = s.KEEP_ALIVE_TIMEOUT_MS;
  const headersTimeoutMs = s.HEADERS_TIMEOUT_MS ?? keepAliveTimeoutMs + HEADERS_AFTER_KEEP_ALIVE_MS;
  if (headersTimeoutMs <= keepAliveTimeoutMs) {
    throw new ConfigError(
      `HEADERS_TIMEOUT_MS=${headersTimeoutMs} must be above KEEP_ALIVE_TIMEOUT_MS=${keepAliveTimeoutMs}`,
    );
  }
  const requestTimeoutMs = s.REQUEST_TIMEOUT_MS ?? Math.max(REQUEST_TIMEOUT_MS, headersTimeoutMs);
  // Node's http.createServer refuses a headersTimeout above a non-zero requestTimeout (ERR_OUT_OF_RANGE).
  if (requestTimeoutMs !== 0 && requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError(
      `REQUEST_TIMEOUT_MS=${requestTimeoutMs} must be 0 or at least HEADERS_TIMEOUT_MS=${headersTimeoutMs}`,
    );
  }
  if (s.SHUTDOWN_TIMEOUT <= s.SHUTDOWN_DRAIN_MS) {
    throw new ConfigError(
      `SHUTDOWN_TIMEOUT=${s.SHUTDOWN_TIMEOUT} must be above SHUTDOWN_DRAIN_MS=${s.SHUTDOWN_DRAIN_MS}`,
    );
  }
  const database = databaseConfig(s);
  return Object.freeze({
    port: s.PORT,
    host: s.HOST,
    database,
    /** Where `npm run migrate` and start-up migrate: `MIGRATION_DATABASE_URL`, else {@link database}. */
    migrationDatabase: migrationDatabaseConfig(s, database),
    migrateOnStart: s.MIGRATE_ON_START,
    migrationLockTimeoutMs: s.MIGRATION_LOCK_TIMEOUT_MS,
    logLevel: s.LOG_LEVEL,
    logDir: s.LOG_DIR,
    logBodyMax: s.LOG_BODY_MAX,
    bodyLimit: s.BODY_LIMIT,
    trustProxy: s.TRUST_PROXY,
    webConcurrency: s.WEB_CONCURRENCY,
    shutdownDrainMs: s.SHUTDOWN_DRAIN_MS,
    shutdownTimeoutMs: s.SHUTDOWN_TIMEOUT,
    keepAliveTimeoutMs,
    headersTimeoutMs,
    requestTimeoutMs,
    corsOrigins: s.CORS_ORIGINS,
    idempotencyKeyTtlMs: s.IDEMPOTENCY_KEY_TTL_MS,
    listStreamTimeoutMs: s.LIST_STREAM_TIMEOUT_MS,
  });
}

/** The service configuration, as {@link loadConfig} builds it from {@link VARIABLES}. */
export type Config = ReturnType<typeof loadConfig>;

/**
 * The database part of {@link loadConfig}, for tools that need no more than that.
 *
 * @throws {ConfigError} naming the first variable whose value cannot be used.
 */
export function readDatabaseConfig(env: Env): DatabaseConfig {
  return databaseConfig(readSettings(env));
}

/**
 * Reads `file` (default `.env` in the working directory) into `process.env` when it exists, with
 * Node's own parser (`process.loadEnvFile`, the `--env-file` format). A variable already in the
 * environment keeps its value, even an empty one: the environment takes precedence.
 *
 * @returns whether the file was there.
 * @throws {ConfigError} when it exists but cannot be read.
 */
export function loadEnvFile(file = '.env'): boolean {
  try {
    process.loadEnvFile(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new ConfigError(`${file} cannot be read: ${(error as Error).message}`);
  }
}

/**
 * Binds `host` on a port the system picks, then closes it, so a name that does not resolve or an
 * address that is not this machine's is reported as a configuration error before anything starts,
 * rather than as a resolver error after the migrations.
 *
 * @throws {ConfigError} naming `HOST`, with the system's reason (ENOTFOUND, EADDRNOTAVAIL…).
 */
export function checkHost(host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(`${quote('HOST', host)} cannot be bound on this machine (${error.code ?? error.message})`),
      ),
    );
    probe.listen({ host, port: 0 }, () => probe.close(() => resolve()));
  });
}
