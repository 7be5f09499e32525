/**
 * Configuration: read once, validated, a bad value stops the built server with one line naming the
 * variable; the README table and `.env.example` are what `npm run config:docs` writes from the
 * specification in `src/config.ts`, and that specification names every variable the code reads.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import util from 'node:util';
import { loadConfig, VARIABLES } from '../../src/config.js';
import {
  configurationTable,
  ENV_EXAMPLE_PATH,
  envExample,
  README_PATH,
  readmeWithTable,
} from '../../scripts/config-docs.js';
import { runBuilt } from '../helpers/process.js';

/** Runs `node dist/server.js` with `env` over an otherwise empty environment; its exit code and output. */
async function runServer(t: TestContext, env: Record<string, string>) {
  const run = runBuilt(
    t,
    'server.js',
    { HOST: '127.0.0.1', PORT: '0', LOG_DIR: '', DATABASE_URL: 'sqlite://:memory:', ...env },
    { cleanEnv: true },
  );
  return { code: await run.closed, stdout: run.stdout(), stderr: run.stderr() };
}

/** Names read by `loadConfig`, recorded through a Proxy over several environments (all branches). */
function namesRead(): Set<string> {
  const read = new Set<string>();
  for (const env of [{}, { DB_HOST: 'db' }, { DATABASE_URL: 'postgres://u@h/d' }]) {
    const proxy = new Proxy(env as Record<string, string | undefined>, {
      get(target, name) {
        if (typeof name === 'string') read.add(name);
        return target[name as string];
      },
    });
    loadConfig(proxy);
  }
  return read;
}

/** `.env.example` with every `# NAME=value` line uncommented, read by Node's own `.env` parser. */
function envExampleUncommented(): Record<string, string> {
  const text = fs.readFileSync(ENV_EXAMPLE_PATH, 'utf8').replace(/^# ([A-Z_]+=)/gm, '$1');
  return util.parseEnv(text) as Record<string, string>;
}

describe('configuration', () => {
  const declared = Object.keys(VARIABLES).sort();

  it('declares exactly the variables src/config.ts reads', () => {
    assert.deepEqual([...namesRead()].sort(), declared);
  });

  it('README.md holds the table npm run config:docs writes from the specification', () => {
    const readme = fs.readFileSync(README_PATH, 'utf8');
    assert.equal(readme, readmeWithTable(readme), 'README.md is out of date: run npm run config:docs');
    for (const name of declared) assert.ok(configurationTable().includes(`| \`${name}\` |`), name);
  });

  it('.env.example is what npm run config:docs writes from the specification', () => {
    assert.equal(
      fs.readFileSync(ENV_EXAMPLE_PATH, 'utf8'),
      envExample(),
      '.env.example is out of date: run npm run config:docs',
    );
  });

  it('.env.example, every line uncommented, lists every variable and configures the defaults', () => {
    const example = envExampleUncommented();
    assert.deepEqual(Object.keys(example).sort(), declared);
    assert.deepEqual(loadConfig(example), loadConfig({}));
  });

  it('reads the runtime variables', () => {
    const config = loadConfig({
      WEB_CONCURRENCY: '4',
      SHUTDOWN_DRAIN_MS: '0',
      SHUTDOWN_TIMEOUT: '9000',
      KEEP_ALIVE_TIMEOUT_MS: '65000',
      CORS_ORIGINS: 'https://a.example, http://localhost:5173',
    });
    assert.equal(config.webConcurrency, 4);
    assert.equal(config.shutdownDrainMs, 0);
    assert.equal(config.shutdownTimeoutMs, 9000);
    assert.equal(config.keepAliveTimeoutMs, 65_000);
    assert.equal(config.headersTimeoutMs, 66_000);
    assert.deepEqual(config.corsOrigins, ['https://a.example', 'http://localhost:5173']);
    assert.deepEqual(loadConfig({}).corsOrigins, []);
    assert.ok(Object.isFrozen(config));
  });

  const BAD: [Record<string, string>, string][] = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ WEB_CONCURRENCY: '-1' }, 'WEB_CONCURRENCY'],
    [{ WEB_CONCURRENCY: '0' }, 'WEB_CONCURRENCY'],
    [{ SHUTDOWN_TIMEOUT: '1.5' }, 'SHUTDOWN_TIMEOUT'],
    [{ SHUTDOWN_DRAIN_MS: '30000', SHUTDOWN_TIMEOUT: '20000' }, 'SHUTDOWN_TIMEOUT'],
    [{ KEEP_ALIVE_TIMEOUT_MS: 'forever' }, 'KEEP_ALIVE_TIMEOUT_MS'],
    [{ HEADERS_TIMEOUT_MS: '60000' }, 'HEADERS_TIMEOUT_MS'],
    [{ REQUEST_TIMEOUT_MS: '1000' }, 'REQUEST_TIMEOUT_MS'],
    [{ CORS_ORIGINS: 'https://a.example/' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: 'a.example' }, 'CORS_ORIGINS'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DB_POOL_MAX: '0', DATABASE_URL: 'postgres://u@h/d' }, 'DB_POOL_MAX'],
  ];

  for (const [env, name] of BAD) {
    it(`refuses ${JSON.stringify(env)} naming ${name}`, () => {
      assert.throws(
        () => loadConfig(env),
        (error: Error) => error.name === 'ConfigError' && error.message.startsWith(`${name}`),
      );
    });
  }

  it('the built server stops with exit code 1 and one stderr line naming the variable', async (t) => {
    // Independent processes: started together, checked one by one.
    const cases = [
      [{ PORT: 'abc' }, 'PORT'],
      [{ WEB_CONCURRENCY: '-1' }, 'WEB_CONCURRENCY'],
      [{ CORS_ORIGINS: 'not an origin' }, 'CORS_ORIGINS'],
      // pg would fail at the first query with a stack ("no PostgreSQL user name specified").
      [{ DATABASE_URL: 'postgres://' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'postgres://127.0.0.1:1/x' }, 'DATABASE_URL'],
      // Fastify's listen would fail after the migrations with a resolver error.
      [{ HOST: 'not-a-host' }, 'HOST'],
      [{ HOST: 'not a host' }, 'HOST'],
      // Checked although the database is SQLite.
      [{ DB_POOL_MAX: 'abc' }, 'DB_POOL_MAX'],
    ] as const;
    const runs = await Promise.all(cases.map(([env]) => runServer(t, env)));
    for (const [i, [env, name]] of cases.entries()) {
      const { code, stdout, stderr } = runs[i]!;
      assert.equal(code, 1, JSON.stringify(env));
      const lines = stderr.split('\n').filter((line) => line !== '');
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, new RegExp(`^itemstore: invalid configuration: ${name}\\b`));
      assert.equal(stdout, '', 'nothing started');
    }
  });
});
