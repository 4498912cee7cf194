/** Retention against real PostgreSQL: whole days dropped, default partition cleaned, recent data untouched. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRetention, expiredPartitions, retentionCutoff, retentionLockWaitMs } from './retention.js';
import { refreshDailyUsage } from './daily-usage.js';
import { writeBatch } from '../sink/writer.js';
import { DayPartitions, dayOf } from '../sink/partitions.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';
import { hex, mapped, node, span } from '../../test/helpers/spans.js';
import type { PreparedSpan } from '../sink/prepare.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('retention'); });
afterAll(async () => { await db?.drop(); });

const DAY = 86_400_000_000;
const MIDNIGHT = dayOf(Date.now() * 1000) * DAY;

async function write(items: PreparedSpan[], parts: DayPartitions) {
  const c = await db.pool.connect();
  try { return await writeBatch(c, items, parts); } finally { c.release(); }
}

/** A two-span run starting `daysAgo` days before today's midnight (+1 h); the child carries usage. */
function run(daysAgo: number, childDelayUs = 1000) {
  const traceId = hex(16);
  const root = hex(8);
  const t = MIDNIGHT - daysAgo * DAY + 3_600_000_000;
  return {
    traceId,
    items: [
      mapped(span({ traceId, spanId: root, name: 'agent', startUs: t, endUs: t + childDelayUs + 2000 }), node({ nodeType: 'AGENT' })),
      mapped(span({ traceId, spanId: hex(8), parentSpanId: root, name: 'llm', startUs: t + childDelayUs, endUs: t + childDelayUs + 1000 }),
        node({ nodeType: 'LLM', modelName: 'gpt-4o-mini', inputTokens: 3, totalTokens: 3, totalCost: 0.25 })),
    ],
  };
}

const count = async (sql: string, params: unknown[] = [], on: TestDb = db) => Number((await on.pool.query(sql, params)).rows[0].n);
const runIds = async () => (await db.pool.query('SELECT replace(run_id::text, \'-\', \'\') AS id FROM runledger.runs ORDER BY 1')).rows.map((r) => r.id);

describe('retention', () => {
  it('drops whole days before the cutoff and keeps everything after it', async () => {
    const wide = new DayPartitions({ backfillDays: 60, aheadDays: 2 });
    const narrow = new DayPartitions({ backfillDays: 1, aheadDays: 2 });
    const old = run(40);
    const oldInDefault = run(35);
    const straddling = run(31, 2 * DAY); // starts 31 days ago, its child 29 days ago
    const recent = run(10);
    const today = run(0);
    await write(old.items, wide);
    await write(oldInDefault.items, narrow);
    await write([straddling.items[0]!], wide);
    await write([straddling.items[1]!], wide);
    await write(recent.items, wide);
    await write(today.items, wide);
    // a child whose parent never arrives leaves a frontier row
    const orphanParent = hex(8);
    const orphan = mapped(span({ traceId: old.traceId, spanId: hex(8), parentSpanId: orphanParent, name: 'llm',
      startUs: old.items[0]!.span.startUs + 5, endUs: old.items[0]!.span.startUs + 10 }),
    node({ nodeType: 'LLM', inputTokens: 1, totalTokens: 1 }));
    await write([orphan], wide);
    expect(await count('SELECT count(*) AS n FROM runledger.usage_frontier')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM runledger.spans_default')).toBe(2);

    const olderThan = new Date(Date.now() - 30 * 86_400_000);
    const cutoff = retentionCutoff(olderThan);
    expect(cutoff.getTime() % 86_400_000).toBe(0);
    const expired = await expiredPartitions(db.pool, cutoff);
    expect(expired.length).toBe(6); // spans, nodes and logs of 40 and 31 days ago
    const before = await db.pool.query('SELECT * FROM runledger.runs WHERE run_id = ANY($1::uuid[]) ORDER BY run_id',
      [[straddling.traceId, recent.traceId, today.traceId]]);

    const dry = await applyRetention(db.pool, { olderThan, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, partitions: expired, defaultSpans: 2, defaultNodes: 2, runs: 2 });
    expect(await count('SELECT count(*) AS n FROM runledger.spans')).toBe(11);

    const ticks: number[] = [];
    const res = await applyRetention(db.pool, {
      olderThan, chunkRows: 1,
      progress: { start: (n) => ticks.push(-n), tick: (n = 1) => ticks.push(n), done: () => ticks.push(0) },
    });
    expect(res).toMatchObject({ dryRun: false, partitions: expired, defaultSpans: 2, defaultNodes: 2, runs: 2, frontier: 1 });
    expect(ticks[0]).toBe(-(expired.length + 4));
    expect(ticks.slice(1, -1).reduce((a, b) => a + b)).toBe(expired.length + 4);

    expect(await runIds()).toEqual([straddling.traceId, recent.traceId, today.traceId].sort());
    expect(await count('SELECT count(*) AS n FROM runledger.spans')).toBe(5); // the straddling child, recent, today
    expect(await count('SELECT count(*) AS n FROM runledger.nodes')).toBe(5);
    expect(await count('SELECT count(*) AS n FROM runledger.spans WHERE start_time < $1', [cutoff])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM runledger.usage_frontier')).toBe(0);
    const after = await db.pool.query('SELECT * FROM runledger.runs WHERE run_id = ANY($1::uuid[]) ORDER BY run_id',
      [[straddling.traceId, recent.traceId, today.traceId]]);
    expect(after.rows).toEqual(before.rows); // kept runs are not touched

    // nothing more to do; writing into a dropped day still works (it is re-created)
    expect(await applyRetention(db.pool, { olderThan })).toMatchObject({ partitions: [], defaultSpans: 0, runs: 0 });
    expect(await write(old.items, new DayPartitions({ backfillDays: 60, aheadDays: 2 }))).toEqual({ inserted: 2, duplicates: 0 });
  });
});

describe('retention and the daily usage rollup', () => {
  let rdb: TestDb;
  beforeAll(async () => { rdb = await createTestDb('retention_rollup'); });
  afterAll(async () => { await rdb?.drop(); });

  const put = async (items: PreparedSpan[], parts: DayPartitions) => {
    const c = await rdb.pool.connect();
    try { return await writeBatch(c, items, parts); } finally { c.release(); }
  };
  const day = (daysAgo: number) => new Date(MIDNIGHT / 1000 - daysAgo * 86_400_000).toISOString().slice(0, 10);
  const usage = async () => (await rdb.pool.query(`SELECT day::text, runs::int, calls::int, input_tokens::int, total_tokens::int,
    total_cost::text FROM runledger.daily_usage ORDER BY day`)).rows;
  const u = (daysAgo: number, runs: number, calls: number, cost: string) =>
    ({ day: day(daysAgo), runs, calls, input_tokens: 3 * calls, total_tokens: 3 * calls, total_cost: cost });

  it('keeps the final totals of the dropped days, late spans included', async () => {
    const wide = new DayPartitions({ backfillDays: 60, aheadDays: 2 });
    const narrow = new DayPartitions({ backfillDays: 1, aheadDays: 2 });
    const old = run(40);
    const oldInDefault = run(35);
    const recent = run(10);
    await put(old.items, wide);
    await put(oldInDefault.items, narrow);
    await put(recent.items, wide);
    await refreshDailyUsage(rdb.pool, { since: new Date(MIDNIGHT / 1000 - 60 * 86_400_000) });
    expect(await usage()).toEqual([u(40, 1, 1, '0.2500000000'), u(35, 1, 1, '0.2500000000'), u(10, 1, 1, '0.2500000000')]);

    // late data for the days about to expire, not rolled up yet: another run 40 days ago, another
    // LLM call of the run 35 days ago (default partition)
    await put(run(40).items, wide);
    const late = oldInDefault.items[1]!.span;
    await put([mapped(span({ traceId: oldInDefault.traceId, spanId: hex(8), parentSpanId: late.parentSpanId, name: 'llm',
      startUs: late.startUs + 10, endUs: late.endUs }),
    node({ nodeType: 'LLM', modelName: 'gpt-4o-mini', inputTokens: 3, totalTokens: 3, totalCost: 0.25 }))], narrow);
    const stale = await usage();

    const olderThan = new Date(Date.now() - 30 * 86_400_000);
    await applyRetention(rdb.pool, { olderThan, dryRun: true });
    expect(await usage()).toEqual(stale); // a dry run changes nothing
    const res = await applyRetention(rdb.pool, { olderThan });
    expect(res).toMatchObject({ defaultNodes: 3, runs: 3, rollupDays: 2 });
    expect(res.partitions).toHaveLength(3); // spans, nodes and logs of that day
    const final = [u(40, 2, 2, '0.5000000000'), u(35, 1, 2, '0.5000000000'), u(10, 1, 1, '0.2500000000')];
    expect(await usage()).toEqual(final);
    expect(await count('SELECT count(*) AS n FROM runledger.nodes WHERE start_time < $1', [res.cutoff], rdb)).toBe(0);
    expect(await rdb.pool.query(`SELECT sealed_before::text FROM runledger.rollup_refreshes`).then((r) => r.rows))
      .toEqual([{ sealed_before: day(30) }]);

    // later refreshes keep them: no nodes left, and a span arriving afterwards for a dropped day is ignored
    const since = new Date(MIDNIGHT / 1000 - 60 * 86_400_000);
    await refreshDailyUsage(rdb.pool, { since });
    expect(await usage()).toEqual(final);
    await put(run(40).items, wide);
    await refreshDailyUsage(rdb.pool, { since });
    expect(await usage()).toEqual(final);
  });

  it('drops a partition a long query reads once it ends, and lets writers through meanwhile', async () => {
    const wide = new DayPartitions({ backfillDays: 60, aheadDays: 2 });
    const old = run(45);
    await write(old.items, wide);
    const olderThan = new Date(Date.now() - 30 * 86_400_000);
    const expired = await expiredPartitions(db.pool, retentionCutoff(olderThan));
    expect(expired.length).toBeGreaterThanOrEqual(2); // spans and nodes of 45 days ago (and what earlier tests left)
    const reader = await db.pool.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM runledger.spans'); // holds a lock on every partition until it ends
      const dropped = applyRetention(db.pool, { olderThan });
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      expect(await write(run(0).items, wide)).toEqual({ inserted: 2, duplicates: 0 }); // not stuck behind the drop
      expect(performance.now() - t0).toBeLessThan(1500);
      await new Promise((r) => setTimeout(r, 1000));
      await reader.query('COMMIT');
      expect((await dropped).partitions).toEqual(expired);
      expect(await expiredPartitions(db.pool, retentionCutoff(olderThan))).toEqual([]);
    } finally {
      await reader.query('ROLLBACK').catch(() => {});
      reader.release();
    }
  });
});

describe('a partition drop waiting behind an analyst\'s open transaction', () => {
  it('waits no longer than lockWaitMs per try: writers with a lock timeout above it are not failed', async () => {
    const parts = new DayPartitions({ backfillDays: 30 });
    await write(run(20).items, parts);
    const analyst = await db.pool.connect();
    const writer = await db.pool.connect();
    let retention: Promise<unknown> | null = null;
    try {
      await analyst.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await analyst.query('SELECT count(*) FROM runledger.spans');
      // gateways with RUNLEDGER_DB_LOCK_TIMEOUT_MS=300: the drop waits half of it
      retention = applyRetention(db.pool, { olderThan: new Date((MIDNIGHT - 15 * DAY) / 1000), lockWaitMs: retentionLockWaitMs(300) });
      retention.catch(() => {});
      for (let i = 0; i < 300; i++) {
        const w = await db.pool.query(`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
          WHERE NOT l.granted AND l.mode = 'AccessExclusiveLock' AND c.relname LIKE 'spans%'`);
        if (w.rowCount) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await writer.query(`BEGIN; SET LOCAL lock_timeout = '300ms'`);
      const got = await writer.query('LOCK TABLE runledger.spans IN ROW EXCLUSIVE MODE').then(() => 'locked', (e: { code?: string }) => e.code);
      expect(got).toBe('locked');
      await writer.query('COMMIT');
    } finally {
      await writer.query('ROLLBACK').catch(() => {});
      await analyst.query('ROLLBACK').catch(() => {});
      writer.release();
      analyst.release();
    }
    const r = (await retention) as { partitions: string[] };
    expect(r.partitions.some((p) => p.startsWith('spans_'))).toBe(true);
    expect(await count(`SELECT count(*) AS n FROM runledger.spans WHERE start_time < $1`, [new Date((MIDNIGHT - 15 * DAY) / 1000)])).toBe(0);
  });
});
