/**
 * autocannon as its own process (started by `load.ts` when wrk is not installed), so the load
 * generator never shares an event loop with the harness or the server.
 *
 * Usage: `node --import tsx scripts/bench/autocannon-child.ts <spec.json>`, where the file holds
 * `{baseUrl, spec: LoadSpec, settings: LoadSettings, prefix}` (`prefix` starts `spec.uniqueHeader`'s values). Prints one `BENCHJSON {…LoadResult}` line.
 * Percentiles come from each response's own time (autocannon's `response` event, fractional
 * milliseconds), not from autocannon's whole-millisecond histogram.
 *
 * @module
 */
import fs from 'node:fs';
import autocannon from 'autocannon';
import type { LoadResult, LoadSettings, LoadSpec } from './load.js';

const { baseUrl, spec, settings, prefix } = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as {
  baseUrl: string;
  spec: LoadSpec;
  settings: LoadSettings;
  prefix: string;
};
let counter = 0;

const times: number[] = [];
const headers: Record<string, string> = spec.body === undefined ? {} : { 'content-type': 'application/json' };
const paths = spec.paths;
const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const instance = autocannon(
    {
      url: baseUrl,
      connections: settings.connections,
      duration: settings.duration,
      timeout: 10,
      requests: [
        {
          method: spec.method,
          headers,
          ...(spec.body === undefined ? {} : { body: spec.body }),
          setupRequest: (req) => ({
            ...req,
            path: paths[Math.floor(Math.random() * paths.length)]!,
            ...(spec.uniqueHeader === undefined
              ? {}
              : { headers: { ...req.headers, [spec.uniqueHeader]: `${prefix}${++counter}` } }),
          }),
        },
      ],
    },
    (error, done) => (error ? reject(error as Error) : resolve(done)),
  );
  instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
});

times.sort((a, b) => a - b);
const percentile = (p: number) =>
  times.length ? times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)]! : NaN;
const out: LoadResult = {
  requests: result.requests.total,
  rps: result.requests.total / (result.duration || settings.duration),
  p50: percentile(50),
  p99: percentile(99),
  non2xx: result.non2xx,
  socketErrors: result.errors, // autocannon counts timeouts among errors
};
console.log(`BENCHJSON ${JSON.stringify(out)}`);
