/**
 * A small ledger for the analyst views' tests (test/views.test.ts, test/queries-doc.test.ts), written
 * through writeBatch: two tenants, two pipelines, two UTC days, an aggregate over LLM calls, a span
 * between nodes that is not a node, failures, an orphan and an unpriced model.
 */
import pg from 'pg';
import { writeBatch } from '../../src/sink/writer.js';
import type { NodeRecord } from '../../src/mapping/types.js';
import type { TestDb } from './db.js';
import { hex, mapped, node, span } from './spans.js';

pg.types.setTypeParser(pg.types.builtins.DATE, (v: string) => v); // dates as 'YYYY-MM-DD', not local midnights

const DAY_US = 86_400_000_000;
const HOUR_US = 3_600_000_000;
const D1_US = (Math.floor(Date.now() / 86_400_000) - 2) * DAY_US; // UTC midnight two days ago
export const D1 = new Date(D1_US / 1000).toISOString().slice(0, 10);
export const D2 = new Date((D1_US + DAY_US) / 1000).toISOString().slice(0, 10);

export interface Def {
  key: string; parent?: string; name: string; at: number; to: number; error?: string; pipeline?: string;
  node?: Partial<NodeRecord> & Pick<NodeRecord, 'nodeType'>;
}

/** A trace of tenantId starting at t0 (µs); span times in seconds from t0. A parent key not defined is a missing span. */
export function trace(tenantId: string, t0: number, defs: Def[]) {
  const traceId = hex(16);
  const ids = new Map(defs.map((d) => [d.key, hex(8)]));
  const items = new Map(defs.map((d) => [d.key, mapped(
    span({
      traceId, spanId: ids.get(d.key)!, parentSpanId: d.parent ? (ids.get(d.parent) ?? hex(8)) : null, name: d.name, tenantId,
      startUs: t0 + Math.round(d.at * 1e6), endUs: t0 + Math.round(d.to * 1e6), kind: d.node ? 1 : 3,
      ...(d.error ? { statusCode: 2, statusMessage: d.error } : {}),
    }),
    d.node ? node(d.node) : null, d.pipeline ? { rank: 0, value: d.pipeline } : null)]));
  const runId = traceId.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
  return { runId, id: (k: string) => ids.get(k)!, items };
}
export type Trace = ReturnType<typeof trace>;

const gpt = { provider: 'openai', modelName: 'gpt-4o-mini' };
const claude = { provider: 'anthropic', modelName: 'claude-sonnet-4' };

/** acme, support-bot: crosses midnight (its tool call and embedding start on D2). */
export const A1 = trace('acme', D1_US + DAY_US - 4e6, [
  { key: 'ag', name: 'invoke_agent planner', at: 0, to: 10, pipeline: 'support-bot', node: { nodeType: 'AGENT', agentName: 'planner' } },
  { key: 'gt', parent: 'ag', name: 'ai.generateText', at: 0.1, to: 3.5, node: { nodeType: 'CHAIN', modelName: 'gpt-4o-mini', inputTokens: 30, outputTokens: 60, totalTokens: 90, totalCost: 0.0009 } },
  { key: 'd1', parent: 'gt', name: 'ai.generateText.doGenerate', at: 0.2, to: 1.5, node: { nodeType: 'LLM', ...gpt, inputTokens: 10, outputTokens: 20, totalTokens: 30, totalCost: 0.0003 } },
  { key: 'h', parent: 'gt', name: 'POST /v1/chat/completions', at: 1.6, to: 3.4 },
  { key: 'd2', parent: 'h', name: 'ai.generateText.doGenerate', at: 1.7, to: 3.3, node: { nodeType: 'LLM', ...gpt, inputTokens: 20, outputTokens: 40, totalTokens: 60, totalCost: 0.0006 } },
  { key: 'tl', parent: 'ag', name: 'ai.toolCall', at: 5, to: 6, error: 'search backend timed out', node: { nodeType: 'TOOL', toolName: 'search', errorType: 'TimeoutError', errorMessage: 'search backend timed out' } },
  { key: 'em', parent: 'ag', name: 'ai.embed', at: 7, to: 8, node: { nodeType: 'EMBEDDING', provider: 'openai', modelName: 'text-embedding-3-small', inputTokens: 100, totalTokens: 100, totalCost: 0.000002 } },
]);
/** acme, support-bot, D2: the agent fails after a rate-limited call. */
export const A2 = trace('acme', D1_US + DAY_US + 10 * HOUR_US, [
  { key: 'ag', name: 'invoke_agent planner', at: 0, to: 20, pipeline: 'support-bot', error: 'rate limited', node: { nodeType: 'AGENT', errorMessage: 'rate limited' } },
  { key: 'c1', parent: 'ag', name: 'chat claude-sonnet-4', at: 1, to: 9, node: { nodeType: 'LLM', ...claude, inputTokens: 1000, outputTokens: 500, totalTokens: 1500, totalCost: 0.0105 } },
  { key: 'c2', parent: 'ag', name: 'chat claude-sonnet-4', at: 10, to: 11, error: 'rate limited', node: { nodeType: 'LLM', ...claude, errorType: 'RateLimitError', errorMessage: 'rate limited' } },
]);
/** acme, nightly-etl, D1: the root span never arrives (wf is an orphan); an unpriced model without provider. */
export const A3 = trace('acme', D1_US + 12 * HOUR_US, [
  { key: 'wf', parent: 'root', name: 'workflow nightly', at: 1, to: 50, pipeline: 'nightly-etl', node: { nodeType: 'CHAIN' } },
  { key: 'sm', parent: 'wf', name: 'summarize', at: 2, to: 40, node: { nodeType: 'LLM', modelName: 'local-llama', inputTokens: 50, outputTokens: 50, totalTokens: 100 } },
]);
/** globex, support-bot, D1: an LLM node over another. */
export const B1 = trace('globex', D1_US + 9 * HOUR_US, [
  { key: 'ag', name: 'invoke_agent helper', at: 0, to: 5, pipeline: 'support-bot', node: { nodeType: 'AGENT' } },
  // an LLM node over another (two instrumentations of one call): the outer one's usage is not counted
  { key: 'c', parent: 'ag', name: 'chat gpt-4o-mini', at: 0.5, to: 2, node: { nodeType: 'LLM', ...gpt, inputTokens: 5, outputTokens: 5, totalTokens: 10, totalCost: 0.00001 } },
  { key: 'ci', parent: 'c', name: 'openai.chat', at: 0.6, to: 1.9, node: { nodeType: 'LLM', ...gpt, inputTokens: 5, outputTokens: 5, totalTokens: 10, totalCost: 0.00001 } },
  { key: 'tl', parent: 'ag', name: 'execute_tool lookup', at: 2.5, to: 3, error: 'no such customer', node: { nodeType: 'TOOL', toolName: 'lookup', errorType: 'KeyError', errorMessage: 'no such customer' } },
]);

/** Write traces, children before parents. */
export async function writeTraces(db: TestDb, traces: Trace[]): Promise<void> {
  const c = await db.pool.connect();
  try {
    for (const t of traces) await writeBatch(c, [...t.items.values()].reverse());
  } finally { c.release(); }
}

/** Rows of a query on a fresh connection: as the owner, or as runledger_analyst of a tenant (null: none set). */
export async function rowsAs(db: TestDb, sql: string, params: unknown[] = [], analyst?: string | null): Promise<any[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    if (analyst !== undefined) {
      await c.query('SET ROLE runledger_analyst');
      if (analyst !== null) await c.query(`SELECT set_config('runledger.tenant_id', $1, false)`, [analyst]);
    }
    const r = params.length ? await c.query(sql, params) : await c.query(sql);
    return (Array.isArray(r) ? r.at(-1)! : r).rows;
  } finally { await c.end(); }
}

/** Expected daily_usage rows (the columns of test/views.test.ts's query). c: calls, llm, embedding, failed, counted. */
const u = (day: string, tenant_id: string, pipeline: string, provider: string | null, model: string, c: number[], tokens: number[], total_cost: string, unpriced = 0) => ({
  day, tenant_id, pipeline, provider, model, runs: '1', calls: String(c[0]), llm_calls: String(c[1]), embedding_calls: String(c[2]),
  failed_calls: String(c[3]), counted_calls: String(c[4]), input_tokens: String(tokens[0]), output_tokens: String(tokens[1]),
  total_tokens: String(tokens[2]), total_cost, unpriced_calls: String(unpriced),
});
export const ACME_USAGE = [
  u(D1, 'acme', 'nightly-etl', null, 'local-llama', [1, 1, 0, 0, 1], [50, 50, 100], '0.0000000000', 1),
  u(D1, 'acme', 'support-bot', 'openai', 'gpt-4o-mini', [2, 2, 0, 0, 2], [30, 60, 90], '0.0009000000'), // not the aggregate
  u(D2, 'acme', 'support-bot', 'anthropic', 'claude-sonnet-4', [2, 2, 0, 1, 1], [1000, 500, 1500], '0.0105000000'),
  u(D2, 'acme', 'support-bot', 'openai', 'text-embedding-3-small', [1, 0, 1, 0, 1], [100, 0, 100], '0.0000020000'),
];
// B1's two LLM nodes are one call instrumented twice: one call
export const GLOBEX_USAGE = [u(D1, 'globex', 'support-bot', 'openai', 'gpt-4o-mini', [1, 1, 0, 0, 1], [5, 5, 10], '0.0000100000')];
