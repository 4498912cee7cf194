/**
 * Usage counted once, for any arrival order.
 *
 * A node carrying usage is an aggregate (its usage is not added to the run) when any descendant carries
 * usage. "Marked" spans are those whose present subtree carries usage; a usage node with a marked child
 * is an aggregate. Within a batch the marking is done here, in memory. Two things reach outside a batch:
 * - exits: marked spans whose parent is not in the batch; the walk continues up through stored spans (SQL);
 * - the frontier: marked spans whose parent has not arrived yet. They are stored (usage_frontier) so that
 *   the parent, whenever it arrives, learns it has a marked child.
 * A run is (tenant, trace id): parents, children and the frontier never reach across tenants.
 */
import type { PreparedSpan } from '../sink/prepare.js';
import { hasUsage } from '../sink/encoder.js';

/**
 * Map key of a run: the tenant followed by the 32 hex digits of the trace id (fixed length at the end, so
 * no separator is needed for the key to be unambiguous), lowercase as PostgreSQL returns uuids (the decoders
 * give lowercase ids; a caller of the writer might not).
 */
export const runKey = (tenantId: string, traceId: string) => tenantId + traceId.toLowerCase();
/** Map key of a span: its run's key followed by the 16 hex digits of the span id. */
export const spanKey = (tenantId: string, traceId: string, spanId: string) => tenantId + traceId.toLowerCase() + spanId;

export interface FrontierRow { tenant_id: string; trace_id: string; span_id: string; parent_span_id: string }

export interface UsageExit { tenantId: string; traceId: string; spanId: string; parentSpanId: string }

export interface UsagePlan {
  /** keys of batch nodes that are aggregates (usage_counted = false) */
  aggregates: Set<string>;
  /** marked batch spans whose parent is outside the batch (the walk continues from that parent) */
  exits: UsageExit[];
  /** stored frontier rows whose parent arrived in this batch (to delete) */
  consumed: FrontierRow[];
  /** the batch's spans by spanKey */
  byKey: Map<string, PreparedSpan>;
  /**
   * A batch span learns it has a marked child outside the batch (a stored span the walk reached, whose
   * parent it is): mark it and its ancestors in the batch; returns the exits this adds.
   */
  markParent(key: string): UsageExit[];
}

const keyOf = (m: PreparedSpan) => spanKey(m.span.tenantId, m.span.traceId, m.span.spanId);

/**
 * @param fresh the newly inserted spans of the batch
 * @param frontier stored frontier rows of the batch's runs
 */
export function planUsage(fresh: PreparedSpan[], frontier: FrontierRow[]): UsagePlan {
  const byKey = new Map<string, PreparedSpan>();
  for (const m of fresh) byKey.set(keyOf(m), m);

  const aggregates = new Set<string>();
  const marked = new Set<string>();
  /** Mark these spans and their ancestors in the batch; returns the marked spans whose parent is outside it. */
  const propagate = (stack: PreparedSpan[]): UsageExit[] => {
    const exits: UsageExit[] = [];
    while (stack.length > 0) {
      const m = stack.pop()!;
      const k = keyOf(m);
      if (marked.has(k)) continue;
      marked.add(k);
      const s = m.span;
      const p = s.parentSpanId;
      if (p === null) continue;
      const pk = spanKey(s.tenantId, s.traceId, p);
      const parent = byKey.get(pk);
      if (parent) {
        if (parent.node && hasUsage(parent.node)) aggregates.add(pk);
        stack.push(parent);
      } else {
        exits.push({ tenantId: s.tenantId, traceId: s.traceId, spanId: s.spanId, parentSpanId: p });
      }
    }
    return exits;
  };
  /** a batch span with a marked child that is not in the batch */
  const hasMarkedChild = (pk: string, parent: PreparedSpan, stack: PreparedSpan[]) => {
    stack.push(parent);
    if (parent.node && hasUsage(parent.node)) aggregates.add(pk);
  };

  const consumed: FrontierRow[] = [];
  const stack: PreparedSpan[] = [];
  for (const f of frontier) {
    const pk = spanKey(f.tenant_id, f.trace_id, f.parent_span_id);
    const parent = byKey.get(pk);
    if (!parent) continue;
    consumed.push(f);
    hasMarkedChild(pk, parent, stack); // its marked child was stored earlier
  }
  for (const m of fresh) if (m.node && hasUsage(m.node)) stack.push(m);
  return {
    aggregates, consumed, byKey, exits: propagate(stack),
    markParent: (key) => {
      const parent = byKey.get(key);
      if (!parent) return [];
      const more: PreparedSpan[] = [];
      hasMarkedChild(key, parent, more);
      return propagate(more);
    },
  };
}
