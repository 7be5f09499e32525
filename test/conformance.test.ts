/**
 * The recorded DRF contract (`../shared/conformance/public.json`) against the built server, started
 * as `npm start` runs it, on a scratch SQLite file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { scratchDir } from './helpers/app.js';
import { BACKENDS } from './helpers/backends.js';
import { PROJECT_ROOT, startServer } from './helpers/process.js';

const CONFORMANCE_DIR = path.resolve(PROJECT_ROOT, '../shared/conformance');

describe('DRF conformance cases', () => {
  for (const backend of BACKENDS) {
    it(`passes every public case on ${backend.name}`, async (t) => {
      assert.ok(
        fs.existsSync(path.join(CONFORMANCE_DIR, 'run.mjs')),
        `conformance suite missing at ${CONFORMANCE_DIR}`,
      );
      const dir = scratchDir(t);
      const server = await startServer(t, {
        DATABASE_URL: await backend.databaseUrl(t),
        LOG_DIR: dir,
        LOG_LEVEL: 'warn',
      });
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [path.join(CONFORMANCE_DIR, 'run.mjs'), server.baseUrl, path.join(CONFORMANCE_DIR, 'public.json')],
        { maxBuffer: 10 * 1024 * 1024 },
      ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
      const failures = stdout.split('\n').filter((line) => line.startsWith('FAIL'));
      assert.deepEqual(failures, []);
      assert.match(stdout, /^\d+ passed, 0 failed$/m);
    });
  }
});
