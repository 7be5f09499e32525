/**
 * `npm run bench:profile -- <file.cpuprofile> [top] [function]`: the top self-time functions of a
 * V8 CPU profile (`node --cpu-prof`, or `BENCH_CPU_PROF=1 npm run bench`), and self time per
 * package; with `function`, also the call paths (innermost 12 frames) that lead to its self time.
 *
 * Self time of a function is the number of samples whose innermost frame it is, times the
 * sampling interval (`timeDeltas`). Shares are of all samples including `(idle)`, then of the
 * non-idle ones, since under load the idle share says how busy the process was. Shares, not
 * milliseconds, are what compare across runs on a loaded machine.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/<pkg>` (scoped too), `node:<internal>`, `(program)`-style names, or the project file. */
function packageOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const src = /\/(src|dist)\/(.*)$/.exec(url);
  return src ? `service ${src[2]}` : url;
}

/**
 * The layer a sample belongs to, for the "where a request's microseconds go" table of
 * BENCHMARKS.md: by the innermost frame's package; native frames (system calls, V8 builtins) and
 * Node's own modules count for the nearest caller outside them (Fastify's `reply.send` for the HTTP
 * response's `writev`, pg for the query's).
 */
function layerOf(pkg: string): string {
  if (/^(pino|sonic-boom|quick-format-unescaped|fast-redact|on-exit-leak-free)$/.test(pkg)) return 'logging';
  if (/^(pg|pg-protocol|pg-pool|pg-types|postgres-|kysely|better-sqlite3)/.test(pkg)) return 'driver';
  if (/^(fast-json-stringify|json-schema-ref-resolver)$/.test(pkg)) return 'serialization';
  if (
    /^(fastify|find-my-way|avvio|light-my-request|@fastify\/(?!swagger|static|cors))|fast-querystring|toad-cache|reusify/.test(
      pkg,
    )
  )
    return 'framework';
  if (pkg === 'node internals' || pkg === '(native)') return 'node (no caller of ours)';
  if (pkg === 'prom-client') return 'metrics (prom-client)';
  if (pkg.startsWith('service ')) return 'our hooks and handlers';
  if (pkg === '(garbage collector)') return 'GC';
  return 'other';
}

function main(): void {
  const file = process.argv[2];
  const top = Number(process.argv[3] || 25);
  if (!file) throw new Error('usage: npm run bench:profile -- <file.cpuprofile> [top]');
  const callersOf = process.argv[4];
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frame = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    return `${functionName || '(anonymous)'}${url ? ` ${path.basename(url)}:${lineNumber + 1}` : ''}`;
  };
  const paths = new Map<string, number>();
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const byLayer = new Map<string, number>();
  /** The nearest frame up the stack from `id` outside native code and Node's modules. */
  const caller = (id: number): ProfileNode | undefined => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)!;
      if (node.callFrame.url && !node.callFrame.url.startsWith('node:')) return node;
    }
    return undefined;
  };
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    total += us;
    if (functionName === '(idle)') idle += us;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where} [${packageOf(url, functionName)}]`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    if (callersOf && functionName === callersOf) {
      const chain: string[] = [];
      for (let at: number | undefined = id; at !== undefined && chain.length < 12; at = parent.get(at))
        chain.push(frame(at));
      const key = chain.join(' < ');
      paths.set(key, (paths.get(key) ?? 0) + us);
    }
    const pkg = packageOf(url, functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    if (functionName !== '(idle)') {
      const via = pkg === '(native)' || pkg === 'node internals' ? caller(id) : undefined;
      const layer = via ? layerOf(packageOf(via.callFrame.url, via.callFrame.functionName)) : layerOf(pkg);
      byLayer.set(layer, (byLayer.get(layer) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1).padStart(5)}%`;
  console.log(
    `${file}\n${(total / 1e6).toFixed(1)} s sampled, ${pct(idle, total)} idle; shares below are of the ${(busy / 1e6).toFixed(1)} s busy\n`,
  );
  console.log('self time by function:');
  for (const [key, us] of [...byFunction]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`  ${pct(us, busy)}  ${key}`);
  }
  if (callersOf) {
    console.log(`\ncall paths to ${callersOf}:`);
    for (const [key, us] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${pct(us, busy)}  ${key}`);
  }
  console.log('\nself time by layer (native and Node-internal time under the caller that caused it):');
  for (const [layer, us] of [...byLayer].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(us, busy)}  ${layer}`);
  console.log('\nself time by package:');
  for (const [pkg, us] of [...byPackage]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`  ${pct(us, busy)}  ${pkg}`);
  }
}

main();
