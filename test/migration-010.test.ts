/**
 * Migration 010 on a ledger written before it: a call instrumented twice (an LLM node over an LLM node) was
 * counted twice in runs.llm_calls. The migration queues such runs for repair; after it, the counts are what
 * the write path gives (one call), and so are the frontier's marks of a run still waiting for its root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, mapped, node, span, writeAll } from './helpers/spans.js';
import { migrate } from '../src/db/migrate.js';
import { writeBatch } from '../src/sink/writer.js';
import { repairQueued } from '../src/maintenance/repair.js';
import type { PreparedSpan } from '../src/sink/prepare.js';

let old: TestDb;
let ref: TestDb;
beforeAll(async () => { [old, ref] = await Promise.all([createTestDb('m010old', '007_tenant_runs'), createTestDb('m010ref')]); });
afterAll(async () => { await Promise.all([old?.drop(), ref?.drop()]); });

const T0 = (Date.now() - 86_400_000) * 1000;
function run(rooted: boolean): PreparedSpan[] {
  const traceId = hex(16);
  const [ag, outer, inner] = [hex(8), hex(8), hex(8)];
  const s = (spanId: string, parentSpanId: string | null, name: string, at: number) =>
    span({ traceId, spanId, parentSpanId, name, startUs: T0 + at, endUs: T0 + at + 1000 });
  const llm = () => node({ nodeType: 'LLM', modelName: 'gpt-4o', inputTokens: 10, outputTokens: 5, totalTokens: 15 });
  return [
    ...(rooted ? [mapped(s(ag, null, 'agent', 0), node({ nodeType: 'AGENT' }))] : []),
    mapped(s(outer, ag, 'chat', 10), llm()),
    mapped(s(inner, outer, 'openai.chat', 20), llm()),
  ];
}

async function rows(db: TestDb) {
  const q = async (sql: string) => (await db.pool.query(sql)).rows;
  return {
    runs: await q(`SELECT run_id, llm_calls::int, input_tokens::int FROM runledger.runs ORDER BY run_id`),
    nodes: await q(`SELECT node_id, call_counted, usage_counted FROM runledger.nodes ORDER BY node_id`),
    frontier: await q(`SELECT span_id, parent_span_id, mask FROM runledger.usage_frontier ORDER BY span_id`),
  };
}

describe('migration 010 on calls counted twice', () => {
  beforeAll(async () => {
    const c = await ref.pool.connect();
    try { for (const r of [run(true), run(false)]) await writeAll((x) => writeBatch(c, x), r); } finally { c.release(); }
    // the old ledger: the same rows, each LLM node counted as a call, the frontier with usage marks only
    for (const table of ['spans', 'nodes', 'runs', 'usage_frontier']) {
      // the rows as the old schema held them: the resource inline (raw_spans, sql/014), node content resolved (nodes_full, sql/015)
      const source = table === 'spans' ? 'raw_spans' : table === 'nodes' ? 'nodes_full' : table;
      const r = await ref.pool.query(`SELECT coalesce(json_agg(t), '[]') AS j FROM runledger.${source} t`);
      await old.pool.query(`INSERT INTO runledger.${table} SELECT * FROM json_populate_recordset(null::runledger.${table}, $1)`, [JSON.stringify(r.rows[0].j)]);
    }
    await old.pool.query(`UPDATE runledger.runs SET llm_calls = 2`);
    expect(await migrate(old.url)).toContain('010_call_counting');
  });

  it('counts the nested call once after the queued repair', async () => {
    const before = await rows(old);
    expect(before.runs.map((r) => r.llm_calls)).toEqual([2, 2]);
    expect(await repairQueued(old.pool as pg.Pool)).toMatchObject({ scanned: 2 });
    const after = await rows(old);
    expect(after).toEqual(await rows(ref));
    expect(after.runs.map((r) => r.llm_calls)).toEqual([1, 1]);
    expect(after.frontier.map((f) => f.mask)).toEqual([1 | 2]); // the unrooted run's outer call waits with usage and LLM marks
  });
});
