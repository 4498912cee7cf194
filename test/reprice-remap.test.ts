/**
 * reprice beside `repair --remap` (or any rewrite of a node's counts): a node reprice read before it took the
 * node's run lock may have been rewritten meanwhile, and its price is taken from what the node says under the lock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, mapped, node, span } from './helpers/spans.js';
import { createMapper, loadPriceTable } from '../src/mapping/index.js';
import { repairLocked } from '../src/maintenance/repair.js';
import { remapLocked } from '../src/maintenance/remap.js';
import { lockRunsWaiting } from '../src/rollup/locks.js';
import { runKey } from '../src/rollup/usage.js';
import { reprice } from '../src/maintenance/reprice.js';
import { writeBatch } from '../src/sink/writer.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('reprice_remap'); });
afterAll(async () => { await db?.drop(); });

const prices = loadPriceTable();
const mapper = createMapper({ prices, maxContentChars: 256, captureContent: false });
const T0 = (Date.now() - 3_600_000) * 1000;

/** Until a session waits for a lock (the held run). */
async function waitForLockWait(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
      AND query ~ 'lock_runs|FOR UPDATE'`);
    if (r.rowCount) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('reprice never waited for the held run');
}

describe('reprice and a node rewritten after reprice read it', () => {
  it('prices the node by the counts it has once its run is locked, not the counts read before', async () => {
    const traceId = hex(16);
    const spanId = hex(8);
    // the span says 100000 in / 20000 out; an earlier mapping stored a node of 1000 / 200, unpriced
    const s = span({ traceId, spanId, parentSpanId: null, name: 'chat gpt-4o', startUs: T0, endUs: T0 + 1_000_000, attributes: {
      'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': 100_000, 'gen_ai.usage.output_tokens': 20_000 } });
    const old = node({ nodeType: 'LLM', name: 'chat gpt-4o', provider: 'openai', requestModel: 'gpt-4o', modelName: 'gpt-4o',
      inputTokens: 1000, outputTokens: 200, totalTokens: 1200, totalCost: null, inputCost: null, outputCost: null, costSource: null });
    const c = await db.pool.connect();
    try { await writeBatch(c, [mapped(s, old)]); } finally { c.release(); }

    // the operator's remap holds the run (its batch's lock) while reprice reads the unpriced node and waits
    // for the run; the remap rewrites the node from its span and commits
    const runs = { tenants: ['default'], runIds: [traceId] };
    const h = await db.pool.connect();
    let job: Promise<unknown> | null = null;
    try {
      await h.query('BEGIN');
      await lockRunsWaiting(h, runs);
      job = reprice(db.pool, { prices, refreshDaily: false });
      await waitForLockWait();
      await remapLocked(h, runs, { mapper, logContentChars: null });
      await repairLocked(h, runs, new Set([runKey('default', traceId)]));
      await h.query('COMMIT');
    } finally {
      await h.query('ROLLBACK').catch(() => {});
      h.release();
      await job;
    }

    const expected = mapper(s).node!;
    const n = (await db.pool.query(`SELECT input_tokens::int, output_tokens::int, total_cost::float8 AS total_cost, cost_source
      FROM runledger.nodes WHERE run_id = $1`, [traceId])).rows;
    expect(n).toEqual([{ input_tokens: 100_000, output_tokens: 20_000, total_cost: expected.totalCost, cost_source: 'price_table' }]);
    const r = (await db.pool.query('SELECT total_cost::float8 AS c FROM runledger.runs WHERE run_id = $1', [traceId])).rows;
    expect(r).toEqual([{ c: expected.totalCost }]);
  });
});
