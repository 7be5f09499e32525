/**
 * The process model: `WEB_CONCURRENCY` workers under a primary that migrates once,
 * replaces a worker that dies (and logs it), aggregates `/metrics`, relays SIGTERM and exits 0,
 * and passes on its workers' log lines whole.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { scratchDir } from '../helpers/app.js';
import { jsonLines, waitFor } from '../helpers/raw-http.js';
import { spawnServer, startServer } from '../helpers/process.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('WEB_CONCURRENCY workers', () => {
  it('replaces a killed worker, logs it, aggregates metrics, and exits 0 on SIGTERM', async (t) => {
    const dir = scratchDir(t);
    const server = await startServer(t, {
      DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`,
      LOG_DIR: dir,
      WEB_CONCURRENCY: '2',
      SHUTDOWN_DRAIN_MS: '0',
    });
    const lines = () => jsonLines(server.output());
    const listening = () =>
      lines()
        .filter((l) => l.msg === 'worker listening')
        .map((l) => l.workerPid as number);
    await waitFor(() => listening().length === 2, 'two workers listening');
    assert.equal(lines().filter((l) => l.msg === 'migrations applied').length, 1, 'migrated once, by the primary');
    const [victim, survivor] = listening() as [number, number];
    assert.notEqual(victim, server.child.pid);

    process.kill(victim, 'SIGKILL');
    await waitFor(() => listening().length === 3, 'a replacement worker listening');
    const died = lines().find((l) => l.msg === 'worker died; replacing it');
    assert.equal(died?.level, 'error');
    assert.equal(died?.workerPid, victim);
    assert.equal(died?.signal, 'SIGKILL');
    assert.equal(died?.pid, server.child.pid, 'logged by the primary');

    // Writes and reads across workers; every request counted once in the aggregated metrics.
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${server.baseUrl}/api/items/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ product: `Item ${i}`, price: i }),
      });
      assert.equal(response.status, 201);
    }
    const items = (await (await fetch(`${server.baseUrl}/api/items/`)).json()) as unknown[];
    assert.equal(items.length, 6);
    const servedBy = new Set(
      lines()
        .filter((l) => l.msg === 'response' && l.method === 'POST')
        .map((l) => l.pid),
    );
    assert.equal(servedBy.size, 2, 'both workers served requests');
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    assert.match(metrics, /^http_requests_total\{method="POST",route="\/api\/items\/",status_code="201"\} 6$/m);

    const replacement = listening()[2]!;
    server.child.kill('SIGTERM');
    assert.equal(await server.closed, 0);
    for (const pid of [survivor, replacement]) assert.equal(isAlive(pid), false, `worker ${pid} gone`);
    const exited = lines().filter((l) => l.msg === 'worker exited');
    assert.deepEqual(
      exited.map((l) => l.exitCode),
      [0, 0],
    );
    assert.equal(lines().at(-1)?.msg, 'primary exiting');
  });

  it("keeps two workers' lines whole on their shared stdout under load", async (t) => {
    const dir = scratchDir(t);
    // At debug each request body is logged, ~1.5 KB a line: a turn's lines pass the 4 KiB a pipe
    // keeps whole, so two workers writing to one pipe would cut into each other's lines.
    const server = await startServer(t, {
      DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`,
      LOG_DIR: '',
      LOG_LEVEL: 'debug',
      LOG_BODY_MAX: '4000',
      WEB_CONCURRENCY: '2',
      SHUTDOWN_DRAIN_MS: '0',
    });
    await waitFor(() => jsonLines(server.output()).filter((l) => l.msg === 'worker listening').length === 2, 'workers');
    const n = 400;
    const note = 'n'.repeat(1400);
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const response = await fetch(`${server.baseUrl}/api/items/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ product: `Item ${i}`, price: i, note }),
        });
        assert.equal(response.status, 201);
      }),
    );
    server.child.kill('SIGTERM');
    assert.equal(await server.closed, 0);
    const lines = jsonLines(server.output());
    const bodies = lines.filter((l) => l.msg === 'request body');
    assert.equal(bodies.length, n, 'every body line, whole');
    assert.equal(new Set(bodies.map((l) => l.pid)).size, 2, 'from both workers');
  });

  it('stops with exit code 1 when workers cannot boot (port taken), instead of forking forever', async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const { port } = blocker.address() as net.AddressInfo;
    const dir = scratchDir(t);
    const server = await spawnServer(t, {
      PORT: String(port),
      WEB_CONCURRENCY: '2',
      LOG_DIR: '',
      DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`,
    });
    const code = await server.closed;
    const output = server.output();
    assert.equal(code, 1, output);
    assert.ok(
      jsonLines(output).some((l) => l.msg === 'worker failed to boot; stopping' && l.level === 'fatal'),
      output,
    );
  });
});
