/**
 * repair --remap at the ledger's edges: a runs row whose spans retention dropped, two tenants sharing a trace id,
 * a re-send after the remap, two remaps at once.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, span } from './helpers/spans.js';
import { createMapper, loadPriceTable, mapSpans } from '../src/mapping/index.js';
import { repair } from '../src/maintenance/repair.js';
import { prepareSpans } from '../src/sink/prepare.js';
import { writeBatch } from '../src/sink/writer.js';
import type { SpanRecord } from '../src/otlp/types.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('remap_edges'); });
afterAll(async () => { await db?.drop(); });

const mapper = createMapper({ prices: loadPriceTable(), maxContentChars: 256, captureContent: true });
const remap = { mapper, logContentChars: 256 };
const T0 = (Date.now() - 3_600_000) * 1000;

function chat(traceId: string, tenantId: string, tokens: number): SpanRecord[] {
  const root = hex(8);
  return [
    span({ traceId, spanId: root, parentSpanId: null, name: 'agent', tenantId, startUs: T0, endUs: T0 + 5_000_000 }),
    span({ traceId, spanId: hex(8), parentSpanId: root, name: 'chat gpt-4o', tenantId, startUs: T0 + 1000, endUs: T0 + 1_000_000, attributes: {
      'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': tokens, 'gen_ai.usage.output_tokens': 10 } }),
  ];
}
async function write(spans: SpanRecord[]) {
  const c = await db.pool.connect();
  try { await writeBatch(c, prepareSpans(mapSpans(spans, mapper)).items, undefined, { logContentChars: 256 }); } finally { c.release(); }
}
const runs = async (t: string) => (await db.pool.query(`SELECT tenant_id, span_count::int, llm_calls::int, input_tokens::int, total_cost::text
  FROM runledger.runs WHERE run_id = $1 ORDER BY tenant_id`, [t])).rows;

describe('repair --remap', () => {
  it('leaves a runs row without stored spans as repair does', async () => {
    const t = hex(16);
    await write(chat(t, 'default', 100));
    await db.pool.query('DELETE FROM runledger.nodes WHERE run_id = $1', [t]);
    await db.pool.query('DELETE FROM runledger.spans WHERE trace_id = $1', [t]);
    const before = await runs(t);
    expect(before).toHaveLength(1);
    const plain = await repair(db.pool, { runIds: [t], refreshDaily: false });
    expect(plain.withoutSpans).toBe(1);
    expect(await runs(t)).toEqual(before);
    await repair(db.pool, { runIds: [t], refreshDaily: false, remap });
    expect(await runs(t)).toEqual(before);
  });

  it('keeps two tenants sharing a trace id apart, and a re-send after it changes nothing', async () => {
    const t = hex(16);
    const a = chat(t, 'acme', 100);
    const b = chat(t, 'globex', 7000);
    await write(a);
    await write(b);
    const fresh = await runs(t);
    await repair(db.pool, { runIds: [t], refreshDaily: false, remap });
    expect(await runs(t)).toEqual(fresh);
    await write([...b].reverse());
    await write(a);
    expect(await runs(t)).toEqual(fresh);
  });

  it('two remaps of the same runs at once give the ledger one gives', async () => {
    const ids = Array.from({ length: 40 }, () => hex(16));
    for (const [i, t] of ids.entries()) await write(chat(t, i % 2 ? 'acme' : 'globex', 100 + i));
    const all = async () => (await db.pool.query(`SELECT tenant_id, run_id::text, span_count::int, llm_calls::int, input_tokens::int,
      total_cost::text FROM runledger.runs WHERE run_id = ANY($1::uuid[]) ORDER BY 1, 2`, [ids])).rows;
    const nodes = async () => (await db.pool.query(`SELECT tenant_id, run_id::text, node_id, usage_counted, call_counted, total_cost::text
      FROM runledger.nodes WHERE run_id = ANY($1::uuid[]) ORDER BY 1, 2, 3`, [ids])).rows;
    const [r0, n0] = [await all(), await nodes()];
    await Promise.all([repair(db.pool, { runIds: ids, refreshDaily: false, remap, batch: 7 }),
      repair(db.pool, { runIds: ids, refreshDaily: false, remap, batch: 5 })]);
    expect(await all()).toEqual(r0);
    expect(await nodes()).toEqual(n0);
  });

  it('reads, maps and writes a run a page of spans at a time: the ledger of a fresh ingest, never more spans in memory', async () => {
    // an agent over 4 chats, a tool with a chat under it, and a late child: depth, order and attempts over pages
    const t = hex(16);
    const root = hex(8);
    const tool = hex(8);
    const at = (i: number) => T0 + i * 10_000;
    const call = (spanId: string, parent: string, i: number) => span({ traceId: t, spanId, parentSpanId: parent, name: 'chat gpt-4o',
      startUs: at(i), endUs: at(i) + 5000, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o',
        'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100 + i, 'gen_ai.usage.output_tokens': 10 } });
    await write([
      span({ traceId: t, spanId: root, parentSpanId: null, name: 'invoke_agent planner', startUs: at(0), endUs: at(20),
        attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' } }),
      ...[1, 2, 3, 4].map((i) => call(hex(8), root, i)),
      span({ traceId: t, spanId: tool, parentSpanId: root, name: 'execute_tool search', startUs: at(5), endUs: at(8),
        attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' } }),
      call(hex(8), tool, 6), call(hex(8), root, 9),
    ]);
    const ledger = async () => ({
      run: (await db.pool.query(`SELECT span_count::int, total_nodes::int, llm_calls::int, tool_calls::int, input_tokens::int,
        total_cost::text, agent_name FROM runledger.runs WHERE run_id = $1`, [t])).rows,
      nodes: (await db.pool.query(`SELECT node_id, parent_node_id, depth, step_order, attempt, tree_path, usage_counted, call_counted,
        total_cost::text FROM runledger.nodes WHERE run_id = $1 ORDER BY node_id`, [t])).rows,
    });
    const fresh = await ledger();
    // the most span rows one query returned to the remap
    let most = 0;
    const query = pg.Client.prototype.query;
    const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const out = (query as (...a: unknown[]) => unknown).apply(this, args);
      const text = typeof args[0] === 'string' ? args[0] : '';
      if (text.includes('FROM runledger.raw_spans') && out instanceof Promise) {
        void out.then((r: pg.QueryResult) => { most = Math.max(most, r.rows.length); }, () => {});
      }
      return out;
    } as typeof query);
    try {
      await repair(db.pool, { runIds: [t], refreshDaily: false, remap: { ...remap, pageSpans: 3 } });
    } finally {
      spy.mockRestore();
    }
    expect(most).toBe(3);
    expect(await ledger()).toEqual(fresh);
  });
});
