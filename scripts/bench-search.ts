/**
 * `npm run bench:search`: latency of `GET /api/items/?search=` on PostgreSQL at a million rows.
 *
 * 1. builds the server (`npm run build`) and creates a scratch schema in the PostgreSQL at
 *    `BENCH_DATABASE_URL` (default `TEST_DATABASE_URL`, then `postgres://root@127.0.0.1:5432/test`);
 * 2. applies migration 0001, seeds 1,000,000 rows with one `INSERT … SELECT generate_series`, plus
 *    {@link PLANTED} rows named `Zucchini N`, then applies the rest (0002 builds the `pg_trgm`
 *    index on the populated table, as when taking over a live database) and runs `ANALYZE`;
 * 3. starts `node dist/server.js` on 127.0.0.1 and drives it with autocannon: a warm-up, then
 *    {@link REQUESTS} requests on one connection for a selective term and for a term with no match,
 *    and prints p50/p99/max of each request's time in milliseconds (autocannon's own per-response
 *    times, so sub-millisecond resolution);
 * 4. prints `EXPLAIN (ANALYZE, BUFFERS)` of the exact query the API runs (item.repository.ts) and
 *    checks the trigram index is in it;
 * 5. stops the server and drops the scratch schema, also on failure.
 *
 * The target: p99 under 20 ms for the selective term on a 2-core machine. Not part of
 * `npm test`: timings belong in a benchmark, not in assertions.
 *
 * @module
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Migrator, sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/database.js';
import { migrateToLatest, migrations } from '../src/db/migrate.js';
import { TRIGRAM_INDEX } from '../src/db/migrations/0002_product_trigram_index.js';
import { listItemsQuery } from '../src/items/item.repository.js';
import { PROJECT_ROOT, startServer } from '../test/helpers/process.js';

/**
 * The seeding session's own `statement_timeout` (none): the service's migration writes
 * `DB_STATEMENT_TIMEOUT_MS` as the role's default, which a seed of a million rows can outlast.
 */
const SEED_OPTIONS = '-c statement_timeout=0';

const DATABASE_URL =
  process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://root@127.0.0.1:5432/test';
const ROWS = 1_000_000;
/** Rows named `Zucchini 1` … `Zucchini 25`: what the selective term finds. */
const PLANTED = 25;
const SELECTIVE_TERM = 'zucchini';
/** No seeded product contains it (seeded names are `Item ` + hex digits). */
const NO_MATCH_TERM = 'qwertz';
const REQUESTS = 2000;
const WARM_UP = 300;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Sends `amount` requests over `connections` connections; per-request times in ms, sorted. */
async function measure(url: string, amount: number, connections: number): Promise<number[]> {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, amount, connections, timeout: 10 }, (error, done) =>
      error ? reject(error as Error) : resolve(done),
    );
    instance.on('response', (_client, _statusCode, _bytes, responseTime) => times.push(responseTime));
  });
  if (result.errors || result.timeouts || result.non2xx) {
    throw new Error(`${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`);
  }
  return times.sort((a, b) => a - b);
}

function report(label: string, times: readonly number[]): void {
  const f = (n: number) => n.toFixed(2).padStart(7);
  console.log(
    `${label.padEnd(34)} n=${times.length}  p50 ${f(percentile(times, 50))} ms  p99 ${f(percentile(times, 99))} ms  max ${f(times.at(-1)!)} ms`,
  );
}

function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

async function main(): Promise<void> {
  console.log('building…');
  execSync('npm run build', { cwd: PROJECT_ROOT, stdio: 'ignore' });

  const schema = `itemstore_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000, options: SEED_OPTIONS });
  await admin.connect();
  // In public, so dropping the scratch schema cannot take the extension with it.
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public');
  await admin.query(`CREATE SCHEMA ${schema}`);
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itemstore-bench-'));
  const databaseUrl = withSearchPath(DATABASE_URL, schema);
  const db = createDb(loadConfig({ DATABASE_URL: databaseUrl, DB_STATEMENT_TIMEOUT_MS: '600000' }).database);
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const migrator = new Migrator({
      db: db.kysely,
      provider: { getMigrations: async () => ({ ...migrations }) },
      migrationTableSchema: schema, // as migrateToLatest does: Kysely's tables in this schema, not any other
    });
    const first = await migrator.migrateTo('0001_create_item');
    if (first.error) throw first.error;

    let started = performance.now();
    await sql`insert into myapi_item (product, price)
      select 'Item ' || substr(md5(i::text), 1, 12), (i * 37) % 100000
      from generate_series(1, ${ROWS}) as i`.execute(db.kysely);
    await sql`insert into myapi_item (product, price)
      select 'Zucchini ' || i, i from generate_series(1, ${PLANTED}) as i`.execute(db.kysely);
    console.log(`seeded ${ROWS + PLANTED} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    started = performance.now();
    await migrateToLatest(db.kysely);
    await sql`analyze myapi_item`.execute(db.kysely);
    console.log(
      `migrated (trigram index built) and analyzed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    // Stopped in `finally` below, so the owner's `after` has nothing to add.
    server = await startServer(
      { after: () => undefined },
      { DATABASE_URL: databaseUrl, LOG_DIR: logDir, LOG_LEVEL: 'warn' },
      { timeoutMs: 60_000 },
    );
    const selective = `${server.baseUrl}/api/items/?search=${SELECTIVE_TERM}`;
    const noMatch = `${server.baseUrl}/api/items/?search=${NO_MATCH_TERM}`;
    const found = (await (await fetch(selective)).json()) as unknown[];
    if (found.length !== PLANTED)
      throw new Error(`?search=${SELECTIVE_TERM} found ${found.length} items, expected ${PLANTED}`);

    await measure(selective, WARM_UP, 1);
    await measure(noMatch, WARM_UP, 1);
    console.log(
      `\nGET /api/items/?search=… over HTTP on 127.0.0.1, ${ROWS.toLocaleString('en')} rows, ${os.cpus().length} CPUs`,
    );
    report(`selective "${SELECTIVE_TERM}" (${PLANTED} hits), 1 conn`, await measure(selective, REQUESTS, 1));
    report(`no match "${NO_MATCH_TERM}", 1 conn`, await measure(noMatch, REQUESTS, 1));
    report(`selective "${SELECTIVE_TERM}", 4 conns`, await measure(selective, REQUESTS, 4));

    const plan = await listItemsQuery(db.kysely, { search: [SELECTIVE_TERM] }).explain<{ 'QUERY PLAN': string }>(
      undefined,
      sql`analyze, buffers`,
    );
    const lines = plan.map((row) => row['QUERY PLAN']);
    console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the list query for ?search=${SELECTIVE_TERM}:\n${lines.join('\n')}`);
    if (!lines.some((line) => line.includes(`Index Scan on ${TRIGRAM_INDEX}`))) {
      throw new Error(`the plan does not use ${TRIGRAM_INDEX}`);
    }
  } finally {
    server?.child.kill('SIGTERM');
    if (server) await server.closed;
    await db.destroy();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    fs.rmSync(logDir, { recursive: true, force: true });
    console.log(`\ndropped schema ${schema}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
