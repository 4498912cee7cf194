/** Daily partitions against real PostgreSQL: routing, the default partition, moves, idempotency across days. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBatch } from './writer.js';
import { DayPartitions, dayOf, dayString } from './partitions.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';
import { hex, mapped, node, span } from '../../test/helpers/spans.js';
import type { PreparedSpan } from './prepare.js';
import { startTestGateway } from '../../test/helpers/gateway.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('partitions'); });
afterAll(async () => { await db?.drop(); });

const DAY = 86_400_000_000;
const NOW = Date.now() * 1000;
const MIDNIGHT = dayOf(NOW) * DAY; // today 00:00 UTC in µs

async function write(items: PreparedSpan[], parts: DayPartitions) {
  const c = await db.pool.connect();
  try { return await writeBatch(c, items, parts); } finally { c.release(); }
}

/** Where each span row of a trace is stored: span id → partition name. */
async function placement(table: 'spans' | 'nodes', traceId: string): Promise<Record<string, string>> {
  const idCol = table === 'spans' ? 'span_id' : 'node_id';
  const runCol = table === 'spans' ? 'trace_id' : 'run_id';
  const r = await db.pool.query(
    `SELECT ${idCol} AS id, tableoid::regclass::text AS part FROM runledger.${table} WHERE ${runCol} = $1`, [traceId]);
  return Object.fromEntries(r.rows.map((x) => [x.id, x.part]));
}

const part = (t: string, us: number) => `runledger.${t}_${dayString(dayOf(us)).replaceAll('-', '')}`;

/** A trace across midnight: the root and an aggregate start yesterday, the LLM call under it today. */
function midnightTrace(traceId: string) {
  const ids = { root: hex(8), agg: hex(8), llm: hex(8) };
  const t = (ms: number) => MIDNIGHT + ms * 1000;
  const items = [
    mapped(span({ traceId, spanId: ids.root, name: 'agent', startUs: t(-2000), endUs: t(5000) }), node({ nodeType: 'AGENT' })),
    mapped(span({ traceId, spanId: ids.agg, parentSpanId: ids.root, name: 'ai.generateText', startUs: t(-1000), endUs: t(4000) }),
      node({ nodeType: 'CHAIN', modelName: 'gpt-4o-mini', inputTokens: 10, outputTokens: 5, totalTokens: 15, totalCost: 0.5 })),
    mapped(span({ traceId, spanId: ids.llm, parentSpanId: ids.agg, name: 'ai.generateText.doGenerate', startUs: t(1000), endUs: t(3000) }),
      node({ nodeType: 'LLM', modelName: 'gpt-4o-mini', inputTokens: 10, outputTokens: 5, totalTokens: 15, totalCost: 0.5 })),
  ];
  return { ids, items };
}

async function run(traceId: string) {
  const r = await db.pool.query(
    'SELECT span_count, total_nodes, llm_calls, input_tokens, total_cost::float8 AS cost, status FROM runledger.runs WHERE run_id = $1', [traceId]);
  const n = await db.pool.query(
    'SELECT node_id, usage_counted FROM runledger.nodes WHERE run_id = $1 ORDER BY node_id', [traceId]);
  return { run: r.rows[0], counted: Object.fromEntries(n.rows.map((x) => [x.node_id, x.usage_counted])) };
}

describe('daily partitions', () => {
  it('stores spans and nodes in their UTC day partitions, span ids in the C collation', async () => {
    const traceId = hex(16);
    const { ids, items } = midnightTrace(traceId);
    expect(await write(items, new DayPartitions())).toEqual({ inserted: 3, duplicates: 0 });
    const yesterday = MIDNIGHT - DAY;
    expect(await placement('spans', traceId)).toEqual({
      [ids.root]: part('spans', yesterday), [ids.agg]: part('spans', yesterday), [ids.llm]: part('spans', MIDNIGHT),
    });
    expect(await placement('nodes', traceId)).toEqual({
      [ids.root]: part('nodes', yesterday), [ids.agg]: part('nodes', yesterday), [ids.llm]: part('nodes', MIDNIGHT),
    });
    const coll = await db.pool.query(`SELECT attname, collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
      WHERE attrelid = $1::regclass AND attname IN ('span_id', 'parent_span_id') ORDER BY attname`, [part('spans', MIDNIGHT)]);
    expect(coll.rows).toEqual([{ attname: 'parent_span_id', collname: 'C' }, { attname: 'span_id', collname: 'C' }]);
  });

  it('counts usage once when the aggregate and its child sit in different days, in any order, re-sent', async () => {
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
      const traceId = hex(16);
      const { ids, items } = midnightTrace(traceId);
      const parts = new DayPartitions();
      for (const i of order) await write([items[i]!], parts);
      for (const i of order) expect(await write([items[i]!], parts)).toEqual({ inserted: 0, duplicates: 1 });
      const { run: r, counted } = await run(traceId);
      expect(r).toEqual({ span_count: '3', total_nodes: '3', llm_calls: '1', input_tokens: '10', cost: 0.5, status: 'COMPLETED' });
      expect(counted).toEqual({ [ids.root]: false, [ids.agg]: false, [ids.llm]: true });
    }
  });

  it('sends spans outside the window to the default partition, and moves them when their day gets one', async () => {
    const traceId = hex(16);
    const old = MIDNIGHT - 3 * DAY + 1000;
    const s = mapped(span({ traceId, spanId: hex(8), name: 'old', startUs: old, endUs: old + 1000 }), node({ nodeType: 'TOOL' }));
    const narrow = new DayPartitions({ backfillDays: 1, aheadDays: 0 });
    await write([s], narrow);
    expect(Object.values(await placement('spans', traceId))).toEqual(['runledger.spans_default']);
    expect(Object.values(await placement('nodes', traceId))).toEqual(['runledger.nodes_default']);

    // a far-future clock goes to the default partition too
    const future = MIDNIGHT + 400 * DAY;
    const f = mapped(span({ traceId: hex(16), spanId: hex(8), name: 'future', startUs: future, endUs: future + 1 }));
    await write([f], narrow);
    expect(Object.values(await placement('spans', f.span.traceId))).toEqual(['runledger.spans_default']);

    // a wider window creates the day's partition: the stored row moves, a re-send is still a duplicate
    const wide = new DayPartitions({ backfillDays: 10, aheadDays: 2 });
    expect(await write([s], wide)).toEqual({ inserted: 0, duplicates: 1 });
    expect(Object.values(await placement('spans', traceId))).toEqual([part('spans', old)]);
    expect(Object.values(await placement('nodes', traceId))).toEqual([part('nodes', old)]);
    const n = await db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [traceId]);
    expect(n.rows[0].n).toBe(1);
  });

  it('lets concurrent callers create the same days', async () => {
    const days = [dayString(dayOf(MIDNIGHT) - 5), dayString(dayOf(MIDNIGHT) - 6)];
    const created = await Promise.all([0, 1, 2, 3].map(() =>
      db.pool.query<{ n: number }>('SELECT runledger.ensure_day_partitions($1::date[]) AS n', [days])));
    expect(created.map((r) => r.rows[0]!.n).reduce((a, b) => a + b)).toBe(6); // 2 days × (spans, nodes, logs), once
  });

  it('moves every row of the day, even one a concurrent writer is adding to the default partition', async () => {
    const day = MIDNIGHT - 9 * DAY + 1000;
    const traceId = hex(16);
    const writer = await db.pool.connect();
    const other = await db.pool.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO runledger.spans (trace_id, span_id, tenant_id, name, kind, start_time, end_time, status_code, attributes, resource)
        VALUES ($1, 'aaaaaaaaaaaaaaaa', 't', 'n', 'INTERNAL', to_timestamp($2 / 1e6), to_timestamp($2 / 1e6), 'UNSET', '{}', '{}')`, [traceId, day]);
      const ensured = other.query('SELECT runledger.ensure_day_partitions($1::date[]) AS n', [[dayString(dayOf(day))]]);
      await new Promise((r) => setTimeout(r, 200)); // ensure waits for the writer
      await writer.query('COMMIT');
      expect((await ensured).rows[0].n).toBe(3); // spans, nodes, logs
      expect(Object.values(await placement('spans', traceId))).toEqual([part('spans', day)]);
    } finally {
      await writer.query('ROLLBACK').catch(() => {});
      writer.release();
      other.release();
    }
  });

  it('does not wait behind a long reader of the default partition: spans go there, the partition comes later', async () => {
    const day = MIDNIGHT - 8 * DAY + 1000;
    const s1 = mapped(span({ traceId: hex(16), spanId: hex(8), name: 'a', startUs: day, endUs: day + 1 }));
    const s2 = mapped(span({ traceId: hex(16), spanId: hex(8), name: 'b', startUs: day + 5, endUs: day + 6 }));
    let now = Date.now();
    const parts = new DayPartitions({ lockTimeoutMs: 100, retryAfterMs: 60_000 }, () => now);
    const reader = await db.pool.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM runledger.spans_default'); // holds its lock until the end
      const t0 = performance.now();
      expect(await write([s1], parts)).toEqual({ inserted: 1, duplicates: 0 });
      expect(performance.now() - t0).toBeLessThan(1500);
      expect(Object.values(await placement('spans', s1.span.traceId))).toEqual(['runledger.spans_default']);
      await reader.query('COMMIT');
      // not tried again before retryAfterMs, then created: the first span moves out of the default partition
      expect(await write([s2], parts)).toEqual({ inserted: 1, duplicates: 0 });
      expect(Object.values(await placement('spans', s2.span.traceId))).toEqual(['runledger.spans_default']);
      now += 60_001;
      expect(await write([s1], parts)).toEqual({ inserted: 0, duplicates: 1 });
      expect(Object.values(await placement('spans', s1.span.traceId))).toEqual([part('spans', day)]);
      expect(Object.values(await placement('spans', s2.span.traceId))).toEqual([part('spans', day)]);
    } finally {
      await reader.query('ROLLBACK').catch(() => {});
      reader.release();
    }
  });

  it('a gateway creates the partitions of today and the days ahead at start-up', async () => {
    const gw = await startTestGateway({}, db);
    try {
      const names = [0, 1, 2].flatMap((d) => ['spans', 'nodes'].map((t) => part(t, MIDNIGHT + d * DAY)));
      for (let i = 0; i < 50; i++) {
        const r = await db.pool.query('SELECT count(to_regclass(n)) AS n FROM unnest($1::text[]) AS n', [names]);
        if (Number(r.rows[0].n) === names.length) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      const r = await db.pool.query('SELECT n, to_regclass(n) IS NOT NULL AS exists FROM unnest($1::text[]) AS n', [names]);
      expect(r.rows.every((x) => x.exists), JSON.stringify(r.rows)).toBe(true);
    } finally {
      await gw.stop();
    }
  });

  it('asks the database only for days it has not seen', () => {
    const parts = new DayPartitions({ backfillDays: 2, aheadDays: 1 }, () => MIDNIGHT / 1000);
    const client = { host: 'h', port: 1, database: 'd' } as never;
    const today = dayOf(MIDNIGHT);
    expect(parts.missing(client, [MIDNIGHT, MIDNIGHT + 5, MIDNIGHT - DAY, MIDNIGHT - 3 * DAY, MIDNIGHT + 2 * DAY]))
      .toEqual([today - 1, today]);
  });
});
