/**
 * Configuration: read once, validated, a bad value stops the built server with one
 * line naming the variable; `.env.example`, the README table and what `src/config.ts` reads list the
 * same variables.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ENVIRONMENT_VARIABLES, loadConfig } from '../../src/config.js';
import { PROJECT_ROOT } from '../helpers/server.js';

/** Runs `node dist/server.js` with `env` and returns its exit code and output. */
function runServer(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/server.js')], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_DIR: '',
        DATABASE_URL: 'sqlite://:memory:',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
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

function envExample(): Record<string, string> {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8');
  const entries = text
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries);
}

function readmeTable(): Map<string, string> {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Configuration'),
    readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
  );
  const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| ([^|]*) \|/gm)];
  return new Map(rows.map((r) => [r[1]!, r[2]!.trim()]));
}

describe('configuration', () => {
  const declared = ENVIRONMENT_VARIABLES.map((v) => v.name).sort();

  it('declares exactly the variables src/config.ts reads', () => {
    assert.deepEqual([...namesRead()].sort(), declared);
  });

  it('.env.example lists every variable with its real default', () => {
    const example = envExample();
    assert.deepEqual(Object.keys(example).sort(), declared);
    for (const variable of ENVIRONMENT_VARIABLES) assert.equal(example[variable.name], variable.default, variable.name);
    // Its values, taken literally, configure the service exactly as the defaults do.
    assert.deepEqual(loadConfig(example), loadConfig({}));
  });

  it('the README table lists the same variables and defaults', () => {
    const table = readmeTable();
    assert.deepEqual([...table.keys()].sort(), declared);
    for (const variable of ENVIRONMENT_VARIABLES) {
      if (variable.default) assert.equal(table.get(variable.name), `\`${variable.default}\``, variable.name);
      else assert.match(table.get(variable.name) ?? '', /^(unset|empty)$/, variable.name);
    }
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

  it('the built server stops with exit code 1 and one stderr line naming the variable', async () => {
    for (const [env, name] of [
      [{ PORT: 'abc' }, 'PORT'],
      [{ WEB_CONCURRENCY: '-1' }, 'WEB_CONCURRENCY'],
      [{ CORS_ORIGINS: 'not an origin' }, 'CORS_ORIGINS'],
    ] as const) {
      const { code, stdout, stderr } = await runServer(env);
      assert.equal(code, 1, JSON.stringify(env));
      const lines = stderr.split('\n').filter((line) => line !== '');
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, new RegExp(`^itemstore: invalid configuration: ${name}\\b`));
      assert.equal(stdout, '', 'nothing started');
    }
  });
});
