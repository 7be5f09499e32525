/**
 * `src/config.ts`: the dj-database-url forms the replaced service accepted, the `DB_*` variables
 * of its deployments, the defaults, and a {@link ConfigError} naming the variable for bad values.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkHost, ConfigError, loadConfig, readDatabaseConfig, VARIABLES } from '../../src/config.js';

/** Asserts `fn` throws a ConfigError whose message names `variable`. */
function assertConfigError(fn: () => unknown, variable: string) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.match(error.message, new RegExp(`\\b${variable}\\b`));
    return true;
  });
}

describe('readDatabaseConfig', () => {
  it('defaults to SQLite at data/db.sqlite3 under the working directory', () => {
    assert.deepEqual(readDatabaseConfig({}), { client: 'sqlite', filename: path.resolve('data/db.sqlite3') });
  });

  it('sqlite:///relative/path is relative to the working directory', () => {
    assert.deepEqual(readDatabaseConfig({ DATABASE_URL: 'sqlite:///relative/path.sqlite3' }), {
      client: 'sqlite',
      filename: path.join(process.cwd(), 'relative/path.sqlite3'),
    });
  });

  it('sqlite:////absolute/path is absolute', () => {
    assert.deepEqual(readDatabaseConfig({ DATABASE_URL: 'sqlite:////tmp/x/db.sqlite3' }), {
      client: 'sqlite',
      filename: '/tmp/x/db.sqlite3',
    });
  });

  it('percent-escapes in an SQLite path are decoded; surrounding blanks are ignored', () => {
    assert.deepEqual(readDatabaseConfig({ DATABASE_URL: '  sqlite:////tmp/my%20dir/db.sqlite3 ' }), {
      client: 'sqlite',
      filename: '/tmp/my dir/db.sqlite3',
    });
  });

  it('sqlite://:memory: is an in-memory database', () => {
    assert.deepEqual(readDatabaseConfig({ DATABASE_URL: 'sqlite://:memory:' }), {
      client: 'sqlite',
      filename: ':memory:',
    });
  });

  it('postgres:// and postgresql:// select PostgreSQL with the URL as given and pool defaults', () => {
    for (const url of [
      'postgres://u:p@db.example:5433/items',
      'postgresql://u:p@db.example:5433/items',
      'POSTGRES://u@h/d',
    ]) {
      const config = readDatabaseConfig({ DATABASE_URL: url });
      assert.equal(config.client, 'postgres', url);
      assert.ok(config.client === 'postgres');
      assert.equal(config.connectionString, url);
      assert.ok(Number.isInteger(config.poolMax) && config.poolMax >= 1);
      assert.ok(config.connectionTimeoutMs > 0);
      assert.ok(config.statementTimeoutMs > 0);
    }
  });

  it('DB_HOST with DB_NAME, DB_USER, DB_PASSWORD, DB_PORT selects PostgreSQL, escaping credentials', () => {
    const config = readDatabaseConfig({
      DB_HOST: 'rds.example',
      DB_PORT: '6543',
      DB_NAME: 'items',
      DB_USER: 'app',
      DB_PASSWORD: 'p@ss/w:rd',
    });
    assert.ok(config.client === 'postgres');
    const url = new URL(config.connectionString);
    assert.equal(url.protocol, 'postgres:');
    assert.equal(url.hostname, 'rds.example');
    assert.equal(url.port, '6543');
    assert.equal(url.pathname, '/items');
    assert.equal(decodeURIComponent(url.username), 'app');
    assert.equal(decodeURIComponent(url.password), 'p@ss/w:rd');
  });

  it('DB_HOST takes an IPv4 or IPv6 address (bracketed in the URL) and refuses what is not a host', () => {
    for (const [value, hostname] of [
      ['10.0.0.5', '10.0.0.5'],
      ['fd00::5', '[fd00::5]'],
      [' db.internal ', 'db.internal'],
    ]) {
      const config = readDatabaseConfig({ DB_HOST: value!, DB_PORT: '6432' });
      assert.ok(config.client === 'postgres');
      assert.equal(new URL(config.connectionString).hostname, hostname);
      assert.equal(new URL(config.connectionString).port, '6432');
    }
    // Not hosts: given to the URL API, each would leave its placeholder host (localhost) in place.
    for (const value of ['db.internal:6432', 'my-db host', 'postgres://db', '[fd00::5]']) {
      assertConfigError(() => readDatabaseConfig({ DB_HOST: value }), 'DB_HOST');
    }
  });

  it('DATABASE_URL wins over DB_HOST', () => {
    assert.equal(readDatabaseConfig({ DATABASE_URL: 'sqlite:///a.sqlite3', DB_HOST: 'rds.example' }).client, 'sqlite');
  });

  it('refuses other schemes and sqlite URLs without a path, naming DATABASE_URL', () => {
    for (const url of [
      'mysql://u@h/d',
      'db.sqlite3',
      'sqlite://relative.sqlite3',
      'sqlite://',
      'sqlite:///',
      'http://x',
      'postgres://[bad',
      'postgres://',
      'postgresql://',
      'postgres://h/d',
      'postgres://u@/d',
      'postgres://:secret@/d',
    ]) {
      assertConfigError(() => readDatabaseConfig({ DATABASE_URL: url }), 'DATABASE_URL');
    }
  });

  it('refuses a bad DB_PORT or pool setting, naming it', () => {
    assertConfigError(() => readDatabaseConfig({ DB_HOST: 'h', DB_PORT: 'abc' }), 'DB_PORT');
    assertConfigError(() => readDatabaseConfig({ DB_HOST: 'h', DB_PORT: '70000' }), 'DB_PORT');
    assertConfigError(() => readDatabaseConfig({ DATABASE_URL: 'postgres://u@h/d', DB_POOL_MAX: '0' }), 'DB_POOL_MAX');
  });
});

describe('loadConfig', () => {
  it('has the documented defaults and is frozen', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.logDir, 'logs');
    assert.equal(config.logBodyMax, 2048);
    assert.equal(config.bodyLimit, 1_048_576);
    assert.equal(config.trustProxy, true);
    assert.deepEqual(config.database, { client: 'sqlite', filename: path.resolve('data/db.sqlite3') });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.database));
  });

  it('reads PORT, HOST, LOG_LEVEL, LOG_DIR, LOG_BODY_MAX, BODY_LIMIT, TRUST_PROXY', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'DEBUG',
      LOG_DIR: '',
      LOG_BODY_MAX: '16',
      BODY_LIMIT: '4096',
      TRUST_PROXY: 'false',
    });
    assert.equal(config.port, 9000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.logDir, '');
    assert.equal(config.logBodyMax, 16);
    assert.equal(config.bodyLimit, 4096);
    assert.equal(config.trustProxy, false);
  });

  it('names the variable of every bad value', () => {
    const bad: [string, string][] = [
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['LOG_LEVEL', 'verbose'],
      ['LOG_BODY_MAX', 'x'],
      ['BODY_LIMIT', '10'],
      ['TRUST_PROXY', 'maybe'],
      ['DATABASE_URL', 'mongodb://h/d'],
    ];
    for (const [name, value] of bad) assertConfigError(() => loadConfig({ [name]: value }), name);
  });
});

describe('PostgreSQL URLs', () => {
  it('name a user and a host, in the URL or as libpq parameters', () => {
    for (const url of ['postgres://u@h/d', 'postgres:///d?host=/var/run/postgresql&user=u', 'postgres://h/d?user=u']) {
      assert.equal(readDatabaseConfig({ DATABASE_URL: url }).client, 'postgres', url);
    }
  });

  it('never quote the URL in the error: it may hold a password', () => {
    for (const url of ['postgres://:secret@/d', 'postgres://h:secret@/d', 'postgres://u:secret@[bad/d']) {
      assert.throws(
        () => loadConfig({ DATABASE_URL: url }),
        (error: Error) => error instanceof ConfigError && !error.message.includes('secret'),
        url,
      );
    }
  });
});

describe('empty variables', () => {
  const withoutLogDir = Object.keys(VARIABLES).filter((name) => name !== 'LOG_DIR');

  for (const blank of ['', '  ']) {
    it(`count as unset: every variable but LOG_DIR set to ${JSON.stringify(blank)} gives the defaults`, () => {
      assert.deepEqual(loadConfig(Object.fromEntries(withoutLogDir.map((name) => [name, blank]))), loadConfig({}));
      for (const name of withoutLogDir) assert.deepEqual(loadConfig({ [name]: blank }), loadConfig({}), name);
    });
  }

  it('LOG_DIR set and empty turns the log file off; unset is logs', () => {
    assert.equal(loadConfig({ LOG_DIR: '' }).logDir, '');
    assert.equal(loadConfig({ LOG_DIR: ' ' }).logDir, '');
    assert.equal(loadConfig({}).logDir, 'logs');
  });

  it('an empty DATABASE_URL leaves DB_HOST to select PostgreSQL', () => {
    assert.equal(loadConfig({ DATABASE_URL: '', DB_HOST: 'rds.example' }).database.client, 'postgres');
  });
});

describe('every variable is checked, whichever database is used', () => {
  for (const [name, value] of [
    ['DB_POOL_MAX', 'abc'],
    ['DB_CONNECTION_TIMEOUT_MS', '-5'],
    ['DB_STATEMENT_TIMEOUT_MS', 'soon'],
    ['DB_PORT', '0'],
  ] as const) {
    it(`${name}=${value} is refused on SQLite`, () => {
      assertConfigError(() => loadConfig({ DATABASE_URL: 'sqlite://:memory:', [name]: value }), name);
      assertConfigError(() => loadConfig({ [name]: value }), name);
    });
  }
});

describe('HOST', () => {
  it('is an IP address or a host name', () => {
    for (const host of ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost', 'api.example.com', 'not-a-host']) {
      assert.equal(loadConfig({ HOST: host }).host, host);
    }
    for (const host of ['not a host', 'http://localhost', '[::1]', '-x', 'a..b', '127.0.0.1:8000']) {
      assertConfigError(() => loadConfig({ HOST: host }), 'HOST');
    }
  });

  it('checkHost accepts what this machine can bind and refuses a name that does not resolve, naming HOST', async () => {
    await checkHost('127.0.0.1');
    await checkHost('localhost');
    await assert.rejects(checkHost('not-a-host.invalid'), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        /^HOST="not-a-host\.invalid" cannot be bound on this machine \((ENOTFOUND|EAI_AGAIN)\)$/,
      );
      return true;
    });
  });
});

describe('the migration step', () => {
  it('MIGRATION_DATABASE_URL defaults to the service database and replaces only its URL', () => {
    const direct = 'postgres://app@db.internal:5432/items';
    const own = loadConfig({ DATABASE_URL: direct });
    assert.equal(own.migrationDatabase, own.database);
    const proxied = loadConfig({
      DATABASE_URL: 'postgres://app@proxy.internal:5432/items',
      MIGRATION_DATABASE_URL: direct,
    });
    assert.deepEqual(proxied.migrationDatabase, { ...proxied.database, connectionString: direct });
  });

  it('MIGRATION_DATABASE_URL must name the same kind of database', () => {
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'postgres://app@db/items', MIGRATION_DATABASE_URL: 'sqlite:///x.sqlite3' }),
      (error: Error) => error instanceof ConfigError && error.message.startsWith('MIGRATION_DATABASE_URL is sqlite'),
    );
  });

  it('MIGRATE_ON_START defaults to true; MIGRATION_LOCK_TIMEOUT_MS to 60 s', () => {
    const config = loadConfig({});
    assert.equal(config.migrateOnStart, true);
    assert.equal(config.migrationLockTimeoutMs, 60_000);
    assert.equal(loadConfig({ MIGRATE_ON_START: 'false' }).migrateOnStart, false);
    assert.throws(() => loadConfig({ MIGRATE_ON_START: 'maybe' }), /^ConfigError: MIGRATE_ON_START=/);
  });
});
