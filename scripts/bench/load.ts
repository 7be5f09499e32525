/**
 * The load generator, always in a separate process from the server and from the harness: `wrk`
 * where installed (one thread, as the issue's reference figures were taken), else autocannon run in
 * a child Node process (`autocannon-child.ts`). Both get the same {@link LoadSpec} and return the
 * same {@link LoadResult}.
 *
 * Each request picks one of `spec.paths` at random, so "retrieve by random id" is a list of every
 * seeded id's URL; a scenario with one path sends that path every time.
 *
 * @module
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** One scenario's requests. */
export interface LoadSpec {
  method: 'GET' | 'POST' | 'PATCH';
  /** Paths with query, each request picks one at random. */
  paths: readonly string[];
  /** JSON body sent with every request (POST/PATCH). */
  body?: string;
  /** A request header given a value unique to each request of a run (`Idempotency-Key`). */
  uniqueHeader?: string;
}

/** A prefix for {@link LoadSpec.uniqueHeader} values, new for every run so runs never share a value. */
function runPrefix(): string {
  return `bench-${randomBytes(6).toString('hex')}-`;
}

/** The fixed load settings (32 connections, one load thread). */
export interface LoadSettings {
  connections: number;
  /** Seconds. */
  duration: number;
}

/** One measured run. Latencies in milliseconds. */
export interface LoadResult {
  requests: number;
  /** Requests per second over the run. */
  rps: number;
  p50: number;
  p99: number;
  /** Responses outside 2xx (wrk counts status >= 400; redirects are not expected here). */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  socketErrors: number;
  /**
   * CPU time the server processes spent per request during the run (user + system, µs), when
   * measured. Unlike requests/s it hardly moves with other load on the machine, so A/B runs on a
   * busy machine compare it first.
   */
  cpuUsPerRequest?: number;
}

export type LoadTool = 'wrk' | 'autocannon';

/** `BENCH_LOAD=wrk|autocannon` chooses; by default wrk when `command -v wrk` finds it. */
export function chooseLoadTool(requested: string | undefined): LoadTool {
  if (requested === 'wrk' || requested === 'autocannon') return requested;
  if (requested) throw new Error(`BENCH_LOAD=${requested}: use wrk or autocannon`);
  try {
    execFileSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' });
    return 'wrk';
  } catch {
    return 'autocannon';
  }
}

function luaString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
}

/** The wrk Lua script: method, body, random path, and a JSON summary line from `done`. */
function wrkScript(spec: LoadSpec): string {
  const lines = [`wrk.method = "${spec.method}"`];
  if (spec.body !== undefined) {
    lines.push(`wrk.body = ${luaString(spec.body)}`, 'wrk.headers["Content-Type"] = "application/json"');
  }
  if (spec.uniqueHeader !== undefined) {
    lines.push(
      `local paths = {${spec.paths.map(luaString).join(',')}}`,
      'local n = #paths',
      'local counter = 0',
      `local prefix = ${luaString(runPrefix())}`,
      'init = function(args) math.randomseed(os.time()) end',
      'request = function()',
      '  counter = counter + 1',
      `  wrk.headers[${luaString(spec.uniqueHeader)}] = prefix .. counter`,
      '  return wrk.format(nil, paths[math.random(n)])',
      'end',
    );
  } else if (spec.paths.length === 1) {
    lines.push(`wrk.path = ${luaString(spec.paths[0]!)}`);
  } else {
    lines.push(
      `local paths = {${spec.paths.map(luaString).join(',')}}`,
      'local n = #paths',
      'init = function(args) math.randomseed(os.time()) end',
      'request = function() return wrk.format(nil, paths[math.random(n)]) end',
    );
  }
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format("BENCHJSON {\\"requests\\":%d,\\"durationUs\\":%d,\\"p50Us\\":%d,\\"p99Us\\":%d,\\"status\\":%d,\\"socket\\":%d}\\n",',
    '    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))',
    'end',
  );
  return lines.join('\n');
}

function runProcess(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}:\n${out}\n${err}`)),
    );
  });
}

function parseMarked(output: string): Record<string, number> {
  const line = output.split('\n').find((l) => l.startsWith('BENCHJSON '));
  if (!line) throw new Error(`no BENCHJSON line in load output:\n${output}`);
  return JSON.parse(line.slice('BENCHJSON '.length)) as Record<string, number>;
}

async function runWrk(baseUrl: string, spec: LoadSpec, settings: LoadSettings): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itemstore-wrk-'));
  try {
    const script = path.join(dir, 'scenario.lua');
    fs.writeFileSync(script, wrkScript(spec));
    const output = await runProcess('wrk', [
      '-t1',
      `-c${settings.connections}`,
      `-d${settings.duration}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      baseUrl,
    ]);
    const r = parseMarked(output);
    return {
      requests: r.requests!,
      rps: r.requests! / (r.durationUs! / 1e6),
      p50: r.p50Us! / 1000,
      p99: r.p99Us! / 1000,
      non2xx: r.status!,
      socketErrors: r.socket!,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(baseUrl: string, spec: LoadSpec, settings: LoadSettings): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itemstore-ac-'));
  try {
    const specFile = path.join(dir, 'spec.json');
    fs.writeFileSync(specFile, JSON.stringify({ baseUrl, spec, settings, prefix: runPrefix() }));
    const output = await runProcess(process.execPath, [
      '--import',
      'tsx',
      path.join(HERE, 'autocannon-child.ts'),
      specFile,
    ]);
    return parseMarked(output) as unknown as LoadResult;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs one load of `settings.duration` seconds against `baseUrl` in a separate process. */
export function runLoad(tool: LoadTool, baseUrl: string, spec: LoadSpec, settings: LoadSettings): Promise<LoadResult> {
  return tool === 'wrk' ? runWrk(baseUrl, spec, settings) : runAutocannon(baseUrl, spec, settings);
}
