/**
 * Reading the ledger back in the client end-to-end tests (test/e2e-clients): a run with every node column
 * the assertions look at (content, agent/tool names, cache and reasoning tokens), the run's log records,
 * expected costs from the shipped price table, and "nothing refused" checks on what the SDKs were answered.
 */
import { expect } from 'vitest';
import type pg from 'pg';
import { priceUsage } from '../../src/mapping/cost.js';
import { loadPriceTable } from '../../src/mapping/prices.js';
import { refusals, type OtlpTee } from './otlp-tee.js';

export type Row = Record<string, unknown>;

const RUN_COLS = `run_id, pipeline, service_name, name, status, root_span_id, span_count::int, total_nodes::int,
  llm_calls::int, tool_calls::int, error_count::int, input_tokens::int, output_tokens::int, cache_read_tokens::int,
  cache_write_tokens::int, reasoning_tokens::int, total_tokens::int, total_cost::float8, models`;
const NODE_COLS = `node_id, parent_span_id, node_type, name, status, provider, request_model, response_model, model_name,
  input_tokens::int, output_tokens::int, cache_read_tokens::int, cache_write_tokens::int, reasoning_tokens::int,
  total_tokens::int, total_cost::float8, cost_source, finish_reasons, temperature, tool_name, tool_call_id, agent_name, input, output,
  usage_counted`;

export interface LedgerRun { run: Row; nodes: Row[] }

/** The one run matching `where` (fails otherwise) with its nodes, ordered by start time then id. */
export async function ledgerRun(pool: pg.Pool, where: string, params: unknown[]): Promise<LedgerRun> {
  const runs = (await pool.query(`SELECT ${RUN_COLS} FROM runledger.runs WHERE ${where}`, params)).rows;
  expect(runs, `runs where ${where} ${JSON.stringify(params)}`).toHaveLength(1);
  const run = runs[0]!;
  const nodes = (await pool.query(`SELECT ${NODE_COLS} FROM runledger.nodes_full WHERE run_id = $1 ORDER BY start_time, node_id`,
    [run.run_id])).rows;
  return { run, nodes };
}

/** `type name` of every node, sorted: the run's shape at a glance. */
export const shape = (nodes: Row[]) => nodes.map((n) => `${n.node_type} ${n.name}`).sort();

/** The nodes named `name`, in start order; `at` picks one and fails when it is missing. */
export function named(nodes: Row[], name: string): Row[] {
  return nodes.filter((n) => n.name === name);
}
export function one(nodes: Row[], name: string, at = 0): Row {
  const n = named(nodes, name)[at];
  expect(n, `node ${name} #${at}`).toBeDefined();
  return n!;
}

/** A node's stored content as text (any shape: messages array, JSON string, object), '' when NULL. */
export function content(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
}

export interface Tokens { input: number; output: number; cacheRead?: number; cacheWrite?: number; reasoning?: number }

const prices = loadPriceTable();

/** USD of one call at the shipped prices; input includes the cache and output the reasoning (OTel rule). */
export function priced(model: string, t: Tokens, provider: string | null = null): number {
  const hit = prices.find(provider, model);
  expect(hit, `price of ${model}`).not.toBeNull();
  return priceUsage({
    inputTokens: t.input, outputTokens: t.output, cacheReadTokens: t.cacheRead ?? null,
    cacheWriteTokens: t.cacheWrite ?? null, reasoningTokens: t.reasoning ?? null, totalTokens: null,
  }, hit!.price).totalCost;
}

/** A node's usage columns for toMatchObject: absent cache/reasoning parts are NULL. */
export function usageCols(t: Tokens): Row {
  return {
    input_tokens: t.input, output_tokens: t.output, cache_read_tokens: t.cacheRead ?? null,
    cache_write_tokens: t.cacheWrite ?? null, reasoning_tokens: t.reasoning ?? null,
  };
}

/** The run's totals over calls counted once. */
export function expectRunUsage(run: Row, calls: { model: string; t: Tokens }[]): void {
  const sum = (k: keyof Tokens) => calls.reduce((a, c) => a + (c.t[k] ?? 0), 0);
  expect(run).toMatchObject({
    input_tokens: sum('input'), output_tokens: sum('output'), total_tokens: sum('input') + sum('output'),
    cache_read_tokens: sum('cacheRead'), cache_write_tokens: sum('cacheWrite'), reasoning_tokens: sum('reasoning'),
  });
  expect(run.total_cost as number).toBeCloseTo(calls.reduce((a, c) => a + priced(c.model, c.t), 0), 12);
}

/**
 * The OTLP log records stored for a run, as span ids. Issue 10 puts them in `runledger.logs` (tenant, run,
 * span, time, severity, body, attributes); the column names follow runledger.nodes (run_id, span_id).
 */
export async function logSpanIds(pool: pg.Pool, runId: unknown): Promise<string[]> {
  return (await pool.query('SELECT span_id FROM runledger.logs WHERE run_id = $1 ORDER BY span_id', [runId])).rows
    .map((r: Row) => String(r.span_id));
}

/** Every trace and log export the SDK sent through the tee was answered 200 with an empty partial_success. */
export function expectNothingRefused(tee: OtlpTee, signals: ('traces' | 'logs')[]): void {
  for (const s of signals) expect(tee.records.filter((r) => r.path === `/v1/${s}`).length, `${s} requests`).toBeGreaterThan(0);
  const wanted = new Set(signals.map((s) => `/v1/${s}`));
  expect(refusals(tee.records.filter((r) => wanted.has(r.path)))).toEqual([]);
}
