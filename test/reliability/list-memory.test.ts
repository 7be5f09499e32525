/**
 * The whole list through a real socket from the built server as its own process: its resident
 * memory stays flat however many rows the list holds (the rows pass through a batch at a time).
 * Built whole, 150,000 items grew the server by about 100 MB; streamed, by a few MB.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import SQLite from 'better-sqlite3';
import { BACKENDS } from '../helpers/backends.js';
import { startServer } from '../helpers/process.js';
import { scratchDir } from '../helpers/app.js';

const ITEMS = 150_000;
/** Most the server's RSS may grow while sending the list, in MB. */
const MAX_GROWTH_MB = 50;

function rssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(kb![1]) / 1024;
}

/** GETs `url` and counts the body's bytes and `"id":` occurrences as they arrive (nothing kept). */
function countList(url: string): Promise<{ status: number; items: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let items = 0;
        let tail = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const text = tail + chunk;
          items += text.split('{"id":').length - 1;
          tail = text.slice(-6);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, items, complete: tail.endsWith(']') }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

for (const backend of BACKENDS) {
  describe(`list memory (${backend.name}, built server)`, () => {
    it(`sends ${ITEMS.toLocaleString('en')} items with the server's RSS growing under ${MAX_GROWTH_MB} MB`, async (t) => {
      const databaseUrl = await backend.databaseUrl(t);
      const server = await startServer(t, {
        DATABASE_URL: databaseUrl,
        LOG_DIR: scratchDir(t),
        LOG_LEVEL: 'warn',
        SHUTDOWN_DRAIN_MS: '0',
      });
      t.after(() => {
        server.child.kill('SIGTERM');
        return server.closed;
      });
      if (backend.name === 'postgres') {
        const seeder = new pg.Client({ connectionString: databaseUrl });
        await seeder.connect();
        await seeder.query('set statement_timeout = 0');
        await seeder.query(`insert into myapi_item (product, price)
          select 'Item ' || i, i % 1000 from generate_series(1, ${ITEMS}) as i`);
        await seeder.end();
      } else {
        const file = path.resolve(new URL(databaseUrl.replace('sqlite:///', 'file:///')).pathname);
        const database = new SQLite(file, { timeout: 5000 });
        database.exec(`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${ITEMS})
          insert into myapi_item (product, price) select 'Item ' || i, i % 1000 from s`);
        database.close();
      }
      const pid = server.child.pid!;
      await countList(`${server.baseUrl}/api/items/?product=none`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const before = rssMb(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 10);
      const list = await countList(`${server.baseUrl}/api/items/`);
      clearInterval(sampler);
      peak = Math.max(peak, rssMb(pid));
      t.diagnostic(
        `RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB (+${(peak - before).toFixed(1)} MB)`,
      );
      assert.deepEqual(list, { status: 200, items: ITEMS, complete: true });
      assert.ok(peak - before < MAX_GROWTH_MB, `RSS grew by ${(peak - before).toFixed(1)} MB`);
    });
  });
}
