/**
 * `npm run bench`: throughput and latency of the built service against the machine's ceilings.
 * See BENCHMARKS.md for how to read the output.
 *
 * 1. `npm run build`;
 * 2. the ceilings (scripts/bench/ceilings.ts, bare-server.mjs), each measured first and last, the
 *    better kept: bare node:http, bare Fastify, and bare Fastify + pg running the retrieve query on
 *    its own seeded schema;
 * 3. for each backend (SQLite file, then a fresh PostgreSQL schema, both removed after):
 *    starts `node dist/server.js` logging as shipped (`LOG_LEVEL=info`, stdout to a drained pipe,
 *    `LOG_DIR/api_server.log`), seeds 10,000 items (scenarios.ts), and runs every scenario from a
 *    separate load process: 32 connections, a warm-up, then two timed runs, the better kept;
 *    healthz and retrieve, whose targets are ratios, alternate run by run with bare Fastify and
 *    bare Fastify + pg kept running beside the service ({@link TARGET_CEILINGS});
 *    then retrieve again with `LOG_LEVEL=silent`, and on PostgreSQL with `WEB_CONCURRENCY=2` (when
 *    the build has the cluster runtime) and pgbench's SELECT by id;
 * 4. prints one table, every figure also as a ratio to each ceiling, and the targets, and writes
 *    `bench-output/bench.json`;
 * 5. then the big list (big-list.ts; `BENCH_LIST=0` skips it).
 *
 * Environment (all optional): `BENCH_DURATION` seconds per timed run (default 10), `BENCH_WARMUP`
 * seconds (default 3), `BENCH_LOAD=wrk|autocannon` (default wrk when installed),
 * `BENCH_BACKENDS=sqlite,postgres`, `BENCH_SCENARIOS=retrieve,create,…` (names as in the table),
 * `BENCH_CPU_PROF=1` (write a V8 CPU profile per server process into bench-output/profiles;
 * summarise with `npm run bench:profile -- <file>`), `BENCH_DATABASE_URL` (PostgreSQL; default
 * `TEST_DATABASE_URL`, then `postgres://root@127.0.0.1:5432/test`).
 *
 * @module
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/database.js';
import { withSearchPath } from '../../test/helpers/backends.js';
import { PROJECT_ROOT } from '../../test/helpers/process.js';
import { hasPgbench, runPgbench, startBareServer, type BareKind, type CeilingServer } from './ceilings.js';
import { chooseLoadTool, runLoad, type LoadResult, type LoadSettings, type LoadSpec } from './load.js';
import { errorsOf, formatTable, formatVerdicts, verdicts, type Row } from './report.js';
import { ITEMS, SCENARIOS, seededItem, type Scenario } from './scenarios.js';
import { runBigList } from './big-list.js';
import { readCpuSeconds, readRssMb, startBenchServer, type BenchServer } from './server.js';

/**
 * The seeding session's own `statement_timeout` (none): the service's migration writes
 * `DB_STATEMENT_TIMEOUT_MS` as the role's default, which a seed of a million rows can outlast.
 */
const SEED_OPTIONS = '-c statement_timeout=0';

const env = process.env;
const DURATION = Number(env.BENCH_DURATION || 10);
const WARMUP = Number(env.BENCH_WARMUP || 3);
const CONNECTIONS = 32;
const RUNS = 2;
const TOOL = chooseLoadTool(env.BENCH_LOAD);
const BACKENDS = (env.BENCH_BACKENDS || 'sqlite,postgres').split(',').map((s) => s.trim()) as ('sqlite' | 'postgres')[];
const ONLY = env.BENCH_SCENARIOS ? new Set(env.BENCH_SCENARIOS.split(',').map((s) => s.trim())) : undefined;
const CPU_PROF = env.BENCH_CPU_PROF === '1';
const PG_URL = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || 'postgres://root@127.0.0.1:5432/test';
const OUTPUT_DIR = path.join(PROJECT_ROOT, 'bench-output');
const ENTRY = env.BENCH_SERVER ? path.resolve(env.BENCH_SERVER) : path.join(PROJECT_ROOT, 'dist/server.js');
const CLUSTER_BUILD = path.join(path.dirname(ENTRY), 'process/cluster.js');

const settings: LoadSettings = { connections: CONNECTIONS, duration: DURATION };
const wanted = (name: string) => !ONLY || ONLY.has(name);

/**
 * A warm-up of {@link WARMUP} s, then {@link RUNS} timed runs; the better by requests/s first.
 * `pids` are the server's processes, whose CPU time per request each run records.
 */
async function measure(
  baseUrl: string,
  spec: LoadSpec,
  pids: () => number[],
): Promise<{ best: LoadResult; runs: LoadResult[] }> {
  if (WARMUP > 0) await runLoad(TOOL, baseUrl, spec, { ...settings, duration: WARMUP });
  const cpu = () => pids().reduce((sum, pid) => sum + readCpuSeconds(pid), 0);
  const runs: LoadResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    const before = cpu();
    const result = await runLoad(TOOL, baseUrl, spec, settings);
    runs.push({ ...result, cpuUsPerRequest: ((cpu() - before) * 1e6) / result.requests });
  }
  const best = runs.reduce((a, b) => (b.rps > a.rps ? b : a));
  return { best, runs };
}

function progress(row: Row): void {
  const b = row.best;
  console.log(
    `  ${row.scenario.padEnd(32)} ${row.backend.padEnd(8)} ${b.rps.toFixed(0).padStart(7)} req/s  p50 ${b.p50.toFixed(2)} ms  p99 ${b.p99.toFixed(2)} ms  CPU ${b.cpuUsPerRequest?.toFixed(0) ?? '-'} µs/req  errors ${errorsOf(b)}  RSS ${row.rssMb.map((m) => m.toFixed(0)).join('/')} MB`,
  );
}

/** Sends one request of the scenario and checks status and item count, so the load measures the right thing. */
async function check(baseUrl: string, scenario: Scenario): Promise<void> {
  const { spec } = scenario;
  const res = await fetch(baseUrl + spec.paths[0], {
    method: spec.method,
    ...(spec.body === undefined ? {} : { body: spec.body }),
    headers: {
      ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(spec.uniqueHeader === undefined ? {} : { [spec.uniqueHeader]: `check-${randomBytes(6).toString('hex')}` }),
    },
  });
  const text = await res.text();
  if (res.status !== scenario.status)
    throw new Error(`${scenario.name}: ${spec.method} ${spec.paths[0]} answered ${res.status}: ${text}`);
  if (scenario.expectItems !== undefined) {
    const items = JSON.parse(text) as unknown[];
    if (items.length !== scenario.expectItems) {
      throw new Error(
        `${scenario.name}: ${spec.paths[0]} returned ${items.length} items, expected ${scenario.expectItems}`,
      );
    }
  }
}

/** Inserts the {@link ITEMS} seeded rows (ids 1…10,000 in a fresh table), 500 per statement. */
async function seed(databaseUrl: string, client: 'sqlite' | 'postgres'): Promise<void> {
  const db = createDb(loadConfig({ DATABASE_URL: databaseUrl, DB_STATEMENT_TIMEOUT_MS: '600000' }).database);
  try {
    for (let start = 1; start <= ITEMS; start += 500) {
      const rows = Array.from({ length: Math.min(500, ITEMS - start + 1) }, (_, i) => seededItem(start + i));
      await db.kysely.insertInto('myapi_item').values(rows).execute();
    }
    const { count, max } = await db.kysely
      .selectFrom('myapi_item')
      .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.max('id').as('max')])
      .executeTakeFirstOrThrow();
    if (Number(count) !== ITEMS || Number(max) !== ITEMS)
      throw new Error(`seeded ${count} rows up to id ${max}, expected ids 1…${ITEMS}`);
    // The seeded table only. An ANALYZE of the still empty idempotency_key table makes PostgreSQL's
    // generic plan of the keyed create a sequential scan, which each connection then keeps while the
    // table grows: a state a deployment reaches only until autovacuum next analyzes the table
    // (BENCHMARKS.md, "Create with an Idempotency-Key").
    await sql`analyze myapi_item`.execute(db.kysely);
    if (client === 'sqlite') await sql`pragma wal_checkpoint(truncate)`.execute(db.kysely);
  } finally {
    await db.destroy();
  }
}

function profileDir(label: string): string | undefined {
  if (!CPU_PROF) return undefined;
  const dir = path.join(OUTPUT_DIR, 'profiles', label);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

async function withServer<T>(
  label: string,
  serverEnv: Record<string, string>,
  body: (server: BenchServer) => Promise<T>,
): Promise<T> {
  const server = await startBenchServer({ env: serverEnv, cpuProfileDir: profileDir(label), entry: ENTRY });
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

async function measureScenario(
  server: BenchServer,
  backend: string,
  scenario: Scenario,
  name = scenario.name,
): Promise<Row> {
  await check(server.baseUrl, scenario);
  const { best, runs } = await measure(server.baseUrl, scenario.spec, server.pids);
  const row: Row = { scenario: name, backend, best, runs, rssMb: server.rssMb() };
  progress(row);
  return row;
}

/**
 * Two scenarios compared with each other, measured in alternation on one server: warm-ups of both,
 * then A, B, A, B …, the better run of each kept. Run one after the other, the second met a bigger
 * table, another checkpoint and other load from the machine than the first; alternated, both do.
 */
const PAIRED: ReadonlyMap<string, string> = new Map([['create', 'create (Idempotency-Key)']]);

async function measurePair(server: BenchServer, backend: string, pair: [Scenario, Scenario]): Promise<Row[]> {
  const cpu = () => server.pids().reduce((sum, pid) => sum + readCpuSeconds(pid), 0);
  const runs: [LoadResult[], LoadResult[]] = [[], []];
  for (const scenario of pair) {
    await check(server.baseUrl, scenario);
    if (WARMUP > 0) await runLoad(TOOL, server.baseUrl, scenario.spec, { ...settings, duration: WARMUP });
  }
  for (let i = 0; i < RUNS; i++) {
    for (const [side, scenario] of pair.entries()) {
      const before = cpu();
      const result = await runLoad(TOOL, server.baseUrl, scenario.spec, settings);
      runs[side]!.push({ ...result, cpuUsPerRequest: ((cpu() - before) * 1e6) / result.requests });
    }
  }
  return pair.map((scenario, side) => {
    const row: Row = {
      scenario: scenario.name,
      backend,
      best: runs[side]!.reduce((a, b) => (b.rps > a.rps ? b : a)),
      runs: runs[side]!,
      rssMb: server.rssMb(),
    };
    progress(row);
    return row;
  });
}

/**
 * The scenarios whose targets are ratios to a ceiling, each with its ceilings. Each is measured in
 * alternation with bare servers of those kinds kept running beside the service (ceilings, service,
 * ceilings, service …), so that all meet the same machine: measured minutes apart, a shared
 * machine's load moves the ratio more than the service does. Each also alternates with its ceiling
 * doing the service's per-request duties (bare-server.mjs `fastify-duties`, `fastify-pg-duties`).
 */
const TARGET_CEILINGS: ReadonlyMap<string, readonly BareKind[]> = new Map([
  ['healthz', ['fastify', 'fastify-duties']],
  ['retrieve', ['fastify-pg', 'fastify-pg-duties']],
]);

/** What each kind of ceiling is loaded with: the retrieve scenario for Fastify + pg, else `GET /`. */
function ceilingSpec(kind: BareKind): LoadSpec {
  return kind.startsWith('fastify-pg')
    ? SCENARIOS.find((s) => s.name === 'retrieve')!.spec
    : { method: 'GET', paths: ['/'] };
}

/**
 * `scenario` on the service and its ceilings in alternation (see {@link TARGET_CEILINGS}): warm-ups
 * of all, then ceilings, service, ceilings, service …, the better run of each kept. Returns the
 * ceilings' rows and the service's, which carries the ceilings' bests.
 */
async function measureWithCeilings(
  server: BenchServer,
  backend: string,
  scenario: Scenario,
  ceilings: readonly { kind: BareKind; ceiling: CeilingServer }[],
): Promise<Row[]> {
  await check(server.baseUrl, scenario);
  const sides = [
    ...ceilings.map(({ kind, ceiling }) => ({
      kind: kind as BareKind | undefined,
      baseUrl: ceiling.baseUrl,
      spec: ceilingSpec(kind),
      pids: () => [ceiling.child.pid!],
      runs: [] as LoadResult[],
    })),
    { kind: undefined, baseUrl: server.baseUrl, spec: scenario.spec, pids: server.pids, runs: [] as LoadResult[] },
  ];
  for (const side of sides) {
    if (WARMUP > 0) await runLoad(TOOL, side.baseUrl, side.spec, { ...settings, duration: WARMUP });
  }
  for (let i = 0; i < RUNS; i++) {
    for (const side of sides) {
      const cpu = () => side.pids().reduce((sum, pid) => sum + readCpuSeconds(pid), 0);
      const before = cpu();
      const result = await runLoad(TOOL, side.baseUrl, side.spec, settings);
      side.runs.push({ ...result, cpuUsPerRequest: ((cpu() - before) * 1e6) / result.requests });
    }
  }
  const better = (runs: LoadResult[]) => runs.reduce((a, b) => (b.rps > a.rps ? b : a));
  const service = sides.at(-1)!;
  const alternated: Row[] = ceilings.map(({ kind, ceiling }, i) => ({
    scenario: `${CEILINGS[kind]}, alternated`,
    backend: '-',
    best: better(sides[i]!.runs),
    runs: sides[i]!.runs,
    rssMb: [readRssMb(ceiling.child.pid!)],
  }));
  alternated.forEach(progress);
  const row: Row = {
    scenario: scenario.name,
    backend,
    best: better(service.runs),
    runs: service.runs,
    rssMb: server.rssMb(),
    alternatedCeilings: alternated.map((ceiling, i) => ({
      kind: ceilings[i]!.kind,
      scenario: ceiling.scenario,
      best: ceiling.best,
    })),
  };
  progress(row);
  return [...alternated, row];
}

async function benchBackend(
  backend: 'sqlite' | 'postgres',
  rows: Row[],
  ceilings: ReadonlyMap<BareKind, CeilingServer>,
): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'itemstore-bench-'));
  const logDir = path.join(scratch, 'logs');
  let schema: string | undefined;
  let databaseUrl: string;
  if (backend === 'sqlite') {
    databaseUrl = `sqlite:///${path.join(scratch, 'db.sqlite3')}`;
  } else {
    schema = `itemstore_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000, options: SEED_OPTIONS });
    await admin.connect();
    try {
      // In public, so dropping the scratch schema cannot take the extension with it.
      await admin.query('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public');
      await admin.query(`CREATE SCHEMA ${schema}`);
    } finally {
      await admin.end();
    }
    databaseUrl = withSearchPath(PG_URL, schema);
  }
  // No drain delay on SIGTERM: nothing routes here but the benchmark, and it has finished.
  const base = { DATABASE_URL: databaseUrl, LOG_DIR: logDir, LOG_LEVEL: 'info', SHUTDOWN_DRAIN_MS: '0' };
  const retrieve = SCENARIOS.find((s) => s.name === 'retrieve')!;
  try {
    console.log(`\n${backend}: ${databaseUrl}`);
    await withServer(`${backend}-shipped`, base, async (server) => {
      await seed(databaseUrl, backend); // the server has migrated the empty database
      const pairedSecond = new Set(PAIRED.values());
      for (const scenario of SCENARIOS) {
        if (!wanted(scenario.name) || pairedSecond.has(scenario.name)) continue;
        const partner = SCENARIOS.find((s) => s.name === PAIRED.get(scenario.name));
        const running = (TARGET_CEILINGS.get(scenario.name) ?? []).flatMap((kind) => {
          const ceiling = ceilings.get(kind);
          return ceiling ? [{ kind, ceiling }] : [];
        });
        if (partner && wanted(partner.name)) rows.push(...(await measurePair(server, backend, [scenario, partner])));
        else if (running.length) rows.push(...(await measureWithCeilings(server, backend, scenario, running)));
        else rows.push(await measureScenario(server, backend, scenario));
      }
      for (const name of pairedSecond) {
        const alone = SCENARIOS.find((s) => s.name === name);
        const first = [...PAIRED].find(([, second]) => second === name)?.[0];
        if (alone && wanted(name) && !(first && wanted(first)))
          rows.push(await measureScenario(server, backend, alone));
      }
      const logBytes = fs.existsSync(path.join(logDir, 'api_server.log'))
        ? fs.statSync(path.join(logDir, 'api_server.log')).size
        : 0;
      console.log(
        `  (logs: ${(server.outputBytes() / 1e6).toFixed(1)} MB to stdout, ${(logBytes / 1e6).toFixed(1)} MB to api_server.log)`,
      );
    });
    const silent = 'retrieve LOG_LEVEL=silent';
    if (wanted(silent)) {
      await withServer(`${backend}-silent`, { ...base, LOG_LEVEL: 'silent' }, async (server) => {
        rows.push(await measureScenario(server, backend, retrieve, silent));
      });
    }
    const cluster = 'retrieve WEB_CONCURRENCY=2';
    if (backend === 'postgres' && wanted(cluster)) {
      if (fs.existsSync(CLUSTER_BUILD)) {
        await withServer(`${backend}-cluster`, { ...base, WEB_CONCURRENCY: '2' }, async (server) => {
          rows.push(await measureScenario(server, backend, retrieve, cluster));
        });
      } else {
        console.log(
          `  ${cluster}: skipped, this build has no cluster runtime (${path.relative(PROJECT_ROOT, CLUSTER_BUILD)})`,
        );
      }
    }
    const pgbench = 'pgbench SELECT by id';
    if (backend === 'postgres' && wanted(pgbench)) {
      if (hasPgbench()) {
        const runs: LoadResult[] = [];
        for (let i = 0; i < RUNS; i++) runs.push(runPgbench(PG_URL, schema!, ITEMS, settings));
        const row: Row = {
          scenario: pgbench,
          backend,
          best: runs.reduce((a, b) => (b.rps > a.rps ? b : a)),
          runs,
          rssMb: [],
        };
        progress(row);
        rows.push(row);
      } else {
        console.log(`  ${pgbench}: skipped, pgbench is not installed`);
      }
    }
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

/** The ceiling rows' names, as the table shows them. */
const CEILINGS: Record<BareKind, string> = {
  http: 'node:http ceiling',
  fastify: 'bare Fastify',
  'fastify-pg': 'bare Fastify + pg',
  'fastify-duties': 'bare Fastify + duties',
  'fastify-pg-duties': 'bare Fastify + pg + duties',
};

async function measureCeiling(kind: BareKind, env: Record<string, string>): Promise<Row> {
  const ceiling = await startBareServer(kind, env);
  try {
    const scenario = kind === 'fastify-pg' ? SCENARIOS.find((s) => s.name === 'retrieve')! : undefined;
    if (scenario) await check(ceiling.baseUrl, scenario);
    const { best, runs } = await measure(ceiling.baseUrl, scenario?.spec ?? { method: 'GET', paths: ['/'] }, () => [
      ceiling.child.pid!,
    ]);
    const row: Row = {
      scenario: CEILINGS[kind],
      backend: '-',
      best,
      runs,
      rssMb: [readRssMb(ceiling.child.pid!)],
    };
    progress(row);
    return row;
  } finally {
    await ceiling.stop();
  }
}

/**
 * A scratch schema for bare Fastify + pg: `myapi_item` as the migrations make it on PostgreSQL
 * (bigint id, varchar(20), integer), with the same {@link ITEMS} seeded rows. Returns its URL and
 * a function that drops it.
 */
async function ceilingSchema(): Promise<{ databaseUrl: string; drop: () => Promise<void> }> {
  const schema = `itemstore_bench_bare_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000, options: SEED_OPTIONS });
  await admin.connect();
  try {
    const items = Array.from({ length: ITEMS }, (_, i) => ({ id: i + 1, ...seededItem(i + 1) }));
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(
      `CREATE TABLE ${schema}.myapi_item (id bigint PRIMARY KEY, product varchar(20) NOT NULL, price integer NOT NULL)`,
    );
    await admin.query(
      `INSERT INTO ${schema}.myapi_item SELECT * FROM unnest($1::bigint[], $2::varchar[], $3::integer[])`,
      [items.map((i) => i.id), items.map((i) => i.product), items.map((i) => i.price)],
    );
    await admin.query(`ANALYZE ${schema}.myapi_item`);
  } finally {
    await admin.end();
  }
  return {
    databaseUrl: withSearchPath(PG_URL, schema),
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/** Measures every ceiling once, in a fixed order. */
async function measureCeilings(pgEnv: Record<string, string>): Promise<Row[]> {
  const rows: Row[] = [];
  for (const kind of ['http', 'fastify', 'fastify-pg'] as const) rows.push(await measureCeiling(kind, pgEnv));
  return rows;
}

/** Of two measurements of each ceiling (first and last), the better, with every run kept. */
function bestCeilings(first: Row[], last: Row[]): Row[] {
  return first.map((row, i) => {
    const again = last[i]!;
    const best = again.best.rps > row.best.rps ? again : row;
    return { ...best, runs: [...row.runs, ...again.runs] };
  });
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  if (env.BENCH_NO_BUILD !== '1') {
    console.log(`building…`);
    execSync('npm run build', { cwd: PROJECT_ROOT, stdio: 'ignore' });
  }
  console.log(
    `load: ${TOOL}, ${CONNECTIONS} connections, warm-up ${WARMUP} s, ${RUNS} runs of ${DURATION} s (better kept); ` +
      `${os.cpus().length} CPUs, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const rows: Row[] = [];
  let ceilings: Row[] = [];
  if (env.BENCH_CEILING !== '0') {
    const bare = await ceilingSchema();
    try {
      const pgEnv = { DATABASE_URL: bare.databaseUrl, DB_POOL_MAX: env.DB_POOL_MAX || '10' };
      const first = await measureCeilings(pgEnv);
      const running = new Map<BareKind, CeilingServer>();
      try {
        for (const kind of new Set([...TARGET_CEILINGS.values()].flat())) {
          running.set(kind, await startBareServer(kind, pgEnv));
        }
        for (const backend of BACKENDS) await benchBackend(backend, rows, running);
      } finally {
        for (const ceiling of running.values()) await ceiling.stop();
      }
      ceilings = bestCeilings(first, await measureCeilings(pgEnv));
    } finally {
      await bare.drop();
    }
  } else {
    for (const backend of BACKENDS) await benchBackend(backend, rows, new Map());
  }
  const all = [...ceilings, ...rows];
  const [http, fastify, fastifyPg] = ceilings;
  for (const row of all) {
    if (http) row.ratio = row.best.rps / http.best.rps;
    if (fastify) row.vsFastify = row.best.rps / fastify.best.rps;
    if (fastifyPg) row.vsFastifyPg = row.best.rps / fastifyPg.best.rps;
    // A row measured in alternation with its ceilings is judged against those measurements.
    for (const alternated of row.alternatedCeilings ?? []) {
      const ratio = row.best.rps / alternated.best.rps;
      if (alternated.kind === 'fastify') row.vsFastify = ratio;
      if (alternated.kind === 'fastify-pg') row.vsFastifyPg = ratio;
      if (alternated.kind.endsWith('-duties')) row.vsDuties = ratio;
    }
  }
  const loadAfter = os.loadavg();

  console.log(`\n${formatTable(all)}\n`);
  const checks = verdicts(all);
  console.log(`${formatVerdicts(checks)}\n`);
  console.log(`load average after: ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);

  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  const out = path.join(OUTPUT_DIR, 'bench.json');
  fs.writeFileSync(
    out,
    `${JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        machine: {
          cpus: os.cpus().length,
          cpuModel: os.cpus()[0]?.model,
          node: process.version,
          loadBefore,
          loadAfter,
        },
        settings: {
          tool: TOOL,
          connections: CONNECTIONS,
          warmupSeconds: WARMUP,
          durationSeconds: DURATION,
          runs: RUNS,
          items: ITEMS,
        },
        rows: all.map((r) => ({ ...r, errors: errorsOf(r.best) })),
        targets: checks,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  if (env.BENCH_LIST !== '0') await runBigList({ build: false });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
