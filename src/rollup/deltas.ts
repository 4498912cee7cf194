/**
 * Run rollup deltas computed from the rows a transaction newly inserted (pure, order-independent).
 * Every field folds commutatively (sum, min, max, least, precedence rank), so applying the deltas of
 * any split of a trace into batches, in any order, yields the same run row. A run is (tenant, trace id).
 */
import type { NodeRecord } from '../mapping/types.js';
import type { PreparedSpan } from '../sink/prepare.js';
import { costUnits, hasUsage, unitsToDecimal } from '../sink/encoder.js';
import { RowWriter } from '../sink/binary.js';
import { RUN_DELTA_COLUMNS } from './sql.js';
import { isCallAggregate, isUsageAggregate, runKey, spanKey } from './usage.js';

type UsageFields = Pick<NodeRecord, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'reasoningTokens' | 'totalTokens' | 'totalCost'>;

const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Token and cost sums of a run's counted nodes; cost in integer units of 1e-10 USD. Sums stay exact:
 * numbers while every partial sum is a safe integer (one comparison per field), BigInt from the addition
 * that would leave that range (a tenant's absurd values: thousands of calls of 10^12 tokens or $900k).
 */
export class UsageTotals {
  input = 0; output = 0; cacheRead = 0; cacheWrite = 0; reasoning = 0; total = 0; costUnits = 0;
  /** the exact sums once a number sum would have lost precision */
  big: Record<UsageKey, bigint> | null = null;

  add(n: UsageFields, sign: 1 | -1 = 1): void {
    const cost = costUnits(n.totalCost) ?? 0;
    if (this.big === null) {
      const input = this.input + sign * (n.inputTokens ?? 0);
      const output = this.output + sign * (n.outputTokens ?? 0);
      const cacheRead = this.cacheRead + sign * (n.cacheReadTokens ?? 0);
      const cacheWrite = this.cacheWrite + sign * (n.cacheWriteTokens ?? 0);
      const reasoning = this.reasoning + sign * (n.reasoningTokens ?? 0);
      const total = this.total + sign * (n.totalTokens ?? 0);
      const units = this.costUnits + sign * cost;
      if (Math.abs(input) <= SAFE && Math.abs(output) <= SAFE && Math.abs(cacheRead) <= SAFE && Math.abs(cacheWrite) <= SAFE &&
        Math.abs(reasoning) <= SAFE && Math.abs(total) <= SAFE && Math.abs(units) <= SAFE) {
        this.input = input; this.output = output; this.cacheRead = cacheRead; this.cacheWrite = cacheWrite;
        this.reasoning = reasoning; this.total = total; this.costUnits = units;
        return;
      }
      this.big = {
        input: BigInt(this.input), output: BigInt(this.output), cacheRead: BigInt(this.cacheRead), cacheWrite: BigInt(this.cacheWrite),
        reasoning: BigInt(this.reasoning), total: BigInt(this.total), costUnits: BigInt(this.costUnits),
      };
    }
    const b = this.big;
    const s = BigInt(sign);
    b.input += s * BigInt(n.inputTokens ?? 0);
    b.output += s * BigInt(n.outputTokens ?? 0);
    b.cacheRead += s * BigInt(n.cacheReadTokens ?? 0);
    b.cacheWrite += s * BigInt(n.cacheWriteTokens ?? 0);
    b.reasoning += s * BigInt(n.reasoningTokens ?? 0);
    b.total += s * BigInt(n.totalTokens ?? 0);
    b.costUnits += s * BigInt(cost);
  }

  /** A sum, exact. */
  get(k: UsageKey): number | bigint {
    return this.big === null ? this[k] : this.big[k];
  }
}

type UsageKey = 'input' | 'output' | 'cacheRead' | 'cacheWrite' | 'reasoning' | 'total' | 'costUnits';

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
  root: PreparedSpan | null;
  /** the latest start of the run's spans */
  lastStartUs: number;
  failedNodes: number;
  /** the first node (by start, span id) with an agent name, with input, and the last (by end, span id) with output */
  agent: PreparedSpan | null;
  input: PreparedSpan | null;
  output: PreparedSpan | null;
}

/** (start, span id) order: a before b */
const firstBy = (a: PreparedSpan, b: PreparedSpan) =>
  a.span.startUs < b.span.startUs || (a.span.startUs === b.span.startUs && a.span.spanId < b.span.spanId);
/** (end, span id) order: a after b */
const lastBy = (a: PreparedSpan, b: PreparedSpan) =>
  a.span.endUs > b.span.endUs || (a.span.endUs === b.span.endUs && a.span.spanId > b.span.spanId);

function least(a: string | null, b: string | null | undefined): string | null {
  if (b === null || b === undefined || b === '') return a;
  return a === null || b < a ? b : a;
}

/** (start, span_id) order among parentless spans: the earliest is the run's root. */
function rootBefore(a: PreparedSpan, b: PreparedSpan): boolean {
  return a.span.startUs < b.span.startUs || (a.span.startUs === b.span.startUs && a.span.spanId < b.span.spanId);
}

/**
 * @param aggregates per node (spanKey) the marks it found below it (usage.ts): its usage is carried by a
 *   descendant, or its call (LLM, tool) is a descendant's call instrumented twice
 * @returns the deltas by runKey
 */
export function computeDeltas(newSpans: PreparedSpan[], aggregates: ReadonlyMap<string, number>): Map<string, RunDelta> {
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

/** A run delta as the runs update takes it (the columns of RUN_DELTA_COLUMNS, in order). */
export interface RunDeltaRow {
  run_id: string; tenant_id: string; pipeline: string | null; pipeline_rank: number | null; service_name: string | null;
  environment: string | null; session_id: string | null; user_id: string | null; name: string | null; status: string;
  start_us: number; end_us: number; span_count: number; total_nodes: number; llm_calls: number; tool_calls: number;
  error_count: number; input_tokens: number | bigint; output_tokens: number | bigint; cache_read_tokens: number | bigint;
  cache_write_tokens: number | bigint; reasoning_tokens: number | bigint; total_tokens: number | bigint; total_cost: string;
  models: string[]; error_message: string | null; root_span_id: string | null; root_start_us: number | null;
  last_start_us: number; failed_nodes: number; agent_name: string | null; agent_node_id: string | null;
  agent_start_us: number | null; input_node_id: string | null; input_start_us: number | null; output_node_id: string | null;
  output_start_us: number | null; output_end_us: number | null;
}

/** The rows of the runs update, ordered by (tenant_id, run_id). */
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
    });
  }
  rows.sort((a, b) => (a.tenant_id < b.tenant_id ? -1 : a.tenant_id > b.tenant_id ? 1 : a.run_id < b.run_id ? -1 : 1));
  return rows;
}

/** Binary COPY rows of the run deltas (the columns of RUN_DELTA_COLUMNS), ordered by (tenant_id, run_id). */
export function encodeDeltaRows(deltas: Iterable<RunDelta>): Uint8Array[] {
  const w = new RowWriter(16 * 1024);
  for (const r of deltaRows(deltas)) {
    w.beginRow(RUN_DELTA_COLUMNS.length);
    w.uuidHex(r.run_id);
    w.text(r.tenant_id);
    w.text(r.pipeline);
    w.int2(r.pipeline_rank);
    w.text(r.service_name);
    w.text(r.environment);
    w.text(r.session_id);
    w.text(r.user_id);
    w.text(r.name);
    w.text(r.status);
    w.timestamptz(r.start_us);
    w.timestamptz(r.end_us);
    for (const n of [r.span_count, r.total_nodes, r.llm_calls, r.tool_calls, r.error_count, r.input_tokens, r.output_tokens,
      r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens, r.total_tokens]) w.int8Exact(n);
    w.text(r.total_cost);
    w.textArray(r.models, 'array');
    w.text(r.error_message);
    w.text(r.root_span_id);
    optTime(w, r.root_start_us);
    w.timestamptz(r.last_start_us);
    w.int8Exact(r.failed_nodes);
    w.text(r.agent_name);
    w.text(r.agent_node_id);
    optTime(w, r.agent_start_us);
    w.text(r.input_node_id);
    optTime(w, r.input_start_us);
    w.text(r.output_node_id);
    optTime(w, r.output_start_us);
    optTime(w, r.output_end_us);
    w.endRow();
  }
  return w.rows();
}

function optTime(w: RowWriter, us: number | null): void {
  if (us === null) w.null();
  else w.timestamptz(us);
}
