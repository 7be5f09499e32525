/**
 * Retried creates across two instances of the built server on one PostgreSQL schema, through real
 * sockets: the `Idempotency-Key` answer is stored with the item in one transaction, so
 * - 20 concurrent POSTs with one key, spread over both instances, make exactly one row, and every
 *   201 among them carries that row;
 * - clients creating in a loop, each create with its own key, retrying on the other instance after
 *   a network error or a 5xx, end with exactly one row per key answered 201 (and at most one per
 *   key never answered) when the first instance is killed with SIGKILL in the middle: a create
 *   that committed but whose answer was lost is answered from the stored key, not made again.
 *
 * Run `npm run build` first (`npm test` does).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import pg from 'pg';
import { Agent, request } from 'undici';
import { scratchDir } from '../helpers/app.js';
import { TEST_DATABASE_URL, createTestSchema, withSearchPath } from '../helpers/backends.js';
import { startServer, type ServerRun } from '../helpers/process.js';

/** Client loops of the kill test, one keep-alive connection to each instance apiece. */
const CLIENTS = 8;
/** Creates per loop: the loops always end. */
const CREATES_PER_CLIENT = 120;
/** Creates answered before the first instance is killed. */
const KILL_AFTER_CREATES = 200;
/** Attempts of one create on the surviving instance before the client gives up on that key. */
const RETRIES = 40;

async function twoInstances(t: TestContext): Promise<{ databaseUrl: string; a: ServerRun; b: ServerRun }> {
  const schema = await createTestSchema(t);
  const databaseUrl = withSearchPath(TEST_DATABASE_URL, schema);
  const env = { DATABASE_URL: databaseUrl, LOG_DIR: scratchDir(t), LOG_LEVEL: 'warn' };
  const a = await startServer(t, env);
  const b = await startServer(t, { ...env, LOG_DIR: scratchDir(t) });
  return { databaseUrl, a, b };
}

async function productCounts(databaseUrl: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ product: string; n: string }>(
      'select product, count(*) as n from myapi_item group by product',
    );
    return new Map(rows.map((row) => [row.product, Number(row.n)]));
  } finally {
    await client.end();
  }
}

interface Answer {
  status: number;
  text: string;
}

async function post(baseUrl: string, dispatcher: Agent, key: string, json: unknown): Promise<Answer> {
  const response = await request(`${baseUrl}/api/items/`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(json),
  });
  return { status: response.statusCode, text: await response.body.text() };
}

describe('Idempotency-Key across two instances on one PostgreSQL', () => {
  it('20 concurrent POSTs with one key over both instances make one row; every 201 is that row', async (t) => {
    const { databaseUrl, a, b } = await twoInstances(t);
    const dispatcher = new Agent({ connections: 20 });
    t.after(() => dispatcher.close());
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(i % 2 ? a.baseUrl : b.baseUrl, dispatcher, 'one-key', { product: 'Only once', price: 1 }),
      ),
    );
    const created = answers.filter((answer) => answer.status === 201);
    assert.ok(created.length >= 1, `statuses ${answers.map((answer) => answer.status).join(',')}`);
    // Every other answer is 409 (the first was still running) with the draft's {"detail"} body.
    for (const answer of answers.filter((answer) => answer.status !== 201)) {
      assert.equal(answer.status, 409, answer.text);
      assert.deepEqual(Object.keys(JSON.parse(answer.text) as object), ['detail']);
    }
    assert.equal(new Set(created.map((answer) => answer.text)).size, 1, 'every 201 is the same item');
    assert.deepEqual([...(await productCounts(databaseUrl))], [['Only once', 1]]);
    // Once the first has finished, a retry on either instance gets its answer.
    for (const instance of [a, b]) {
      const retry = await post(instance.baseUrl, dispatcher, 'one-key', { product: 'Only once', price: 1 });
      assert.deepEqual(retry, created[0]);
    }
  });

  it(`${CLIENTS} clients creating with keys, retrying on the other instance; SIGKILL of the first: one row per key answered 201`, async (t) => {
    const { databaseUrl, a, b } = await twoInstances(t);
    const toA = new Agent({ connections: CLIENTS });
    const toB = new Agent({ connections: CLIENTS });
    t.after(() => Promise.all([toA.destroy(), toB.destroy()]));

    const answered = new Map<string, number>(); // product → id answered with 201
    const unanswered = new Set<string>();
    let creates = 0;
    let failedOnA = 0;
    let killed = false;
    const killedA = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (creates < KILL_AFTER_CREATES) return;
        clearInterval(poll);
        a.child.kill('SIGKILL');
        killed = true;
        resolve();
      }, 1);
    });

    /** One create: on A first (until it is killed), then on B until an answer other than 409/5xx. */
    async function createOnce(product: string): Promise<void> {
      const json = { product, price: 1 };
      if (!killed) {
        try {
          const answer = await post(a.baseUrl, toA, product, json);
          if (answer.status === 201) return void answered.set(product, (JSON.parse(answer.text) as { id: number }).id);
          if (answer.status < 500 && answer.status !== 409)
            throw new Error(`A answered ${answer.status} ${answer.text}`);
        } catch (error) {
          if ((error as Error).message.startsWith('A answered')) throw error;
        }
        failedOnA++;
      }
      for (let attempt = 0; attempt < RETRIES; attempt++) {
        const answer = await post(b.baseUrl, toB, product, json);
        if (answer.status === 201) return void answered.set(product, (JSON.parse(answer.text) as { id: number }).id);
        if (answer.status < 500 && answer.status !== 409) throw new Error(`B answered ${answer.status} ${answer.text}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      unanswered.add(product);
    }

    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let n = 0; n < CREATES_PER_CLIENT; n++) {
          await createOnce(`c${client}-${n}`);
          creates++;
        }
      }),
    );
    await killedA;
    t.diagnostic(`${answered.size} answered 201, ${unanswered.size} unanswered, ${failedOnA} retried on B`);
    assert.ok(failedOnA > 0, 'the kill cut requests in flight on the first instance');
    assert.equal(answered.size + unanswered.size, CLIENTS * CREATES_PER_CLIENT);

    const counts = await productCounts(databaseUrl);
    const duplicated = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(duplicated, [], 'no key made two rows');
    for (const product of answered.keys()) assert.equal(counts.get(product), 1, `${product} answered 201 has one row`);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    t.after(() => client.end());
    const { rows } = await client.query<{ id: number; product: string }>('select id, product from myapi_item');
    for (const row of rows) {
      if (answered.has(row.product))
        assert.equal(Number(row.id), answered.get(row.product), `${row.product}: the id answered`);
    }
  });
});
