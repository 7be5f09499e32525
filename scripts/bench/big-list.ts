/**
 * `npm run bench:list`: the unpaginated list at scale. The contract has no pagination, so
 * `GET /api/items/` returns every row; this measures what that costs the server.
 *
 * For each backend (a scratch SQLite file, a fresh PostgreSQL schema; both removed after) it seeds
 * `BENCH_LIST_ROWS` items (default 300,000) and measures, against `node dist/server.js` run as
 * shipped (`LOG_LEVEL=info`):
 *
 * - **one list**, {@link RUNS} times on one server: time to the first body byte, time to the last,
 *   and the server's RSS growth (peak `VmRSS` while listing, minus `VmRSS` before the first list);
 * - **five lists at once** on a fresh server: RSS growth and the slowest list's time;
 * - throughout both, `GET /healthz` every {@link PROBE_INTERVAL_MS} ms on its own connection (the
 *   slowest answer, and for five lists the 99th percentile), and the server's own event-loop delay
 *   from `/metrics` (the slowest, and the 99th percentile): how long other requests had to wait.
 *
 * The body is counted, not parsed, while timing; one separate request checks it is a JSON array of
 * exactly the seeded items. With `BENCH_LIST_BASELINE=<git revision>[,<git revision>…]` the same is
 * measured for each revision's build too (built into `bench-output/list-baseline-<revision>`), in
 * turn with the current build on each backend, and the whole-list time is compared with the first
 * revision's (target: at most 20% longer than the list answered whole).
 *
 * Environment: `BENCH_LIST_ROWS` (default 300000; 1000000 for the large run), `BENCH_LIST_RUNS`
 * (default 3), `BENCH_BACKENDS=sqlite,postgres`, `BENCH_LIST_BASELINE`, `BENCH_NO_BUILD=1`,
 * `BENCH_DATABASE_URL` (default `TEST_DATABASE_URL`, then `postgres://root@127.0.0.1:5432/test`).
 * Writes `bench-output/big-list.json`.
 *
 * @module
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/database.js';
import { withSearchPath } from '../../test/helpers/backends.js';
import { PROJECT_ROOT } from '../../test/helpers/process.js';
import { readRssMb, startBenchServer, type BenchServer } from './server.js';

/**
 * The seeding session's own `statement_timeout` (none): the service's migration writes
 * `DB_STATEMENT_TIMEOUT_MS` as the role's default, which a seed of a million rows can outlast.
 */
const SEED_OPTIONS = '-c statement_timeout=0';

const env = process.env;
const ROWS = Number(env.BENCH_LIST_ROWS || 300_000);
const RUNS = Number(env.BENCH_LIST_RUNS || 3);
const CONCURRENT = 5;
const BACKENDS = (env.BENCH_BACKENDS || 'sqlite,postgres').split(',').map((s) => s.trim()) as ('sqlite' | 'postgres')[];
const PG_URL = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || 'postgres://root@127.0.0.1:5432/test';
const OUTPUT_DIR = path.join(PROJECT_ROOT, 'bench-output');
const PROBE_INTERVAL_MS = 50;
const RSS_INTERVAL_MS = 10;

/** Issue targets at 300,000 rows. */
const TARGETS = { firstByteMs: 200, rssOneMb: 60, rssFiveMb: 120, healthzMs: 250, slowdown: 1.2 };

interface ListTiming {
  firstByteMs: number;
  totalMs: number;
  bytes: number;
  status: number;
}

/** One build's figures on one backend. */
export interface BigListResult {
  build: string;
  backend: string;
  rows: number;
  /** Median over the runs of one list. */
  firstByteMs: number;
  totalMs: number;
  bytes: number;
  /** While the runs of one list went on, one after another. */
  one: Omit<Watched, 'peakRssMb'> & { rssMb: number };
  /** Five lists at once: the slowest list; what the watcher saw meanwhile. */
  fiveTotalMs: number;
  five: Omit<Watched, 'peakRssMb'> & { rssMb: number };
  oneRuns: ListTiming[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/** GETs `url`, counting body bytes; resolves on the last byte (or rejects if the body is cut). */
function timedGet(url: string, agent: http.Agent): Promise<ListTiming> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteMs = NaN;
    let bytes = 0;
    const req = http.get(url, { agent }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - started;
        bytes += chunk.length;
      });
      res.on('end', () =>
        resolve({ firstByteMs, totalMs: performance.now() - started, bytes, status: res.statusCode ?? 0 }),
      );
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`${url}: response aborted after ${bytes} bytes`)));
    });
    req.on('error', reject);
  });
}

/** What {@link watch} saw while it ran. */
interface Watched {
  peakRssMb: number;
  /** `/healthz` round trips, in ms: the slowest and the 99th percentile. */
  healthzMaxMs: number;
  healthzP99Ms: number;
  /**
   * The server's own event-loop delay over the same time, in ms (prom-client's
   * `nodejs_eventloop_lag_max_seconds` / `_p99_seconds`: `perf_hooks.monitorEventLoopDelay` at 10 ms
   * resolution, reset on each `/metrics` scrape).
   */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

/** Reads one gauge, in seconds, from Prometheus text. */
function gauge(metrics: string, name: string): number {
  const match = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(metrics);
  return match ? Number(match[1]) : NaN;
}

const percentile = (values: number[], p: number) =>
  values.length
    ? [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil(p * values.length) - 1)]!
    : NaN;

/**
 * Samples the server's RSS, probes `/healthz` and reads the event-loop delay until stopped. A
 * `/metrics` scrape at the start resets the delay histogram, one at the end reads it.
 */
async function watch(server: BenchServer): Promise<{ stop(): Promise<Watched> }> {
  const pid = server.child.pid!;
  const scrape = async () => (await fetch(`${server.baseUrl}/metrics`)).text();
  await scrape();
  let peakRssMb = readRssMb(pid);
  const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, readRssMb(pid))), RSS_INTERVAL_MS);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  const healthz: number[] = [];
  const probing = (async () => {
    while (running) {
      const started = performance.now();
      const timing = await timedGet(`${server.baseUrl}/healthz`, agent);
      if (timing.status !== 200) throw new Error(`/healthz answered ${timing.status}`);
      healthz.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await probing;
      const metrics = await scrape();
      clearInterval(sampler);
      agent.destroy();
      peakRssMb = Math.max(peakRssMb, readRssMb(pid));
      return {
        peakRssMb,
        healthzMaxMs: Math.max(...healthz),
        healthzP99Ms: percentile(healthz, 0.99),
        loopDelayMaxMs: gauge(metrics, 'nodejs_eventloop_lag_max_seconds') * 1000,
        loopDelayP99Ms: gauge(metrics, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      };
    },
  };
}

/** Lets the server settle after start-up, then reads its RSS as the baseline. */
async function settledRssMb(server: BenchServer): Promise<number> {
  await fetch(`${server.baseUrl}/api/items/?product=none`).then((r) => r.text());
  await new Promise((r) => setTimeout(r, 1000));
  return readRssMb(server.child.pid!);
}

/** One request that parses the whole list and checks it is exactly the seeded items in id order. */
async function checkList(baseUrl: string): Promise<void> {
  const items = (await (await fetch(`${baseUrl}/api/items/`)).json()) as { id: number; product: string }[];
  if (items.length !== ROWS) throw new Error(`the list has ${items.length} items, expected ${ROWS}`);
  if (items.some((item, i) => item.id !== i + 1 || item.product !== `Item ${i + 1}`)) {
    throw new Error('the list is not the seeded items in id order');
  }
}

/** Inserts items 1…ROWS (`Item <id>`, price `(id * 37) % 100000`) in one statement. */
async function seed(databaseUrl: string, client: 'sqlite' | 'postgres'): Promise<void> {
  const db = createDb(loadConfig({ DATABASE_URL: databaseUrl, DB_STATEMENT_TIMEOUT_MS: '600000' }).database);
  try {
    if (client === 'postgres') {
      await sql`insert into myapi_item (product, price)
        select 'Item ' || i, (i * 37) % 100000 from generate_series(1, ${ROWS}::int) as i`.execute(db.kysely);
    } else {
      await sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${ROWS})
        insert into myapi_item (product, price) select 'Item ' || i, (i * 37) % 100000 from s`.execute(db.kysely);
      await sql`pragma wal_checkpoint(truncate)`.execute(db.kysely);
    }
    await sql`analyze`.execute(db.kysely);
  } finally {
    await db.destroy();
  }
}

/** Turns what the watcher saw into RSS growth over `baselineMb`. */
function growth({ peakRssMb, ...rest }: Watched, baselineMb: number): Omit<Watched, 'peakRssMb'> & { rssMb: number } {
  return { ...rest, rssMb: peakRssMb - baselineMb };
}

async function measureBuild(
  build: string,
  entry: string,
  backend: 'sqlite' | 'postgres',
  base: Record<string, string>,
): Promise<BigListResult> {
  const url = (server: BenchServer) => `${server.baseUrl}/api/items/`;
  const oneServer = await startBenchServer({ env: base, entry });
  let oneRuns: ListTiming[];
  let one: BigListResult['one'];
  try {
    const baseline = await settledRssMb(oneServer);
    const watcher = await watch(oneServer);
    const agent = new http.Agent({ keepAlive: true });
    oneRuns = [];
    for (let i = 0; i < RUNS; i++) oneRuns.push(await timedGet(url(oneServer), agent));
    agent.destroy();
    one = growth(await watcher.stop(), baseline);
  } finally {
    await oneServer.stop();
  }
  const fiveServer = await startBenchServer({ env: base, entry });
  let fiveTotalMs: number;
  let five: BigListResult['five'];
  try {
    const baseline = await settledRssMb(fiveServer);
    const watcher = await watch(fiveServer);
    const agent = new http.Agent({ keepAlive: true });
    const timings = await Promise.all(Array.from({ length: CONCURRENT }, () => timedGet(url(fiveServer), agent)));
    agent.destroy();
    five = growth(await watcher.stop(), baseline);
    fiveTotalMs = Math.max(...timings.map((t) => t.totalMs));
    const failedFive = timings.filter((t) => t.status !== 200).map((t) => t.status);
    if (failedFive.length) console.log(`  ${build} ${backend}: of five lists, ${failedFive.join(', ')} (not 200)`);
    if (build === 'current') await checkList(fiveServer.baseUrl);
  } finally {
    await fiveServer.stop();
  }
  const failed = oneRuns.filter((run) => run.status !== 200).map((run) => run.status);
  if (failed.length) console.log(`  ${build} ${backend}: the list answered ${failed.join(', ')} (not 200)`);
  const result: BigListResult = {
    build,
    backend,
    rows: ROWS,
    firstByteMs: median(oneRuns.map((r) => r.firstByteMs)),
    totalMs: median(oneRuns.map((r) => r.totalMs)),
    bytes: oneRuns[0]!.bytes,
    one,
    fiveTotalMs,
    five,
    oneRuns,
  };
  console.log(`  ${formatRow(result)}`);
  return result;
}

const HEADER = [
  'build     backend  ',
  '  first byte ms  list ms    MB',
  '  1: RSS +MB  /healthz max  loop max',
  '  5: list ms  RSS +MB  /healthz max  p99  loop max  p99',
].join('');

function formatRow(r: BigListResult): string {
  const ms = (value: number, width: number) => value.toFixed(0).padStart(width);
  return [
    r.build.slice(0, 9).padEnd(9),
    r.backend.padEnd(9),
    ms(r.firstByteMs, 15),
    ms(r.totalMs, 8),
    (r.bytes / 1e6).toFixed(1).padStart(5),
    ms(r.one.rssMb, 11),
    ms(r.one.healthzMaxMs, 13),
    ms(r.one.loopDelayMaxMs, 9),
    ms(r.fiveTotalMs, 11),
    ms(r.five.rssMb, 8),
    ms(r.five.healthzMaxMs, 13),
    ms(r.five.healthzP99Ms, 4),
    ms(r.five.loopDelayMaxMs, 9),
    ms(r.five.loopDelayP99Ms, 4),
  ].join(' ');
}

/** The targets, checked on the current build's figures (and against the baseline's list time when measured). */
function verdicts(results: BigListResult[]): string[] {
  const lines: string[] = [];
  for (const r of results.filter((x) => x.build === 'current')) {
    const check = (what: string, value: number, limit: number, unit: string) =>
      lines.push(
        `  ${value <= limit ? 'met ' : 'MISS'}  ${r.backend.padEnd(8)} ${what}: ${value.toFixed(unit === '×' ? 2 : 0)} ${unit} (target < ${limit} ${unit})`,
      );
    check('first byte', r.firstByteMs, TARGETS.firstByteMs, 'ms');
    check('RSS growth, one list', r.one.rssMb, TARGETS.rssOneMb, 'MB');
    check('RSS growth, five lists', r.five.rssMb, TARGETS.rssFiveMb, 'MB');
    check('/healthz slowest, one list', r.one.healthzMaxMs, TARGETS.healthzMs, 'ms');
    check('/healthz slowest, five lists', r.five.healthzMaxMs, TARGETS.healthzMs, 'ms');
    const before = results.find((x) => x.build !== 'current' && x.backend === r.backend);
    if (before) check(`list time vs ${before.build}`, r.totalMs / before.totalMs, TARGETS.slowdown, '×');
  }
  return lines;
}

/** Builds `revision`'s sources into bench-output/list-baseline-<revision> and returns its server entry. */
function buildBaseline(revision: string): string {
  const dir = path.join(OUTPUT_DIR, `list-baseline-${revision.replace(/[^\w.-]/g, '_')}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  execSync(`git archive ${JSON.stringify(revision)} src tsconfig.json tsconfig.build.json | tar -x -C ${dir}`, {
    cwd: PROJECT_ROOT,
  });
  execSync(`npx tsc -p ${path.join(dir, 'tsconfig.build.json')}`, { cwd: PROJECT_ROOT, stdio: 'inherit' });
  return path.join(dir, 'dist/server.js');
}

async function withScratchDatabase<T>(
  backend: 'sqlite' | 'postgres',
  body: (databaseUrl: string, scratch: string) => Promise<T>,
): Promise<T> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'itemstore-big-list-'));
  let schema: string | undefined;
  try {
    if (backend === 'sqlite') return await body(`sqlite:///${path.join(scratch, 'db.sqlite3')}`, scratch);
    schema = `itemstore_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000, options: SEED_OPTIONS });
    await admin.connect();
    try {
      await admin.query('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public');
      await admin.query(`CREATE SCHEMA ${schema}`);
    } finally {
      await admin.end();
    }
    return await body(withSearchPath(PG_URL, schema), scratch);
  } finally {
    if (schema) {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs the big-list measurements and prints them; `npm run bench` calls this after its table. */
export async function runBigList(options: { build: boolean }): Promise<BigListResult[]> {
  if (options.build) execSync('npm run build', { cwd: PROJECT_ROOT, stdio: 'ignore' });
  const builds: [string, string][] = [];
  for (const revision of (env.BENCH_LIST_BASELINE ?? '').split(',').filter(Boolean)) {
    builds.push([revision, buildBaseline(revision)]);
  }
  builds.push([
    'current',
    env.BENCH_SERVER ? path.resolve(env.BENCH_SERVER) : path.join(PROJECT_ROOT, 'dist/server.js'),
  ]);
  console.log(
    `\nbig list: ${ROWS.toLocaleString('en')} items, ${RUNS} runs of one list, then ${CONCURRENT} at once; ` +
      `${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  console.log(`  ${HEADER}`);
  const results: BigListResult[] = [];
  for (const backend of BACKENDS) {
    await withScratchDatabase(backend, async (databaseUrl, scratch) => {
      const base = {
        DATABASE_URL: databaseUrl,
        LOG_DIR: path.join(scratch, 'logs'),
        LOG_LEVEL: 'info',
        SHUTDOWN_DRAIN_MS: '0',
      };
      // The first start migrates the empty database; then the rows go in directly.
      const migrator = await startBenchServer({ env: base, entry: builds[0]![1] });
      await migrator.stop();
      await seed(databaseUrl, backend);
      for (const [build, entry] of builds) results.push(await measureBuild(build, entry, backend, base));
    });
  }
  console.log(`\n${verdicts(results).join('\n')}`);
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  const out = path.join(OUTPUT_DIR, 'big-list.json');
  fs.writeFileSync(out, `${JSON.stringify({ startedAt: new Date().toISOString(), rows: ROWS, results }, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runBigList({ build: env.BENCH_NO_BUILD !== '1' }).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
