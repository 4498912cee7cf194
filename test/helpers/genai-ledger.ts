/**
 * Reading the ledger back in GenAI end-to-end tests: runs and nodes by run, whole-database snapshots,
 * the expected figures of the genai-scenarios.ts workloads, and the shared assertions on them.
 *
 * Prices (the @pydantic/genai-prices manifest, USD per 1M tokens): gpt-4o-mini 0.15 in / 0.075 cached in / 0.6 out,
 * text-embedding-3-small 0.02 in. Input tokens include cached ones, so
 *   cost = (input - cached) * 0.15 + cached * 0.075 + output * 0.6.
 */
import { expect } from 'vitest';
import type pg from 'pg';

/** node columns the assertions look at (all of them are in the snapshots) */
const NODE_COLS = `node_id, parent_span_id, node_type, name, status, provider, request_model, response_model, model_name,
  input_tokens::int, output_tokens::int, cache_read_tokens::int, reasoning_tokens::int, total_tokens::int,
  total_cost::float8, cost_source, tool_name, tool_call_id, response_id, temperature, usage_counted`;
const RUN_COLS = `run_id, pipeline, service_name, name, status, span_count::int, total_nodes::int, llm_calls::int,
  tool_calls::int, error_count::int, input_tokens::int, output_tokens::int, cache_read_tokens::int,
  reasoning_tokens::int, total_tokens::int, total_cost::float8, models`;

export type Row = Record<string, unknown>;

export async function runsWhere(pool: pg.Pool, where: string, params: unknown[]): Promise<Row[]> {
  return (await pool.query(`SELECT ${RUN_COLS} FROM runledger.runs WHERE ${where} ORDER BY start_time, run_id`, params)).rows;
}

/**
 * The one run matching (fails if there is not exactly one), with its nodes. The SDK's span times have
 * millisecond resolution, so a parent and its child (or two quick steps) often start at the same time:
 * assertions must not rely on the order of the nodes.
 */
export async function oneRun(pool: pg.Pool, where: string, params: unknown[]): Promise<{ run: Row; nodes: Row[] }> {
  const runs = await runsWhere(pool, where, params);
  expect(runs, `runs where ${where} ${JSON.stringify(params)}`).toHaveLength(1);
  const run = runs[0]!;
  const nodes = (await pool.query(
    `SELECT ${NODE_COLS} FROM runledger.nodes WHERE run_id = $1 ORDER BY start_time, node_id`, [run.run_id])).rows;
  return { run, nodes };
}

/** Token and cost totals of the counted nodes: what the run's rollup must equal. */
export function countedTotals(nodes: Row[]) {
  const counted = nodes.filter((n) => n.usage_counted);
  const sum = (k: string) => counted.reduce((a, n) => a + Number(n[k] ?? 0), 0);
  return {
    input_tokens: sum('input_tokens'), output_tokens: sum('output_tokens'), total_tokens: sum('total_tokens'),
    cache_read_tokens: sum('cache_read_tokens'), total_cost: sum('total_cost'),
  };
}

export function expectRunTotals(run: Row, t: { input: number; output: number; cacheRead?: number; cost: number }): void {
  expect(run).toMatchObject({
    input_tokens: t.input, output_tokens: t.output, total_tokens: t.input + t.output, cache_read_tokens: t.cacheRead ?? 0,
  });
  expect(run.total_cost as number).toBeCloseTo(t.cost, 12);
}

/** gpt-4o-mini price in USD for one call. */
export const miniCost = (input: number, cached: number, output: number) =>
  ((input - cached) * 0.15 + cached * 0.075 + output * 0.6) / 1e6;

// Usage of the scenarios in genai-scenarios.ts (MockLanguageModelV3 / the mock OpenAI server).
export const VERCEL = {
  /** doGenerate #1 of the weather agent: tool call */
  toolStep: { input: 30, cached: 0, output: 10, reasoning: 0 },
  /** doGenerate of 'Hello, world!' and of the weather agent's second step */
  textStep: { input: 10, cached: 4, output: 20, reasoning: 5 },
  stream: { input: 12, cached: 0, output: 8, reasoning: 0 },
  embedTokens: 5,
} as const;
export const OPENAI_CHAT = { input: 120, cached: 100, output: 30 } as const;
export const OPENAI_EMBED_TOKENS = 8;

const stepCost = (s: { input: number; cached: number; output: number }) => miniCost(s.input, s.cached, s.output);

/**
 * Vercel AI SDK: the tool-calling generateText (functionId weather-agent) is one CHAIN aggregate over two
 * LLM doGenerate calls and a TOOL call; the run counts the doGenerate calls once, not the aggregate too.
 * Also the streamText run. Only runs of `serviceName` are looked at.
 */
export async function expectVercelAiLedger(pool: pg.Pool, serviceName: string): Promise<void> {
  const { run, nodes } = await oneRun(pool, 'service_name = $1 AND pipeline = $2', [serviceName, 'weather-agent']);
  expect(nodes.map((n) => `${n.node_type} ${n.name}`).sort()).toEqual([
    'CHAIN ai.generateText', 'LLM ai.generateText.doGenerate', 'LLM ai.generateText.doGenerate', 'TOOL ai.toolCall',
  ]);
  const one = (f: (n: Row) => boolean) => nodes.filter(f)[0]!;
  const agg = one((n) => n.node_type === 'CHAIN');
  const tool = one((n) => n.node_type === 'TOOL');
  const gen1 = one((n) => n.response_id === 'resp-3'); // the tool-call step
  const gen2 = one((n) => n.response_id === 'resp-4'); // the answer after the tool result
  const { toolStep, textStep } = VERCEL;
  for (const [n, s] of [[gen1, toolStep], [gen2, textStep]] as const) {
    expect(n).toMatchObject({
      provider: 'openai', request_model: 'gpt-4o-mini', model_name: 'gpt-4o-mini-2024-07-18', cost_source: 'price_table',
      input_tokens: s.input, output_tokens: s.output, cache_read_tokens: s.cached, usage_counted: true,
      parent_span_id: agg.node_id,
    });
    expect(n.total_cost as number).toBeCloseTo(stepCost(s), 12);
  }
  expect(tool).toMatchObject({ tool_name: 'weather', tool_call_id: 'call-1', status: 'COMPLETED', usage_counted: false });
  // the aggregate repeats the summed usage; it must not be counted again
  expect(agg).toMatchObject({
    input_tokens: toolStep.input + textStep.input, output_tokens: toolStep.output + textStep.output, usage_counted: false,
  });
  const sum = countedTotals(nodes);
  expect(sum.input_tokens).toBe(40);
  expectRunTotals(run, {
    input: sum.input_tokens, output: sum.output_tokens, cacheRead: sum.cache_read_tokens, cost: sum.total_cost,
  });
  expectRunTotals(run, { input: 40, output: 30, cacheRead: 4, cost: stepCost(toolStep) + stepCost(textStep) });
  expect(run).toMatchObject({
    status: 'COMPLETED', name: 'ai.generateText', span_count: 4, total_nodes: 4, llm_calls: 2, tool_calls: 1,
    error_count: 0, reasoning_tokens: 5, models: ['gpt-4o-mini-2024-07-18'],
  });

  const stream = await oneRun(pool, 'service_name = $1 AND pipeline = $2', [serviceName, 'my-stream-fn']);
  expect(stream.nodes.map((n) => [n.name, n.node_type, n.usage_counted]).sort()).toEqual([
    ['ai.streamText', 'CHAIN', false],
    ['ai.streamText.doStream', 'LLM', true],
  ]);
  expect(stream.nodes.find((n) => n.node_type === 'LLM')).toMatchObject({ provider: 'openai', model_name: 'gpt-4o-mini-2024-07-18', input_tokens: 12, output_tokens: 8 });
  expectRunTotals(stream.run, { input: 12, output: 8, cost: stepCost(VERCEL.stream) });
  expect(stream.run).toMatchObject({ llm_calls: 1, total_nodes: 2 });
}

export interface OpenAIFlavour {
  /** span names of the chat and embeddings calls */
  chatName: string;
  embedName: string;
  /** cached prompt tokens the instrumentation reports (instrumentation-openai 0.21 reports none) */
  cached: number;
  /** whether the streamed chat span carries usage (OpenInference 4.2 records none for streams) */
  streamUsage: boolean;
  /** embedding tokens the instrumentation reports */
  embedTokens: number;
}

export const OTEL_OPENAI: OpenAIFlavour = {
  chatName: 'chat gpt-4o-mini', embedName: 'embeddings text-embedding-3-small', cached: 0, streamUsage: true,
  embedTokens: OPENAI_EMBED_TOKENS,
};
export const OPENINFERENCE_OPENAI: OpenAIFlavour = {
  chatName: 'OpenAI Chat Completions', embedName: 'OpenAI Embeddings', cached: OPENAI_CHAT.cached, streamUsage: false,
  embedTokens: 0,
};

/**
 * An OpenAI client instrumentation: the chat completion, the streamed chat completion and the embeddings
 * call are one single-node run each; every run's totals are its node's usage and cost.
 */
export async function expectOpenAILedger(pool: pg.Pool, serviceName: string, f: OpenAIFlavour): Promise<void> {
  const chats = await runsWhere(pool, 'service_name = $1 AND name = $2', [serviceName, f.chatName]);
  expect(chats).toHaveLength(2); // plain and streamed
  const chatCost = miniCost(OPENAI_CHAT.input, f.cached, OPENAI_CHAT.output);
  const kinds: string[] = [];
  for (const c of chats) {
    const { run, nodes } = await oneRun(pool, 'run_id = $1', [c.run_id]);
    expect(nodes).toHaveLength(1);
    const node = nodes[0]!;
    expect(node).toMatchObject({ node_type: 'LLM', provider: 'openai', request_model: 'gpt-4o-mini', status: 'COMPLETED' });
    expect(run).toMatchObject({ status: 'COMPLETED', llm_calls: 1, span_count: 1, total_nodes: 1 });
    const streamed = node.temperature === null; // only the plain call sets temperature (0.2)
    kinds.push(streamed ? 'streamed' : 'plain');
    if (!streamed) expect(node.temperature).toBe(0.2);
    if (streamed && !f.streamUsage) {
      expect(node).toMatchObject({ input_tokens: null, total_cost: null, usage_counted: false });
      expectRunTotals(run, { input: 0, output: 0, cost: 0 });
      continue;
    }
    expect(node).toMatchObject({
      model_name: 'gpt-4o-mini-2024-07-18', input_tokens: OPENAI_CHAT.input, output_tokens: OPENAI_CHAT.output,
      cache_read_tokens: f.cached || null, cost_source: 'price_table', usage_counted: true,
    });
    expect(node.total_cost as number).toBeCloseTo(chatCost, 12);
    expectRunTotals(run, { input: OPENAI_CHAT.input, output: OPENAI_CHAT.output, cacheRead: f.cached, cost: chatCost });
    expect(run.models).toEqual(['gpt-4o-mini-2024-07-18']);
  }
  expect(kinds.sort()).toEqual(['plain', 'streamed']);
  const embed = await oneRun(pool, 'service_name = $1 AND name = $2', [serviceName, f.embedName]);
  expect(embed.nodes).toHaveLength(1);
  expect(embed.nodes[0]).toMatchObject({ node_type: 'EMBEDDING', model_name: 'text-embedding-3-small', input_tokens: f.embedTokens || null });
  expectRunTotals(embed.run, { input: f.embedTokens, output: 0, cost: (f.embedTokens * 0.02) / 1e6 });
}

/** Every row of the ledger, minus bookkeeping timestamps; ordered, for comparing two databases. */
export async function ledgerSnapshot(pool: pg.Pool): Promise<{ runs: Row[]; nodes: Row[]; spans: Row[]; logs: Row[] }> {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  const runs = (await q('SELECT * FROM runledger.runs ORDER BY run_id')).map(({ created_at: _c, updated_at: _u, ...r }) => r);
  const nodes = await q('SELECT * FROM runledger.nodes ORDER BY run_id, node_id');
  const spans = (await q('SELECT * FROM runledger.spans ORDER BY trace_id, span_id')).map(({ ingested_at: _i, ...s }) => s);
  const logs = (await q('SELECT * FROM runledger.logs ORDER BY run_id, time, record_hash')).map(({ ingested_at: _i, ...l }) => l);
  return { runs, nodes, spans, logs };
}
