/**
 * Usage and calls counted once, for any arrival order (the tree rule).
 *
 * Every span passes its parent marks, bits of what its subtree holds: USAGE (a node carrying usage), LLM (an
 * LLM node), TOOL (a tool node). A node that receives one of its own marks from below is an aggregate for it:
 * a usage node above a usage node does not add its usage to the run again (ai.generateText over its
 * doGenerate calls); an LLM node above an LLM node is the same call instrumented twice (OpenLLMetry's span over
 * the Anthropic SDK's own) and counts once; likewise tool calls. Within a batch marks propagate here, in memory.
 * Two things reach outside a batch:
 * - exits: marked spans whose parent is not in the batch; the walk continues up through stored spans (SQL);
 * - the frontier: marked spans whose parent has not arrived yet, with their marks (usage_frontier), so that
 *   the parent, whenever it arrives, learns what it has below it.
 * A run is (tenant, trace id): parents, children and the frontier never reach across tenants.
 */
import type { RunSpan } from './span.js';
import { hasUsage } from './amounts.js';

export const MARK_USAGE = 1;
export const MARK_LLM = 2;
export const MARK_TOOL = 4;

/** The marks a node passes up for itself. */
export function ownMarks(n: RunSpan['node']): number {
  if (n === null) return 0;
  return (hasUsage(n) ? MARK_USAGE : 0) | (n.nodeType === 'LLM' ? MARK_LLM : n.nodeType === 'TOOL' ? MARK_TOOL : 0);
}

/**
 * Map key of a run: the tenant followed by the 32 hex digits of the trace id (fixed length at the end, so
 * no separator is needed for the key to be unambiguous), lowercase as PostgreSQL returns uuids (the decoders
 * give lowercase ids; a caller of the writer might not).
 */
export function runKey(tenantId: string, traceId: string): string {
  // The spans of a run come one after another in every pass over a batch (and share their id strings): the key
  // of the run before is reused, not built again (a new string, hashed again, per span and pass — of the
  // main thread's ~4.5 µs per span of pure work, measured with the bench's spans, most went to building keys).
  if (traceId === lastTraceId && tenantId === lastTenantId) return lastRunKey;
  lastTenantId = tenantId;
  lastTraceId = traceId;
  return (lastRunKey = tenantId + traceId.toLowerCase());
}
let lastTenantId = '';
let lastTraceId = '';
let lastRunKey = '';
/** Map key of a span: its run's key followed by the 16 hex digits of the span id. */
export const spanKey = (tenantId: string, traceId: string, spanId: string) => runKey(tenantId, traceId) + spanId;
/** The (tenant, trace id) of a runKey. */
export const runOfKey = (key: string) => ({ tenantId: key.slice(0, -32), runId: key.slice(-32) });

export interface FrontierRow { tenant_id: string; trace_id: string; span_id: string; parent_span_id: string; mask: number }

export interface MarkExit { tenantId: string; traceId: string; spanId: string; parentSpanId: string; mask: number }

export interface MarkPlan {
  /** per batch node (spanKey) that received some of its own marks from below: those marks */
  aggregates: Map<string, number>;
  /** marked batch spans whose parent is outside the batch (the walk continues from that parent) */
  exits: MarkExit[];
  /** stored frontier rows whose parent arrived in this batch (to delete) */
  consumed: FrontierRow[];
  /** the batch's spans by spanKey */
  byKey: Map<string, RunSpan>;
  /**
   * A batch span learns it has `mask` below it outside the batch (a stored span the walk reached, whose parent
   * it is): propagate within the batch; returns the exits this adds.
   */
  markParent(key: string, mask: number): MarkExit[];
}

const keyOf = (m: RunSpan) => spanKey(m.span.tenantId, m.span.traceId, m.span.spanId);

/** Aggregate marks of a node: usage_counted and call_counted are false for the marks it has here. */
export const isUsageAggregate = (aggregateMarks: number | undefined) => ((aggregateMarks ?? 0) & MARK_USAGE) !== 0;
export const isCallAggregate = (aggregateMarks: number | undefined) => ((aggregateMarks ?? 0) & (MARK_LLM | MARK_TOOL)) !== 0;

/**
 * @param fresh the newly inserted spans of the batch
 * @param frontier stored frontier rows of the batch's runs
 */
export function planMarks(fresh: RunSpan[], frontier: FrontierRow[]): MarkPlan {
  const byKey = new Map<string, RunSpan>();
  for (const m of fresh) byKey.set(keyOf(m), m);

  const aggregates = new Map<string, number>();
  /** marks each batch span has passed to its parent so far */
  const passed = new Map<string, number>();
  /** a batch span learns `mask` from below: record what makes it an aggregate, pass on what is new */
  const receive = (k: string, m: RunSpan, mask: number, out: MarkExit[]) => {
    const own = ownMarks(m.node);
    if ((own & mask) !== 0) aggregates.set(k, (aggregates.get(k) ?? 0) | (own & mask));
    pass(k, m, own | mask, out);
  };
  /** pass `mask` up from a batch span (only the marks it has not passed before) */
  const pass = (k: string, m: RunSpan, mask: number, out: MarkExit[]) => {
    for (;;) {
      const before = passed.get(k) ?? 0;
      const add = mask & ~before;
      if (add === 0) return;
      passed.set(k, before | add);
      const s = m.span;
      const p = s.parentSpanId;
      if (p === null) return;
      const pk = spanKey(s.tenantId, s.traceId, p);
      const parent = byKey.get(pk);
      if (!parent) {
        out.push({ tenantId: s.tenantId, traceId: s.traceId, spanId: s.spanId, parentSpanId: p, mask: add });
        return;
      }
      const own = ownMarks(parent.node);
      if ((own & add) !== 0) aggregates.set(pk, (aggregates.get(pk) ?? 0) | (own & add));
      k = pk;
      m = parent;
      mask = own | add;
    }
  };

  const exits: MarkExit[] = [];
  const consumed: FrontierRow[] = [];
  for (const f of frontier) {
    const pk = spanKey(f.tenant_id, f.trace_id, f.parent_span_id);
    const parent = byKey.get(pk);
    if (!parent) continue;
    consumed.push(f);
    receive(pk, parent, f.mask, exits); // its marked child was stored earlier
  }
  for (const m of fresh) {
    const own = ownMarks(m.node);
    if (own !== 0) pass(keyOf(m), m, own, exits);
  }
  return {
    aggregates, consumed, byKey, exits,
    markParent: (key, mask) => {
      const parent = byKey.get(key);
      const out: MarkExit[] = [];
      if (parent) receive(key, parent, mask, out);
      return out;
    },
  };
}
