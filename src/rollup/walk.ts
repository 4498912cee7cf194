/**
 * The marks of a batch (usage.ts) beyond the batch, inside the write transaction: the walk up through stored
 * spans from the parents of marked spans that leave the batch, the stored nodes that turn aggregates, and the
 * frontier rows to add. Returns plain values; the writer applies them.
 */
import type pg from 'pg';
import { SETTLE_STORED_SQL, WALK_UP_SQL } from './sql.js';
import { runKey, spanKey, type FrontierRow, type MarkExit, type MarkPlan } from './usage.js';

/** A stored node that turned an aggregate, as it was: its usage (uncount) or call (uncall) leaves its run's totals. */
export interface SettledNode {
  tenant_id: string; run_id: string; node_type: string; uncount: boolean; uncall: boolean;
  input_tokens: string | null; output_tokens: string | null; cache_read_tokens: string | null; cache_write_tokens: string | null;
  reasoning_tokens: string | null; total_tokens: string | null; total_cost: string | null;
}

export interface WalkResult {
  /** marked spans whose parent has not arrived (one row per span, marks merged) */
  frontier: FrontierRow[];
  /** stored nodes of the locked runs that turned aggregates (already updated) */
  settled: SettledNode[];
}

type Walked = FrontierRow & { start_time: string; parent_missing: boolean };

/** Parallel arrays of rows for an unnest() parameter list. */
export function columns<T>(rows: readonly T[], ...pick: ((r: T) => unknown)[]): unknown[][] {
  return pick.map((f) => rows.map(f));
}

/**
 * Walk up from the plan's exits, through stored spans. The walk stops where a parent is not stored; a
 * missing parent that is in the batch (its spans are written after this) is marked in the plan, whose
 * propagation goes on from it, until no marked span leaves the batch. Stored nodes reached are settled only
 * in `locked` runs (a new run has no stored nodes: none is changed before its row is claimed).
 */
export async function walkMarks(client: pg.ClientBase, plan: MarkPlan, locked: ReadonlySet<string>): Promise<WalkResult> {
  const frontier = new Map<string, FrontierRow>();
  const addFrontier = (f: FrontierRow) => {
    const k = spanKey(f.tenant_id, f.trace_id, f.span_id);
    const had = frontier.get(k);
    if (had) had.mask |= f.mask;
    else frontier.set(k, { tenant_id: f.tenant_id, trace_id: f.trace_id, span_id: f.span_id, parent_span_id: f.parent_span_id, mask: f.mask });
  };
  const stored = new Map<string, Walked>();
  for (let exits = plan.exits; exits.length > 0;) {
    const starts = new Map<string, MarkExit>();
    for (const e of exits) {
      const k = spanKey(e.tenantId, e.traceId, e.parentSpanId);
      const s = starts.get(k);
      if (s) s.mask |= e.mask;
      else starts.set(k, { ...e });
    }
    const walked = await client.query<Walked>(WALK_UP_SQL, columns([...starts.values()],
      (e) => e.tenantId, (e) => e.traceId, (e) => e.parentSpanId, (e) => e.mask));
    const reached = new Set<string>();
    const next: MarkExit[] = [];
    for (const r of walked.rows) {
      const k = spanKey(r.tenant_id, r.trace_id, r.span_id);
      reached.add(k);
      if (plan.byKey.has(k)) next.push(...plan.markParent(k, r.mask)); // the re-send path stored the batch's spans already
      else if (locked.has(runKey(r.tenant_id, r.trace_id))) {
        const had = stored.get(k);
        if (had) had.mask |= r.mask;
        else stored.set(k, r);
      }
      if (!r.parent_missing) continue;
      const pk = spanKey(r.tenant_id, r.trace_id, r.parent_span_id);
      if (plan.byKey.has(pk)) next.push(...plan.markParent(pk, r.mask));
      else addFrontier(r);
    }
    // The walk reached the stored parent, or the parent has not arrived: the child waits on the frontier.
    for (const e of exits) {
      if (!reached.has(spanKey(e.tenantId, e.traceId, e.parentSpanId))) {
        addFrontier({ tenant_id: e.tenantId, trace_id: e.traceId, span_id: e.spanId, parent_span_id: e.parentSpanId, mask: e.mask });
      }
    }
    exits = next;
  }
  const rows = [...stored.values()];
  const settled = rows.length === 0 ? [] : (await client.query<SettledNode>(SETTLE_STORED_SQL, columns(rows,
    (r) => r.tenant_id, (r) => r.trace_id, (r) => r.span_id, (r) => r.start_time, (r) => r.mask))).rows;
  return { frontier: [...frontier.values()], settled };
}
