/**
 * Maintenance yields to ingestion: repair and reprice never hold one run's lock while they wait for another
 * run's (an operator's open transaction, a slow writer). Before, a batch locked its runs in key order, waiting,
 * and every run before the held one stayed locked meanwhile: their spans were answered 503 for as long.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { holdRun } from './helpers/locks.js';
import { hex } from './helpers/spans.js';
import { repair } from '../src/maintenance/repair.js';
import { reprice } from '../src/maintenance/reprice.js';
import { loadPriceTable } from '../src/mapping/prices.js';

let gw: TestGateway;
// a writer gives up on a held run after 500 ms (503 + Retry-After)
beforeAll(async () => { gw = await startTestGateway({ runLockWaitMs: 500 }); });
afterAll(async () => { await gw?.close(); });

const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
const chat = (traceId: string, parent: string) => ({
  traceId, spanId: hex(8), parentSpanId: parent, name: 'chat', kind: 3,
  startTimeUnixNano: String(T0 + 1_000_000n), endTimeUnixNano: String(T0 + 2_000_000n), attributes: [
    { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } }, { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
    { key: 'gen_ai.usage.input_tokens', value: { intValue: '1000' } }, { key: 'gen_ai.usage.output_tokens', value: { intValue: '100' } }],
});
const post = (spans: unknown[]) => fetch(`${gw.httpUrl}/v1/traces`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans }] }] }),
});

/** Two runs, a before b in key order (the order locks are taken in), each a root and a chat call. */
async function twoRuns() {
  const [a, b] = [hex(16), hex(16)].sort();
  const roots = { [a!]: hex(8), [b!]: hex(8) };
  for (const t of [a!, b!]) {
    const res = await post([{ traceId: t, spanId: roots[t], name: 'agent', kind: 1, startTimeUnixNano: String(T0), endTimeUnixNano: String(T0 + 10_000_000n) },
      chat(t, roots[t]!)]);
    expect(res.status).toBe(200);
  }
  return { a: a!, b: b!, rootA: roots[a!]! };
}

/** Until a session of the job waits for a lock (the held run). */
async function waitForLockWait(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await gw.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
      AND query ~ 'lock_runs|FOR UPDATE'`);
    if (r.rowCount) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('the job never waited for the held run');
}

/** The status of posting `spans` while `job` runs and another transaction holds run `held` (the job waiting for it). */
async function postWhileJobWaits(held: string, spans: Parameters<typeof post>[0], start: () => Promise<unknown>): Promise<number> {
  const lock = await holdRun(gw.db.url, 'default', held);
  let job: Promise<unknown> | null = null;
  try {
    job = start();
    await waitForLockWait();
    return (await post(spans)).status;
  } finally {
    await lock.release();
    await job;
  }
}

describe('a maintenance job waiting for a run another transaction holds', () => {
  it('repair: the batch\'s other runs take spans meanwhile', async () => {
    const { a, b, rootA } = await twoRuns();
    expect(await postWhileJobWaits(b, [chat(a, rootA)], () => repair(gw.db.pool, { runIds: [a, b], refreshDaily: false }))).toBe(200);
    const run = await gw.db.pool.query('SELECT span_count::int, llm_calls::int FROM runledger.runs WHERE run_id = $1', [a]);
    expect(run.rows).toEqual([{ span_count: 3, llm_calls: 2 }]);
  });

  it('reprice: the batch\'s other runs take spans meanwhile, and both runs are repriced', async () => {
    const { a, b, rootA } = await twoRuns();
    const cost = async (t: string) => (await gw.db.pool.query('SELECT total_cost::text AS c FROM runledger.runs WHERE run_id = $1', [t])).rows[0].c;
    const priced = { a: await cost(a), b: await cost(b) };
    expect(Number(priced.a)).toBeGreaterThan(0);
    // unpriced, as if stored before the model had a price: reprice prices them again
    await gw.db.pool.query(`UPDATE runledger.nodes SET total_cost = NULL, input_cost = NULL, output_cost = NULL, cost_source = NULL, price_ref = NULL
      WHERE run_id = ANY($1::uuid[])`, [[a, b]]);
    expect(await postWhileJobWaits(b, [chat(a, rootA)], () => reprice(gw.db.pool, { prices: loadPriceTable(undefined), refreshDaily: false })))
      .toBe(200);
    expect(await cost(b)).toBe(priced.b);
    expect(Number(await cost(a))).toBeCloseTo(Number(priced.a) * 2, 10); // its two calls
  });
});

describe('maintenance batches sized by how long they hold their runs', () => {
  // A clock on which every batch takes 2 s (a ledger of many daily partitions: 13 s per 500-run batch was measured
  // with 90 of them, and writers answered the batch's runs 503 after 3 s): batches shrink to what fits the target.
  const slowClock = () => { let t = 0; return () => (t += 2000); }; // read before and after each batch: 2 s

  it('repair: the first batch is small, later ones shrink to the target', async () => {
    const traces = Array.from({ length: 40 }, () => hex(16));
    const res = await post(traces.map((t) => ({ traceId: t, spanId: hex(8), name: 'agent', kind: 1, startTimeUnixNano: String(T0), endTimeUnixNano: String(T0 + 1n) })));
    expect(res.status).toBe(200);
    const sizes: number[] = [];
    const r = await repair(gw.db.pool, { runIds: traces, refreshDaily: false, clock: slowClock(), batchTargetMs: 500,
      progress: { start() {}, done() {}, tick(n = 1) { sizes.push(n); } } });
    expect(r.scanned).toBe(40);
    expect(sizes[0]).toBeLessThanOrEqual(16);
    expect(Math.max(...sizes.slice(1))).toBeLessThanOrEqual(4);
  });

  it('reprice: pages shrink likewise when their transactions are slow', async () => {
    const { a, b } = await twoRuns();
    const more = await twoRuns();
    const runs = [a, b, more.a, more.b];
    await gw.db.pool.query(`UPDATE runledger.nodes SET total_cost = NULL, input_cost = NULL, output_cost = NULL, cost_source = NULL, price_ref = NULL
      WHERE run_id = ANY($1::uuid[])`, [runs]);
    const sizes: number[] = [];
    const r = await reprice(gw.db.pool, { prices: loadPriceTable(undefined), refreshDaily: false, batch: 2, clock: slowClock(),
      batchTargetMs: 1000, progress: { start() {}, done() {}, tick(n = 1) { sizes.push(n); } } });
    expect(r.repriced).toBe(4);
    expect(sizes.slice(1).every((n) => n === 1)).toBe(true);
  });
});
