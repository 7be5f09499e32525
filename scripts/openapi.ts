/**
 * `npm run openapi [-- OUTPUT]`: writes the service's OpenAPI 3.1 document (the same one
 * `GET /openapi.json` serves) to OUTPUT, by default `openapi.json` in the current folder
 * (git-ignored). Front ends generate their types from it, e.g. `npx openapi-typescript openapi.json`.
 *
 * The app is built on an in-memory SQLite database and never listens; no configuration is read.
 * Exit code 1 (with the reason on stderr) when the file cannot be written.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/database.js';
import { createLogger } from '../src/platform/logger.js';

/** Builds the app (without listening) and returns its OpenAPI document. */
async function generateOpenApiDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({ DATABASE_URL: 'sqlite://:memory:', LOG_LEVEL: 'silent', LOG_DIR: '' });
  const sinks = createLogger({ level: config.logLevel, logDir: config.logDir });
  const db = createDb(config.database);
  try {
    const app = await buildApp({ config, db, logger: sinks.logger });
    await app.ready();
    const document = structuredClone(app.swagger()) as Record<string, unknown>;
    await app.close();
    return document;
  } finally {
    await db.destroy();
    sinks.flush();
  }
}

async function main(argv: string[]): Promise<number> {
  const output = path.resolve(argv[0] ?? 'openapi.json');
  const document = await generateOpenApiDocument();
  try {
    fs.writeFileSync(output, `${JSON.stringify(document, null, 2)}\n`);
  } catch (error) {
    process.stderr.write(`openapi: cannot write ${output}: ${(error as Error).message}\n`);
    return 1;
  }
  const paths = Object.keys((document.paths ?? {}) as object).length;
  process.stdout.write(`Wrote ${output} (OpenAPI ${String(document.openapi)}, ${paths} paths).\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
