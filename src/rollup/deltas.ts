/**
 * Run rollup deltas computed from the rows a transaction newly inserted (pure, order-independent).
 * Every field folds commutatively (sum, min, max, least, precedence rank), so applying the deltas of
 * any split of a trace into batches, in any order, yields the same run row. A run is (tenant, trace id).
 */
import type { RunSpan } from './span.js';
import { hasUsage, unitsToDecimal, UsageTotals } from './amounts.js';
import type { RunDeltaRow } from './delta-columns.js';
import { isCallAggregate, isUsageAggregate, runKey, spanKey } from './usage.js';
import type { SettledNode } from './walk.js';

export interface RunDelta {
  runId: string;
  tenantId: string;
  spanCount: number;
  startUs: number;
  endUs: number;
  errorCount: number;
  totalNodes: number;
  llmCalls: number;
  toolCalls: number;
  usage: UsageTotals;
  models: Set<string>;
  sessionId: string | null;
  userId: string | null;
  environment: string | null;
  serviceName: string | null;
  pipeline: { rank: number; value: string } | null;
  root: RunSpan | null;
  /** the latest start of the run's spans */
  lastStartUs: number;
  failedNodes: number;
  /** the first node (by start, span id) with an agent name, with input, and the last (by end, span id) with output */
  agent: RunSpan | null;
  input: RunSpan | null;
  output: RunSpan | null;
}

/** (start, span id) order: a before b (the root, the first node with agent name / input) */
export const firstBy = (a: RunSpan, b: RunSpan) =>
  a.span.startUs < b.span.startUs || (a.span.startUs === b.span.startUs && a.span.spanId < b.span.spanId);
/** (end, span id) order: a after b */
const lastBy = (a: RunSpan, b: RunSpan) =>
  a.span.endUs > b.span.endUs || (a.span.endUs === b.span.endUs && a.span.spanId > b.span.spanId);

function least(a: string | null, b: string | null | undefined): string | null {
  if (b === null || b === undefined || b === '') return a;
  return a === null || b < a ? b : a;
}

/** (start, span_id) order among parentless spans: the earliest is the run's root (the same order as firstBy). */
const rootBefore = firstBy;

/** Pipeline precedence: the lower rank wins, a tie the smaller value. */
export function pipelineBefore(p: { rank: number; value: string }, q: { rank: number; value: string } | null): boolean {
  return q === null || p.rank < q.rank || (p.rank === q.rank && p.value < q.value);
}

/**
 * @param aggregates per node (spanKey) the marks it found below it (usage.ts): its usage is carried by a
 *   descendant, or its call (LLM, tool) is a descendant's call instrumented twice
 * @returns the deltas by runKey
 */
export function computeDeltas(newSpans: RunSpan[], aggregates: ReadonlyMap<string, number>): Map<string, RunDelta> {
  const runs = new Map<string, RunDelta>();
  for (const m of newSpans) {
    const s = m.span;
    const key = runKey(s.tenantId, s.traceId);
    let d = runs.get(key);
    if (!d) {
      d = {
        runId: s.traceId, tenantId: s.tenantId, spanCount: 0, startUs: s.startUs, endUs: s.endUs, errorCount: 0,
        totalNodes: 0, llmCalls: 0, toolCalls: 0, usage: new UsageTotals(), models: new Set(), sessionId: null,
        userId: null, environment: null, serviceName: null, pipeline: null, root: null, lastStartUs: s.startUs,
        failedNodes: 0, agent: null, input: null, output: null,
      };
      runs.set(key, d);
    }
    d.spanCount++;
    if (s.startUs < d.startUs) d.startUs = s.startUs;
    if (s.startUs > d.lastStartUs) d.lastStartUs = s.startUs;
    if (s.endUs > d.endUs) d.endUs = s.endUs;
    if (s.statusCode === 2) d.errorCount++;
    d.serviceName = least(d.serviceName, s.serviceName);
    d.environment = least(d.environment, m.hints.environment);
    d.sessionId = least(d.sessionId, m.hints.sessionId);
    d.userId = least(d.userId, m.hints.userId);
    const p = m.hints.pipeline;
    // pipelineBefore, written out: this loop runs per span
    if (p && (!d.pipeline || p.rank < d.pipeline.rank || (p.rank === d.pipeline.rank && p.value < d.pipeline.value))) {
      d.pipeline = p;
    }
    if (s.parentSpanId === null && (!d.root || rootBefore(m, d.root))) d.root = m;
    const n = m.node;
    if (n) {
      d.totalNodes++;
      const agg = aggregates.size === 0 ? 0 : aggregates.get(spanKey(s.tenantId, s.traceId, s.spanId));
      if (!isCallAggregate(agg)) {
        if (n.nodeType === 'LLM') d.llmCalls++;
        else if (n.nodeType === 'TOOL') d.toolCalls++;
      }
      if (n.modelName && (n.nodeType === 'LLM' || n.nodeType === 'EMBEDDING')) d.models.add(n.modelName);
      if (n.status === 'FAILED') d.failedNodes++;
      if (n.agentName !== null && (!d.agent || firstBy(m, d.agent))) d.agent = m;
      if (n.hasInput && (!d.input || firstBy(m, d.input))) d.input = m;
      if (n.hasOutput && (!d.output || lastBy(m, d.output))) d.output = m;
      d.sessionId = least(d.sessionId, n.sessionId);
      d.userId = least(d.userId, n.userId);
      if (hasUsage(n) && !isUsageAggregate(agg)) d.usage.add(n);
    }
  }
  return runs;
}

/** The rows of the runs update (plain values; the sink encodes them), ordered by (tenant_id, run_id). */
export function deltaRows(deltas: Iterable<RunDelta>): RunDeltaRow[] {
  const rows: RunDeltaRow[] = [];
  for (const d of deltas) {
    const root = d.root?.span ?? null;
    const rootFailed = root !== null && root.statusCode === 2;
    const u = d.usage;
    rows.push({
      run_id: d.runId,
      tenant_id: d.tenantId,
      pipeline: d.pipeline?.value ?? null,
      pipeline_rank: d.pipeline?.rank ?? null,
      service_name: root ? root.serviceName : d.serviceName,
      environment: d.environment,
      session_id: d.sessionId,
      user_id: d.userId,
      name: root ? root.name : null,
      status: root ? (rootFailed ? 'FAILED' : 'COMPLETED') : 'RUNNING',
      start_us: d.startUs,
      end_us: d.endUs,
      span_count: d.spanCount,
      total_nodes: d.totalNodes,
      llm_calls: d.llmCalls,
      tool_calls: d.toolCalls,
      error_count: d.errorCount,
      input_tokens: u.get('input'),
      output_tokens: u.get('output'),
      cache_read_tokens: u.get('cacheRead'),
      cache_write_tokens: u.get('cacheWrite'),
      reasoning_tokens: u.get('reasoning'),
      total_tokens: u.get('total'),
      total_cost: unitsToDecimal(u.get('costUnits')),
      models: [...d.models].sort(),
      error_message: rootFailed ? (root.statusMessage || null) : null,
      root_span_id: root ? root.spanId : null,
      root_start_us: root ? root.startUs : null,
      last_start_us: d.lastStartUs,
      failed_nodes: d.failedNodes,
      agent_name: d.agent?.node?.agentName ?? null,
      agent_node_id: d.agent?.span.spanId ?? null,
      agent_start_us: d.agent?.span.startUs ?? null,
      input_node_id: d.input?.span.spanId ?? null,
      input_start_us: d.input?.span.startUs ?? null,
      output_node_id: d.output?.span.spanId ?? null,
      output_start_us: d.output?.span.startUs ?? null,
      output_end_us: d.output?.span.endUs ?? null,
      root_is_node: root === null ? null : d.root!.node !== null ? 1 : 0,
      root_input: d.root?.node?.inputForRun ?? null,
      input_content: d.input === null || d.input === d.root ? null : d.input.node!.inputForRun,
    });
  }
  rows.sort((a, b) => (a.tenant_id < b.tenant_id ? -1 : a.tenant_id > b.tenant_id ? 1 : a.run_id < b.run_id ? -1 : 1));
  return rows;
}

/**
 * Runs whose delta chose a node that did not carry its input (prepare.ts carryRunInputs): none, as a batch's
 * earliest span is its request's earliest; should one arise, the writer recomputes these runs' input from the
 * stored rows after the batch (runledger.refresh_run_inputs) instead of trusting the delta's.
 */
export function uncarriedInputs(deltas: ReadonlyMap<string, RunDelta>): string[] {
  const out: string[] = [];
  for (const [k, d] of deltas) {
    const root = d.root?.node;
    if ((root && root.hasInput && root.inputForRun === null) || (d.input && d.input.node!.inputForRun === null)) out.push(k);
  }
  return out;
}

/**
 * Stored nodes the walk turned into aggregates (walk.ts) leave their runs' totals: their usage (uncount)
 * and their call (uncall) are subtracted from the deltas of this transaction.
 */
export function subtractSettled(deltas: Map<string, RunDelta>, settled: readonly SettledNode[]): void {
  for (const u of settled) {
    const d = deltas.get(runKey(u.tenant_id, u.run_id));
    if (!d) continue; // cannot happen: the walk starts from fresh spans of the same run
    if (u.uncall) {
      if (u.node_type === 'LLM') d.llmCalls--;
      else d.toolCalls--;
    }
    if (!u.uncount) continue;
    d.usage.add({
      inputTokens: num(u.input_tokens), outputTokens: num(u.output_tokens),
      cacheReadTokens: num(u.cache_read_tokens), cacheWriteTokens: num(u.cache_write_tokens),
      reasoningTokens: num(u.reasoning_tokens), totalTokens: num(u.total_tokens),
      totalCost: u.total_cost === null ? null : Number(u.total_cost),
    }, -1);
  }
}

function num(v: string | number | null): number | null {
  return v === null ? null : Number(v);
}
