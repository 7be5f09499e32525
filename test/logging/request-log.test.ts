/**
 * Request logging of the built server, as a real process:
 * every request and response is a JSON line on stdout and in `LOG_DIR/api_server.log`, none is lost
 * on SIGTERM, bodies appear at debug level cut at `LOG_BODY_MAX`, the log folder is created, and a
 * start-up failure is logged to both sinks before exit code 1.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { scratchDir } from '../helpers/app.js';
import { jsonLines, spawnServer, startServer, type ChildRun } from '../helpers/process.js';

type Line = Record<string, unknown>;

/** Starts `dist/server.js` over a scratch SQLite file and waits for /healthz. */
async function startSqliteServer(t: TestContext, env: Record<string, string>) {
  const dir = scratchDir(t);
  const run = await startServer(t, { DATABASE_URL: `sqlite:///${path.join(dir, 'db.sqlite3')}`, ...env });
  return { run, baseUrl: run.baseUrl, dir };
}

/** Sends SIGTERM and returns the exit code. */
async function stop(run: ChildRun) {
  run.child.kill('SIGTERM');
  return run.closed;
}

const isItemLine = (msg: string) => (line: Line) =>
  line.msg === msg && line.path === '/api/items/' && line.method === 'POST';

/** Checks one sink: N request and N response lines pairing up by reqId, then the shutdown lines last. */
function assertRequestLog(lines: Line[], n: number, sink: string) {
  const requests = lines.filter(isItemLine('request'));
  const responses = lines.filter(isItemLine('response'));
  assert.equal(requests.length, n, `${sink}: request lines`);
  assert.equal(responses.length, n, `${sink}: response lines`);
  for (const line of [...requests, ...responses]) {
    assert.equal(line.level, 'info', sink);
    assert.ok(
      typeof line.time === 'string' && !Number.isNaN(Date.parse(line.time)),
      `${sink}: time ${String(line.time)}`,
    );
    assert.ok(typeof line.reqId === 'string' && line.reqId !== '', `${sink}: reqId`);
  }
  for (const line of responses) {
    assert.equal(line.status, 201, sink);
    assert.ok(
      typeof line.responseTime === 'number' && line.responseTime >= 0,
      `${sink}: responseTime ${String(line.responseTime)}`,
    );
  }
  const requestIds = requests.map((l) => l.reqId as string);
  assert.equal(new Set(requestIds).size, n, `${sink}: distinct request ids`);
  assert.deepEqual(
    new Set(responses.map((l) => l.reqId)),
    new Set(requestIds),
    `${sink}: every request has its response`,
  );
  assert.deepEqual(
    lines.slice(-3).map((l) => l.msg),
    ['shutdown started', 'closing server', 'server closed'],
    `${sink}: last lines`,
  );
  assert.equal(
    lines.filter((l) => l.msg === 'request body' || l.msg === 'response body').length,
    0,
    `${sink}: no bodies at info`,
  );
}

describe('request logging (built server process)', () => {
  it('logs N requests and N responses to stdout and the file, loses none on SIGTERM, exits 0', async (t) => {
    const n = 200;
    const logDir = path.join(scratchDir(t), 'not', 'yet', 'there');
    const { run, baseUrl } = await startSqliteServer(t, { LOG_DIR: logDir, LOG_LEVEL: 'info' });
    assert.ok(fs.existsSync(logDir), 'LOG_DIR is created at start-up');
    const batch = 20;
    for (let i = 0; i < n; i += batch) {
      const answers = await Promise.all(
        Array.from({ length: batch }, () =>
          fetch(`${baseUrl}/api/items/`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"product":"Apple","price":100}',
          }),
        ),
      );
      for (const answer of answers) {
        assert.equal(answer.status, 201);
        await answer.arrayBuffer();
      }
    }
    assert.equal(await stop(run), 0, run.stderr());
    assertRequestLog(jsonLines(run.stdout()), n, 'stdout');
    assertRequestLog(jsonLines(fs.readFileSync(path.join(logDir, 'api_server.log'), 'utf8')), n, 'api_server.log');
  });

  it('at LOG_LEVEL=debug, logs request and response bodies cut at LOG_BODY_MAX characters', async (t) => {
    const logDir = scratchDir(t);
    const max = 24;
    const { run, baseUrl } = await startSqliteServer(t, {
      LOG_DIR: logDir,
      LOG_LEVEL: 'debug',
      LOG_BODY_MAX: String(max),
    });
    const sent = { product: 'Apple', price: 100, note: 'x'.repeat(100) };
    const created = await fetch(`${baseUrl}/api/items/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sent),
    });
    assert.equal(created.status, 201);
    const answer = await created.text();
    const missing = await fetch(`${baseUrl}/api/items/999/`);
    const missingText = await missing.text();
    assert.ok(missingText.length <= max, 'a short body is logged whole');
    assert.equal(await stop(run), 0, run.stderr());

    const cut = (text: string) => `${text.slice(0, max)}…[${text.length - max} more]`;
    for (const [sink, text] of [
      ['stdout', run.stdout()],
      ['file', fs.readFileSync(path.join(logDir, 'api_server.log'), 'utf8')],
    ] as const) {
      const lines = jsonLines(text);
      const byRequest = (reqId: unknown) => lines.filter((l) => l.reqId === reqId);
      const postRequest = lines.find(isItemLine('request'));
      assert.ok(postRequest, sink);
      const postLines = byRequest(postRequest.reqId);
      assert.equal(
        postLines.find((l) => l.msg === 'request body')?.body,
        cut(JSON.stringify(sent)),
        `${sink}: request body`,
      );
      assert.equal(postLines.find((l) => l.msg === 'response body')?.body, cut(answer), `${sink}: response body`);
      assert.equal(postLines.find((l) => l.msg === 'request body')?.level, 'debug');
      const getRequest = lines.find((l) => l.msg === 'request' && l.path === '/api/items/999/');
      assert.ok(getRequest, sink);
      const getLines = byRequest(getRequest.reqId);
      assert.equal(getLines.find((l) => l.msg === 'response body')?.body, missingText, `${sink}: short body whole`);
      assert.equal(getLines.find((l) => l.msg === 'response')?.status, 404);
    }
  });

  it('keeps serving and logging to stdout when the log file cannot be created', async (t) => {
    const blocker = path.join(scratchDir(t), 'a-file');
    fs.writeFileSync(blocker, '');
    const { run, baseUrl } = await startSqliteServer(t, { LOG_DIR: path.join(blocker, 'logs'), LOG_LEVEL: 'info' });
    const response = await fetch(`${baseUrl}/api/items/`);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    assert.equal(await stop(run), 0, run.stderr());
    const lines = jsonLines(run.stdout());
    assert.ok(
      lines.some((l) => l.msg === 'log file unwritable; logging to stdout only'),
      run.stdout(),
    );
    assert.ok(lines.some((l) => l.msg === 'response' && l.path === '/api/items/' && l.status === 200));
  });

  const startupFailures: [string, (dir: string) => string, RegExp][] = [
    ['an unreachable PostgreSQL', () => 'postgres://root@127.0.0.1:1/x', /ECONNREFUSED/],
    [
      'an SQLite file that cannot be created',
      (dir) => {
        fs.writeFileSync(path.join(dir, 'a-file'), '');
        return `sqlite:///${path.join(dir, 'a-file', 'db.sqlite3')}`;
      },
      /EEXIST|ENOTDIR/,
    ],
  ];
  for (const [cause, databaseUrl, reason] of startupFailures) {
    it(`logs a start-up failure (${cause}) to stdout and the file before exit code 1`, async (t) => {
      const dir = scratchDir(t);
      const logDir = path.join(dir, 'logs');
      const run = await spawnServer(t, {
        DATABASE_URL: databaseUrl(dir),
        LOG_DIR: logDir,
        LOG_LEVEL: 'info',
      });
      assert.equal(await run.closed, 1, run.stdout() + run.stderr());
      assert.doesNotMatch(run.stderr(), /\n\s+at /, 'no uncaught stack trace on stderr');
      for (const [sink, text] of [
        ['stdout', run.stdout()],
        ['file', fs.readFileSync(path.join(logDir, 'api_server.log'), 'utf8')],
      ] as const) {
        const failure = jsonLines(text).at(-1);
        assert.equal(failure?.msg, 'start-up failed', `${sink}: last line\n${text}`);
        assert.equal(failure?.level, 'fatal', sink);
        assert.match(JSON.stringify(failure?.err), reason, `${sink}: names the cause`);
      }
    });
  }
});
