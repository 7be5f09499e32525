/**
 * The ceilings the service is measured against, each driven by the same load tool and settings:
 *
 * - {@link startBareServer}: in its own process, a bare `node:http` server answering a constant
 *   item JSON (nothing built on Node answers faster here), bare Fastify answering the same
 *   constant, and bare Fastify + pg running the retrieve query as one prepared statement without
 *   logging: what the service's own stack gives, and what its targets are set against; and that
 *   bare Fastify and bare Fastify + pg again with the per-request duties the service keeps (log
 *   lines, headers, metrics), each done the cheapest way: the most the service could reach without
 *   giving one up;
 * - {@link runPgbench}: PostgreSQL alone running the retrieve query (`SELECT id, product, price …
 *   WHERE id = $1`, a random seeded id), prepared (`-M prepared`), 32 clients, 2 threads, on the
 *   scratch schema's table: what the database can do without any HTTP in front.
 *
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECURITY_HEADERS } from '../../src/platform/security.js';
import type { LoadResult, LoadSettings } from './load.js';

const BARE_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bare-server.mjs');

/** The bare servers of `bare-server.mjs`. */
export type BareKind = 'http' | 'fastify' | 'fastify-duties' | 'fastify-pg' | 'fastify-pg-duties';

export interface CeilingServer {
  child: ChildProcess;
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts one bare server (`node scripts/bench/bare-server.mjs <kind>`) and resolves once it listens.
 * `env` reaches the process (`DATABASE_URL`, `DB_POOL_MAX` for `fastify-pg`).
 */
export function startBareServer(kind: BareKind, env: Record<string, string> = {}): Promise<CeilingServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BARE_SERVER, kind], {
      stdio: ['ignore', 'pipe', 'inherit'],
      // The duties servers send the service's security headers, taken from its source.
      env: {
        ...process.env,
        ...env,
        ...(kind.endsWith('-duties') ? { DUTY_HEADERS: JSON.stringify(SECURITY_HEADERS) } : {}),
      },
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bare ${kind} server exited ${code} before listening`)));
    child.stdout!.once('data', (chunk: Buffer) => {
      // The first line; the duties servers log to the same stdout after it (drained, unread).
      const port = Number(String(chunk).split('\n')[0]);
      resolve({
        child,
        baseUrl: `http://127.0.0.1:${port}`,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

/** Whether `pgbench` is on the PATH. */
export function hasPgbench(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v pgbench'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
}

/**
 * Runs pgbench for `settings.duration` seconds against `databaseUrl` (a libpq URL) with
 * `search_path` set to `schema` (through `PGOPTIONS`), picking ids from 1 to `maxId`.
 * Latency percentiles come from pgbench's per-transaction log (`-l`, microseconds).
 *
 * @throws when pgbench fails or reports failed transactions.
 */
export function runPgbench(databaseUrl: string, schema: string, maxId: number, settings: LoadSettings): LoadResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itemstore-pgbench-'));
  try {
    const script = path.join(dir, 'retrieve.sql');
    fs.writeFileSync(
      script,
      `\\set id random(1, ${maxId})\nSELECT id, product, price FROM myapi_item WHERE id = :id;\n`,
    );
    const output = execFileSync(
      'pgbench',
      [
        '-n', // no vacuum of pgbench's own tables (there are none)
        '-M',
        'prepared',
        '-c',
        String(settings.connections),
        '-j',
        '2',
        '-T',
        String(settings.duration),
        '-f',
        script,
        '-l',
        `--log-prefix=${path.join(dir, 'tx')}`,
        databaseUrl,
      ],
      {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PGOPTIONS: `-c search_path=${schema}` },
      },
    );
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
    const processed = /number of transactions actually processed: (\d+)/.exec(output);
    const failed = /number of failed transactions: (\d+)/.exec(output);
    if (!tps || !processed) throw new Error(`unexpected pgbench output:\n${output}`);
    const times: number[] = [];
    for (const file of fs.readdirSync(dir).filter((f) => f.startsWith('tx'))) {
      for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
        const fields = line.split(' ');
        if (fields.length >= 3) times.push(Number(fields[2]) / 1000);
      }
    }
    times.sort((a, b) => a - b);
    return {
      requests: Number(processed[1]),
      rps: Number(tps[1]),
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      non2xx: 0,
      socketErrors: failed ? Number(failed[1]) : 0,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
