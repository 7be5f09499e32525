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
import { jsonLines, startServer } from '../helpers/process.js';

const UNWRITABLE = 'log file unwritable; logging to stdout only';

describe('a LOG_DIR that cannot be created', () => {
  for (const logDir of ['/proc/itemstore-nope', '/proc/itemstore-nope/deeper/logs']) {
    it(`${logDir}: serves with stdout only, said once`, async (t) => {
      assert.ok(fs.existsSync('/proc/self'), 'this test needs Linux /proc');
      const run = await startServer(t, {
        DATABASE_URL: `sqlite:///${path.join(scratchDir(t), 'db.sqlite3')}`,
        LOG_DIR: logDir,
        LOG_LEVEL: 'info',
      });
      // Bounded: a start stuck creating the folder fails in startServer instead of hanging the suite.
      const response = await fetch(`${run.baseUrl}/api/items/`);
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
