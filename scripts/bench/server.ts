/**
 * The built service (`node dist/server.js`) as the benchmark runs it: its own process, logging as
 * shipped (pino JSON lines to stdout, here a pipe the harness drains and discards keeping only the
 * last few kilobytes for error messages, plus `LOG_DIR/api_server.log`), stopped with SIGTERM.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, freePort } from '../../test/helpers/process.js';

/** Kept from the server's output for error messages, in characters. */
const OUTPUT_TAIL = 16_384;

export interface BenchServer {
  child: ChildProcess;
  baseUrl: string;
  /** The last {@link OUTPUT_TAIL} characters of stdout and stderr. */
  outputTail(): string;
  /** Bytes the server wrote to stdout and stderr (the console log sink), drained by the harness. */
  outputBytes(): number;
  /** The server process and, for a cluster primary, its workers. */
  pids(): number[];
  /** VmRSS in MB of the server process and, for a cluster primary, of each worker (primary first). */
  rssMb(): number[];
  /** SIGTERM, then waits for exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

/** VmRSS of `pid` in MB (from /proc/<pid>/status), or NaN once the process is gone. */
export function readRssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return kb ? Number(kb[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`: 100 on Linux). */
const CLK_TCK = 100;

/** User + system CPU seconds `pid` has used, from /proc/<pid>/stat (fields 14 and 15); 0 once gone. */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Direct children of `pid` (cluster workers), from /proc/<pid>/task/<tid>/children. */
export function childPids(pid: number): number[] {
  const pids: number[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) pids.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return pids;
}

export interface StartOptions {
  env: Record<string, string>;
  /** Write a V8 CPU profile into this folder when the server exits (`node --cpu-prof`). */
  cpuProfileDir?: string;
  /** The entry point to run; default `dist/server.js` (another build, for A/B comparisons). */
  entry?: string;
}

/**
 * Node's own flags in `npm start` (package.json `scripts.start`, `node <flags> dist/server.js`),
 * which the Dockerfile repeats as `NODE_OPTIONS`: the service measured as it is shipped.
 *
 * @throws {Error} when the start script is not of that form.
 */
export function shippedNodeFlags(): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = manifest.scripts.start!.split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/server.js') {
    throw new Error(`npm start is not "node <flags> dist/server.js": ${manifest.scripts.start}`);
  }
  return words.slice(1, -1);
}

/**
 * Starts `node dist/server.js` on 127.0.0.1 at a free port, with {@link shippedNodeFlags}, and waits
 * until `/healthz` answers.
 *
 * @throws if the process exits or does not answer within 60 s; the message carries its output.
 */
export async function startBenchServer({ env, cpuProfileDir, entry }: StartOptions): Promise<BenchServer> {
  const port = await freePort();
  const args = [...shippedNodeFlags(), ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [])];
  const child = spawn(process.execPath, [...args, entry ?? path.join(PROJECT_ROOT, 'dist/server.js')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let bytes = 0;
  const drain = (chunk: Buffer) => {
    bytes += chunk.length;
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout!.on('data', drain);
  child.stderr!.on('data', drain);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !gone) {
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (gone || Date.now() >= deadline) {
    child.kill('SIGKILL');
    throw new Error(`server did not become healthy on port ${port}:\n${tail}`);
  }
  const pid = child.pid!;
  return {
    child,
    baseUrl,
    outputTail: () => tail,
    outputBytes: () => bytes,
    pids: () => [pid, ...childPids(pid)],
    rssMb: () => [pid, ...childPids(pid)].map(readRssMb),
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
