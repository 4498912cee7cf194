/**
 * A lock held on one run delays that run's spans only (issue 9): writers lock runs by their runs rows and
 * skip a run someone else holds, retrying its spans for RUNLEDGER_RUN_LOCK_WAIT_MS before answering 503 +
 * Retry-After. A read-only login (an analyst) cannot take any lock a writer needs at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { jsonRequest, miniSpans, type MiniSpan } from './helpers/otlp.js';

let gw: TestGateway;
let role: string;
let analystUrl: string;
const LOCK_WAIT_MS = 1500;

beforeAll(async () => {
  gw = await startTestGateway({ runLockWaitMs: LOCK_WAIT_MS, retryAfterSeconds: 3 });
  role = `rl_locks_${process.pid}_${Date.now().toString(36)}`;
  await gw.db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' IN ROLE runledger_analyst`);
  const u = new URL(gw.db.url);
  u.username = role;
  u.password = 'pw';
  analystUrl = u.toString();
});
afterAll(async () => {
  await gw.db.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
  await gw.db.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  await gw?.close();
});

const post = (spans: MiniSpan[]) =>
  fetch(gw.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonRequest(spans) });
const stored = async (traceId: string) =>
  (await gw.db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [traceId])).rows[0].n as number;

/** A session that stays open (its locks held) until closed. */
async function session(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

describe('an operator leaves an UPDATE of one runs row open', () => {
  it('holds back that run only: unrelated runs commit at once; the run\'s spans get 503 + Retry-After, then commit once released', async () => {
    const held = miniSpans(3);
    expect((await post(held.slice(0, 1))).status).toBe(200); // the run exists
    const operator = await session(gw.db.url);
    try {
      await operator.query('BEGIN');
      await operator.query(`UPDATE runledger.runs SET environment = 'maintenance' WHERE run_id = $1`, [held[0]!.traceId]);

      // unrelated runs, one request each, commit while the lock is held (they would wait as long as it is held,
      // and then be answered 503, if they depended on it: the request below shows it is still held)
      const others = Array.from({ length: 6 }, () => miniSpans(4));
      const answers = await Promise.all(others.map(post));
      expect(answers.map((r) => r.status)).toEqual(others.map(() => 200));
      for (const o of others) expect(await stored(o[0]!.traceId)).toBe(4);

      // a request mixing the held run and a free one: the free run is committed, the request is answered 503
      const free = miniSpans(2);
      const mixed = await post([...held.slice(1), ...free]);
      expect(mixed.status).toBe(503);
      expect(mixed.headers.get('retry-after')).toBe('3');
      expect((await mixed.json()).message).toMatch(/locked by another transaction/);
      expect(await stored(free[0]!.traceId)).toBe(2);
      expect(await stored(held[0]!.traceId)).toBe(1);
      expect(gw.batcher.depth).toBe(0);
    } finally {
      await operator.query('COMMIT');
      await operator.end();
    }
    // the client retries the whole request: what was stored is not stored twice, the rest is stored now
    const free2 = miniSpans(1);
    expect((await post([...held.slice(1), ...free2])).status).toBe(200);
    expect(await stored(held[0]!.traceId)).toBe(3);
    const run = (await gw.db.pool.query('SELECT span_count::int, environment FROM runledger.runs WHERE run_id = $1', [held[0]!.traceId])).rows;
    expect(run).toEqual([{ span_count: 3, environment: 'maintenance' }]);
  });
});

describe('an analyst login', () => {
  it('cannot take or hold any lock a writer needs: advisory locks on every old run key change nothing', async () => {
    const spans = miniSpans(5);
    expect((await post(spans.slice(0, 1))).status).toBe(200);
    const analyst = await session(analystUrl);
    try {
      // what blocked every writer before: pg_advisory_lock on the run's old writer key (and on any other)
      const oldKey = parseInt(spans[0]!.traceId.slice(0, 8), 16) | 0;
      await analyst.query('SELECT pg_advisory_lock(1919117676, $1)', [oldKey]);
      await analyst.query('SELECT pg_advisory_lock(k) FROM generate_series(1, 500) k');
      // row locks and the writers' lock function need rights an analyst does not have
      await analyst.query('BEGIN');
      await expect(analyst.query('SELECT 1 FROM runledger.runs FOR UPDATE')).rejects.toThrow(/permission denied/);
      await analyst.query('ROLLBACK');
      await expect(analyst.query(`SELECT * FROM runledger.lock_runs('{default}', $1::uuid[])`, [[spans[0]!.traceId]]))
        .rejects.toThrow(/permission denied/);
      await analyst.query('BEGIN');
      await expect(analyst.query('SELECT 1 FROM runledger.runs FOR KEY SHARE')).rejects.toThrow(/permission denied/);
      await analyst.query('ROLLBACK');

      expect((await post(spans.slice(1))).status).toBe(200); // not deferred: a deferral would end in 503 while held
      expect(await stored(spans[0]!.traceId)).toBe(5);
    } finally {
      await analyst.end();
    }
  });
});
