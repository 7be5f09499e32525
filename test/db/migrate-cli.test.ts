/**
 * `npm run migrate` (`node dist/migrate.js` after the build), the analogue of
 * `python manage.py migrate`: applies what is pending and exits 0, then does
 * nothing on a second run. Also checks where `sqlite:///relative` and `sqlite:////absolute` URLs
 * put the file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { scratchDir } from '../helpers/app.js';
import { BACKENDS } from '../helpers/backends.js';
import { freePort, runBuilt, waitUntilHealthy } from '../helpers/process.js';
import { migrations } from '../../src/db/migrate.js';

const MIGRATION_NAMES = Object.keys(migrations);

async function migrate(t: Parameters<typeof runBuilt>[0], env: Record<string, string>, cwd?: string) {
  const run = runBuilt(t, 'migrate.js', env, cwd === undefined ? {} : { cwd });
  const code = await run.closed;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

function sqliteTables(file: string): string[] {
  const db = new SQLite(file, { readonly: true });
  try {
    return (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
    ).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('npm run migrate (dist/migrate.js)', () => {
  for (const backend of BACKENDS) {
    it(`applies every migration on a fresh ${backend.name} database, then has nothing to apply`, async (t) => {
      const env = { DATABASE_URL: await backend.databaseUrl(t) };
      const first = await migrate(t, env);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(
        first.stdout.trim().split('\n'),
        MIGRATION_NAMES.map((name) => `Applying ${name}... OK`),
      );
      const second = await migrate(t, env);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, 'No migrations to apply.\n');
    });
  }

  it('creates the table the service uses (myapi_item) in the SQLite file', async (t) => {
    const file = path.join(scratchDir(t), 'db.sqlite3');
    const result = await migrate(t, { DATABASE_URL: `sqlite:///${file}` });
    assert.equal(result.code, 0, result.stderr);
    const tables = sqliteTables(file);
    assert.ok(tables.includes('myapi_item'), tables.join(', '));
    const db = new SQLite(file, { readonly: true });
    t.after(() => db.close());
    const columns = (db.prepare('PRAGMA table_info(myapi_item)').all() as { name: string }[]).map((c) => c.name);
    assert.deepEqual(columns, ['id', 'product', 'price', 'version']);
  });

  it('sqlite:///relative/path.sqlite3 is relative to the working directory, folders created', async (t) => {
    const cwd = scratchDir(t);
    const result = await migrate(t, { DATABASE_URL: 'sqlite:///nested/dir/db.sqlite3' }, cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(fs.statSync(path.join(cwd, 'nested/dir/db.sqlite3')).isFile());
    assert.ok(sqliteTables(path.join(cwd, 'nested/dir/db.sqlite3')).includes('myapi_item'));
  });

  it('sqlite:////absolute/path.sqlite3 is absolute, whatever the working directory', async (t) => {
    const cwd = scratchDir(t);
    const target = path.join(scratchDir(t), 'abs', 'db.sqlite3');
    assert.ok(path.isAbsolute(target));
    const result = await migrate(t, { DATABASE_URL: `sqlite:///${target}` }, cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(fs.statSync(target).isFile());
    assert.deepEqual(fs.readdirSync(cwd), [], 'nothing written in the working directory');
  });

  it('exits 1 with one line naming the variable on a bad DATABASE_URL', async (t) => {
    const result = await migrate(t, { DATABASE_URL: 'mysql://u@h/d' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^itemstore: invalid configuration: DATABASE_URL=/);
    assert.equal(result.stdout, '');
  });

  it('exits 1 when the database cannot be reached', async (t) => {
    const result = await migrate(t, { DATABASE_URL: 'postgres://root@127.0.0.1:1/x' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /migration failed: .*ECONNREFUSED/);
  });

  it('exits 1 with one line when the SQLite file cannot be created (a folder that is a file)', async (t) => {
    const cwd = scratchDir(t);
    fs.writeFileSync(path.join(cwd, 'file'), '');
    const result = await migrate(t, { DATABASE_URL: 'sqlite:///file/sub/db.sqlite3' }, cwd);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^itemstore: migration failed: ENOTDIR/);
  });
});

describe('MIGRATE_ON_START', () => {
  it('false: the server starts without migrating; npm run migrate then applies everything', async (t) => {
    const dir = scratchDir(t);
    const file = path.join(dir, 'db.sqlite3');
    const port = await freePort();
    const server = runBuilt(t, 'server.js', {
      DATABASE_URL: `sqlite:///${file}`,
      MIGRATE_ON_START: 'false',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_DIR: '',
    });
    await waitUntilHealthy(server, `http://127.0.0.1:${port}`);
    assert.match(server.stdout(), /MIGRATE_ON_START=false/);
    assert.equal(sqliteTables(file).includes('kysely_migration'), false, 'nothing migrated');
    server.child.kill('SIGINT');
    await server.closed;
    const result = await migrate(t, { DATABASE_URL: `sqlite:///${file}` });
    assert.equal(result.stdout.trim().split('\n').length, MIGRATION_NAMES.length);
  });
});
