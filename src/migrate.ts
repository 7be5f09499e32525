/**
 * `npm run migrate`: applies pending migrations on `MIGRATION_DATABASE_URL` (default `DATABASE_URL`)
 * and exits (the analogue of `python manage.py migrate`). Prints one line per migration applied, or
 * that there was nothing to do. Exit code 1 on failure, with one line on stderr.
 *
 * @module
 */
import { ConfigError, loadConfig, loadEnvFile } from './config.js';
import { createDb } from './db/database.js';
import { migrateWithConfig } from './db/migrate.js';

async function main(): Promise<number> {
  let config;
  try {
    loadEnvFile();
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`itemstore: invalid configuration: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  let db;
  try {
    // Opening an SQLite file creates its folder, which can fail (a path through a file: ENOTDIR).
    db = createDb(config.migrationDatabase);
  } catch (error) {
    process.stderr.write(`itemstore: migration failed: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    const results = await migrateWithConfig(db, config);
    if (results.length === 0) process.stdout.write('No migrations to apply.\n');
    for (const r of results)
      process.stdout.write(`Applying ${r.migrationName}... ${r.status === 'Success' ? 'OK' : r.status}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`itemstore: migration failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await db.destroy();
  }
}

process.exitCode = await main();
