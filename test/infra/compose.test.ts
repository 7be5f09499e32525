/**
 * compose.yaml, checked from the parsed file (yaml): PostgreSQL with a health check and a named volume, a one-off migration, and the API started only once the
 * database is healthy and migrated. The API's environment is fed to the real `loadConfig`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { DockerfileParser } from 'dockerfile-ast';
import { loadConfig } from '../../src/config.js';

const root = path.resolve(import.meta.dirname, '../..');

interface Service {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
}

const compose = parse(readFileSync(path.join(root, 'compose.yaml'), 'utf8'), { uniqueKeys: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
/** The named service; a missing one fails the test that reads it. */
function service(name: string): Service {
  const found = compose.services[name];
  assert.ok(found, `no ${name} service`);
  return found;
}

/** Compose's `${NAME:-default}` interpolation with an empty environment: every variable takes its default. */
function interpolateDefaults(value: string): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => {
    assert.notEqual(fallback, undefined, `\${${name}} has no default`);
    return fallback!;
  });
}

function buildOf(service: Service): { context: string; dockerfile: string } {
  const build = service.build;
  assert.ok(build, 'no build');
  return typeof build === 'string'
    ? { context: build, dockerfile: 'Dockerfile' }
    : { dockerfile: 'Dockerfile', ...build };
}

describe('compose.yaml', () => {
  it('db runs postgres:<major> with a pg_isready health check and a named volume', () => {
    const db = service('db');
    assert.match(db.image ?? '', /^postgres:\d+$/);
    const test = [db.healthcheck?.test ?? []].flat().join(' ');
    assert.match(test, /pg_isready/);
    const dataVolume = (db.volumes ?? []).find((v) => v.endsWith(':/var/lib/postgresql/data'));
    assert.ok(dataVolume, 'no volume on the data directory');
    const name = dataVolume.split(':')[0]!;
    assert.ok(compose.volumes && name in compose.volumes, `${name} is not a named volume`);
  });

  it('api builds from the Dockerfile and starts only once db is healthy and migrate has completed', () => {
    const api = service('api');
    const build = buildOf(api);
    assert.equal(path.resolve(root, build.context), root);
    assert.equal(build.dockerfile, 'Dockerfile');
    assert.deepEqual(api.depends_on, {
      db: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
  });

  it('migrate is a one-off run of dist/migrate.js from the same image, after db is healthy', () => {
    const [migrate, api] = [service('migrate'), service('api')];
    assert.deepEqual(buildOf(migrate), buildOf(api));
    assert.equal(migrate.image, api.image);
    assert.deepEqual(migrate.command, ['node', 'dist/migrate.js']);
    assert.deepEqual(migrate.depends_on, { db: { condition: 'service_healthy' } });
    assert.equal(migrate.restart, 'no');
    assert.equal(migrate.environment?.DATABASE_URL, api.environment?.DATABASE_URL);
  });

  it('DATABASE_URL points at db with its user and database, and loadConfig reads it as PostgreSQL', () => {
    const [db, api] = [service('db'), service('api')];
    const env = Object.fromEntries(
      Object.entries(api.environment ?? {}).map(([k, v]) => [k, interpolateDefaults(String(v))]),
    );
    const url = new URL(env.DATABASE_URL!);
    assert.equal(url.hostname, 'db');
    assert.equal(url.port, '5432');
    assert.equal(url.username, db.environment?.POSTGRES_USER);
    assert.equal(url.pathname, `/${db.environment?.POSTGRES_DB}`);
    assert.equal(url.password, interpolateDefaults(db.environment!.POSTGRES_PASSWORD!));
    const config = loadConfig(env);
    assert.equal(config.database.client, 'postgres');
  });

  it('the password is a local-only default overridable from the environment, never a literal', () => {
    assert.match(service('db').environment?.POSTGRES_PASSWORD ?? '', /^\$\{POSTGRES_PASSWORD:-[^}]+\}$/);
    for (const name of ['api', 'migrate']) {
      assert.match(
        service(name).environment?.DATABASE_URL ?? '',
        /^postgres:\/\/[^:]+:\$\{POSTGRES_PASSWORD:-[^}]+\}@db:5432\//,
      );
    }
  });

  it('api publishes the port the image EXPOSEs', () => {
    const exposed = DockerfileParser.parse(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))
      .getInstructions()
      .filter((i) => i.getKeyword() === 'EXPOSE')
      .flatMap((i) => i.getArguments().map((a) => a.getValue()));
    assert.deepEqual(service('api').ports, [`${exposed[0]}:${exposed[0]}`]);
  });
});
