/**
 * Cursor reads are paced: however many cursors read at once, they share a few milliseconds of each
 * event-loop turn, so other requests are answered between their batches. The clock the pacing reads
 * (`performance.now()`) is replaced by one the test moves, so what is checked does not depend on how
 * fast or loaded the machine is.
 */
import assert from 'node:assert/strict';
import { describe, it, mock, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { createDb, type Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { BACKENDS, type Backend } from '../helpers/backends.js';

const ROWS = 3000;
const BATCH = 1000;

async function seededDb(t: TestContext, backend: Backend): Promise<Db> {
  const db = createDb(loadConfig({ DATABASE_URL: await backend.databaseUrl(t) }).database);
  t.after(() => db.destroy());
  await migrateToLatest(db.kysely);
  if (backend.name === 'postgres') {
    await sql`insert into myapi_item (product, price)
      select 'Item ' || i, i from generate_series(1, ${ROWS}::int) as i`.execute(db.kysely);
  } else {
    await sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${ROWS})
      insert into myapi_item (product, price) select 'Item ' || i, i from s`.execute(db.kysely);
  }
  return db;
}

/** A clock in place of `performance.now()`: each look moves it `msPerLook` on, and {@link advance} more. */
function fakeClock(t: TestContext, msPerLook: number) {
  let now = 0;
  const method = mock.method(performance, 'now', () => (now += msPerLook));
  t.after(() => method.mock.restore());
  return { advance: (ms: number) => (now += ms) };
}

/**
 * Tells whether two moments are in the same event-loop turn: {@link mark} queues an immediate that
 * runs at the start of the next turn's check phase, ahead of any read that waits for that turn.
 */
function turnWatch() {
  let markerRan = true;
  return {
    /** Whether no turn boundary passed since the last call. */
    mark(): boolean {
      const same = !markerRan;
      markerRan = false;
      setImmediate(() => (markerRan = true));
      return same;
    },
  };
}

for (const backend of BACKENDS) {
  describe(`cursor pacing (${backend.name})`, () => {
    it('three cursors read at once hand out one batch per turn when each batch outlasts the slice', async (t) => {
      const db = await seededDb(t, backend);
      const query = db.kysely.selectFrom('myapi_item').select(['id', 'product', 'price']).orderBy('id').compile();
      const cursors = await Promise.all([1, 2, 3].map(() => db.openCursor(query, BATCH)));
      // Each look at the clock finds it 0.1 ms later (a SQLite cursor looks every few dozen rows).
      const clock = fakeClock(t, 0.1);
      const watch = turnWatch();
      let batches = 0;
      let sameTurn = 0;
      const ids = await Promise.all(
        cursors.map(async (cursor) => {
          const seen: number[] = [];
          try {
            for (let rows = await cursor.read(); rows.length; rows = await cursor.read()) {
              batches++;
              if (watch.mark()) sameTurn++;
              // Handling the batch (serializing, writing) takes longer than a slice.
              clock.advance(5);
              seen.push(...rows.map((row) => Number(row.id)));
            }
          } finally {
            await cursor.close();
          }
          return seen;
        }),
      );
      for (const seen of ids)
        assert.deepEqual(
          seen,
          Array.from({ length: ROWS }, (_, i) => i + 1),
        );
      assert.equal(batches, (3 * ROWS) / BATCH);
      assert.equal(sameTurn, 0, `${sameTurn} of ${batches} batches came in the same turn as the one before`);
    });
  });
}

describe('cursor pacing (sqlite rows)', () => {
  it('a batch whose rows take longer than the slice to read is read over several turns', async (t) => {
    const db = await seededDb(
      t,
      BACKENDS.find((b) => b.name === 'sqlite')!,
    );
    const query = db.kysely.selectFrom('myapi_item').select(['id']).orderBy('id').compile();
    const cursor = await db.openCursor(query, BATCH);
    // Every look at the clock finds it half a millisecond later: a slice lasts a few looks.
    fakeClock(t, 0.5);
    let turns = 0;
    let reading = true;
    const tick = () => {
      turns++;
      if (reading) setImmediate(tick);
    };
    setImmediate(tick);
    try {
      const rows = await cursor.read();
      assert.equal(rows.length, BATCH);
    } finally {
      reading = false;
      await cursor.close();
    }
    assert.ok(turns >= 5, `one batch of ${BATCH} rows was read in ${turns} turns`);
  });
});
