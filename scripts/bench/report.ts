/**
 * The benchmark's result: one row per (scenario, backend, variant), printed as one table, checked
 * against its targets, and written as JSON.
 *
 * @module
 */
import type { BareKind } from './ceilings.js';
import type { LoadResult } from './load.js';

export interface Row {
  scenario: string;
  /** `sqlite`, `postgres`, or `-` for a ceiling (bare servers). */
  backend: string;
  /** The better of the runs (by requests/s). */
  best: LoadResult;
  /** Every measured run (warm-up excluded). */
  runs: LoadResult[];
  /** best.rps / node:http ceiling rps. */
  ratio?: number;
  /** best.rps / bare Fastify rps. */
  vsFastify?: number;
  /** best.rps / bare Fastify + pg rps (retrieve). */
  vsFastifyPg?: number;
  /**
   * best.rps / rps of its ceiling with the service's per-request duties (healthz: bare Fastify;
   * retrieve: bare Fastify + pg): how near the service comes to the most it could reach while
   * keeping them.
   */
  vsDuties?: number;
  /** VmRSS in MB after the runs: the process, then each cluster worker. Empty when not applicable. */
  rssMb: number[];
  /**
   * The ceilings measured in alternation with this row (run.ts `TARGET_CEILINGS`), whose bests the
   * row's `vsFastify`, `vsFastifyPg` and `vsDuties` are then ratios to.
   */
  alternatedCeilings?: { kind: BareKind; scenario: string; best: LoadResult }[];
}

/** A target, evaluated. */
export interface Verdict {
  target: string;
  value: string;
  met: boolean | undefined;
}

function fmt(n: number | undefined, digits: number): string {
  return n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);
}

/** Errors of a run: non-2xx responses plus socket errors (connect, read, write, timeout). */
export function errorsOf(r: LoadResult): number {
  return r.non2xx + r.socketErrors;
}

/** The printed table, one line per row. */
export function formatTable(rows: readonly Row[]): string {
  const header = [
    'scenario',
    'backend',
    'req/s',
    'p50 ms',
    'p99 ms',
    'CPU µs',
    'errors',
    'ratio',
    'vs Fastify',
    'vs F+pg',
    'vs duties',
    'RSS MB',
  ];
  const body = rows.map((r) => [
    r.scenario,
    r.backend,
    fmt(r.best.rps, 0),
    fmt(r.best.p50, 2),
    fmt(r.best.p99, 2),
    fmt(r.best.cpuUsPerRequest, 0),
    String(errorsOf(r.best)),
    fmt(r.ratio, 2),
    fmt(r.vsFastify, 2),
    fmt(r.vsFastifyPg, 2),
    fmt(r.vsDuties, 2),
    r.rssMb.length ? r.rssMb.map((m) => fmt(m, 0)).join('/') : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/**
 * The targets, against the rows of one run: first those against the stack's own ceilings (bare
 * Fastify, bare Fastify + pg), then the earlier ones against bare node:http.
 */
export function verdicts(rows: readonly Row[]): Verdict[] {
  const find = (scenario: string, backend: string) =>
    rows.find((r) => r.scenario === scenario && r.backend === backend);
  const out: Verdict[] = [];
  const service = rows.filter((r) => r.backend === 'sqlite' || r.backend === 'postgres');
  for (const backend of ['postgres', 'sqlite']) {
    const row = find('retrieve', backend);
    if (row?.vsFastifyPg !== undefined) {
      const ratio = row.vsFastifyPg;
      out.push({
        target: `retrieve on ${backend}: >= 0.85 of bare Fastify + pg, p99 < 10 ms`,
        value: `${fmt(ratio, 2)}, p99 ${fmt(row.best.p99, 2)} ms`,
        met: ratio >= 0.85 && row.best.p99 < 10,
      });
    }
    if (row?.vsDuties !== undefined) {
      out.push({
        target: `retrieve on ${backend} against bare Fastify + pg with the service's duties (no target: the reachable most)`,
        value: fmt(row.vsDuties, 2),
        met: undefined,
      });
    }
    const healthz = find('healthz', backend);
    if (healthz?.vsFastify !== undefined) {
      out.push({
        target: `healthz on ${backend}: >= 0.8 of bare Fastify`,
        value: fmt(healthz.vsFastify, 2),
        met: healthz.vsFastify >= 0.8,
      });
    }
    if (healthz?.vsDuties !== undefined) {
      out.push({
        target: `healthz on ${backend} against bare Fastify with the service's duties (no target: the reachable most)`,
        value: fmt(healthz.vsDuties, 2),
        met: undefined,
      });
    }
    const shipped = find('retrieve', backend);
    const silent = find('retrieve LOG_LEVEL=silent', backend);
    if (shipped && silent) {
      const cost = 1 - shipped.best.rps / silent.best.rps;
      out.push({
        target: `logging cost on ${backend} (retrieve, info vs silent) <= 10%`,
        value: `${fmt(cost * 100, 1)}%`,
        met: cost <= 0.1,
      });
    }
    // The Idempotency-Key target: a keyed create costs at most 15% more than a plain one,
    // in requests/s (the database's extra insert included) and in the server's CPU per request.
    const plain = find('create', backend);
    const keyed = find('create (Idempotency-Key)', backend);
    if (plain && keyed) {
      const slower = 1 - keyed.best.rps / plain.best.rps;
      const cpu =
        keyed.best.cpuUsPerRequest !== undefined && plain.best.cpuUsPerRequest !== undefined
          ? keyed.best.cpuUsPerRequest / plain.best.cpuUsPerRequest - 1
          : undefined;
      out.push({
        target: `create with Idempotency-Key on ${backend}: <= 15% fewer req/s and <= 15% more CPU than create`,
        value: `${fmt(slower * 100, 1)}% fewer req/s, ${cpu === undefined ? '?' : fmt(cpu * 100, 1)}% more CPU`,
        met: slower <= 0.15 && (cpu === undefined || cpu <= 0.15),
      });
    }
    const single = service.filter((r) => r.backend === backend && r.rssMb.length === 1);
    if (single.length) {
      const rss = Math.max(...single.map((r) => r.rssMb[0]!));
      out.push({
        target: `RSS on ${backend} <= 110 MB after each run`,
        value: `max ${fmt(rss, 0)} MB`,
        met: rss <= 110,
      });
    }
  }
  const ratioTarget = (scenario: string, backend: string, min: number, maxP99?: number) => {
    const row = find(scenario, backend);
    if (!row) return;
    const p99ok = maxP99 === undefined || row.best.p99 < maxP99;
    out.push({
      target: `${scenario} on ${backend}: ratio >= ${min}${maxP99 === undefined ? '' : `, p99 < ${maxP99} ms`}`,
      value: `${fmt(row.ratio, 2)}${maxP99 === undefined ? '' : `, p99 ${fmt(row.best.p99, 2)} ms`}`,
      met: row.ratio === undefined ? undefined : row.ratio >= min && p99ok,
    });
  };
  for (const backend of ['postgres', 'sqlite']) {
    ratioTarget('retrieve', backend, 0.5, 10);
    ratioTarget('filter (exact)', backend, 0.4);
    ratioTarget('list 100', backend, 0.2);
    ratioTarget('create', backend, 0.2);
  }
  const errors = service.reduce((n, r) => n + errorsOf(r.best), 0);
  out.push({ target: 'zero errors in every service row', value: String(errors), met: errors === 0 });
  const maxWorkerRss = Math.max(...service.flatMap((r) => (r.rssMb.length > 1 ? r.rssMb.slice(1) : r.rssMb)));
  out.push({ target: 'RSS < 120 MB per worker', value: `max ${fmt(maxWorkerRss, 0)} MB`, met: maxWorkerRss < 120 });
  return out;
}

/** Verdicts as printable lines. */
export function formatVerdicts(list: readonly Verdict[]): string {
  return list
    .map((v) => `${v.met === undefined ? '?   ' : v.met ? 'met ' : 'MISS'}  ${v.target}: ${v.value}`)
    .join('\n');
}
