/**
 * A `LOG_DIR` that cannot be created never holds up the start: the built server, as a real process,
 * serves within the usual start-up bound, logs to stdout only and says so in exactly one line.
 * Under `/proc`, `mkdir` answers ENOENT although the parent exists, on which Node 20's recursive
 * `mkdirSync` loops forever at full CPU. Run `npm run build` first (`npm test` does).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { scratchDir } from '../helpers/app.js';
import { jsonLines, runBuilt, waitUntilHealthy } from '../helpers/process.js';
import { freePort } from '../helpers/server.js';

const UNWRITABLE = 'log file unwritable; logging to stdout only';

describe('a LOG_DIR that cannot be created', () => {
  for (const logDir of ['/proc/itemstore-nope', '/proc/itemstore-nope/deeper/logs']) {
    it(`${logDir}: serves with stdout only, said once`, async (t) => {
      assert.ok(fs.existsSync('/proc/self'), 'this test needs Linux /proc');
      const port = await freePort();
      const run = runBuilt(t, 'server.js', {
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: `sqlite:///${path.join(scratchDir(t), 'db.sqlite3')}`,
        LOG_DIR: logDir,
        LOG_LEVEL: 'info',
        SHUTDOWN_DRAIN_MS: '0',
      });
      const baseUrl = `http://127.0.0.1:${port}`;
      // Bounded (15 s): a start stuck creating the folder fails here instead of hanging the suite.
      await waitUntilHealthy(run, baseUrl);
      const response = await fetch(`${baseUrl}/api/items/`);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
      run.child.kill('SIGTERM');
      assert.equal(await run.closed, 0, run.stderr());

      const lines = jsonLines(run.stdout());
      const problems = lines.filter((l) => l.msg === UNWRITABLE);
      assert.equal(problems.length, 1, run.stdout());
      assert.equal(problems[0]!.path, path.join(logDir, 'api_server.log'));
      assert.equal((problems[0]!.err as { code?: string }).code, 'ENOENT');
      assert.ok(lines.some((l) => l.msg === 'response' && l.path === '/api/items/' && l.status === 200));
    });
  }
});
