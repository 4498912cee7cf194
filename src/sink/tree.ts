/**
 * The place of each node in its run's tree (nodes.parent_node_id, parent_missing, depth, step_order,
 * attempt, tree_path; sql/012, 013), computed from one request's spans as runledger.settle_tree() computes it from stored
 * rows (the walk of node_tree()). Exact for a run whose spans all arrive in this request and have none
 * stored before it — the usual case; the writer has settle_tree() recompute any other run it touches.
 */
import type { MappedSpan, NodeRecord } from '../mapping/types.js';
import { MAX_TREE_DEPTH } from '../constants.js';

export interface NodePlace {
  /** nearest ancestor that is a node, walking up through spans that are not */
  parentNodeId: string | null;
  /** the walk up stopped at a span not in the request */
  parentMissing: boolean;
  /** node ancestors; null on (or below) a cycle of parent ids, and below MAX_TREE_DEPTH */
  depth: number | null;
  /** 0-based position among the run's nodes by (start time, span id) */
  stepOrder: number;
  /** 1 + the run's earlier nodes of the same step name */
  attempt: number;
  /** step_order + 1 of each node ancestor from the top, then the node's own; null where depth is null */
  treePath: number[] | null;
}

/** runledger.step_name: the tool's name for tool calls, the agent's for agents, else the span name. */
export function stepName(n: Pick<NodeRecord, 'nodeType' | 'name' | 'toolName' | 'agentName'>): string {
  if (n.nodeType === 'TOOL') return n.toolName ?? n.name;
  if (n.nodeType === 'AGENT') return n.agentName ?? n.name;
  return n.name;
}

/** Places of the nodes of `mapped` (null for spans that are not nodes), in the same order. */
export function placeNodes(mapped: readonly MappedSpan[]): (NodePlace | null)[] {
  const out = new Array<NodePlace | null>(mapped.length).fill(null);
  const runs = new Map<string, number[]>();
  for (let i = 0; i < mapped.length; i++) {
    const s = mapped[i]!.span;
    const k = s.tenantId + s.traceId;
    const list = runs.get(k);
    if (list) list.push(i);
    else runs.set(k, [i]);
  }
  for (const indices of runs.values()) placeRun(mapped, indices, out);
  return out;
}

function placeRun(mapped: readonly MappedSpan[], indices: number[], out: (NodePlace | null)[]): void {
  const byId = new Map<string, MappedSpan>();
  for (const i of indices) {
    const m = mapped[i]!;
    if (!byId.has(m.span.spanId)) byId.set(m.span.spanId, m);
  }
  const nodes = indices.filter((i) => mapped[i]!.node !== null);
  if (nodes.length === 0) return;
  // step order and attempts: by (start, span id)
  const ordered = [...nodes].sort((a, b) => {
    const x = mapped[a]!.span;
    const y = mapped[b]!.span;
    return x.startUs - y.startUs || (x.spanId < y.spanId ? -1 : x.spanId > y.spanId ? 1 : 0);
  });
  const seen = new Map<string, number>();
  const parents = new Map<string, string | null>();
  ordered.forEach((i, order) => {
    const m = mapped[i]!;
    const name = stepName(m.node!);
    const attempt = (seen.get(name) ?? 0) + 1;
    seen.set(name, attempt);
    const walk = parentOf(m.span.spanId, m.span.parentSpanId, byId);
    parents.set(m.span.spanId, walk.parent);
    out[i] = { parentNodeId: walk.parent, parentMissing: walk.missing, depth: null, stepOrder: order, attempt, treePath: null };
  });
  const depths = new Map<string, number | null>();
  for (const i of nodes) out[i]!.depth = depthOf(mapped[i]!.span.spanId, parents, depths);
  // paths top-down: a node's parent has a depth one less, so its path is known first
  const paths = new Map<string, number[]>();
  const byDepth = nodes.filter((i) => out[i]!.depth !== null).sort((a, b) => out[a]!.depth! - out[b]!.depth!);
  for (const i of byDepth) {
    const id = mapped[i]!.span.spanId;
    const place = out[i]!;
    const up = place.depth === 0 ? undefined : paths.get(place.parentNodeId!);
    const path = up === undefined ? [place.stepOrder + 1] : [...up, place.stepOrder + 1];
    if (!paths.has(id)) paths.set(id, path);
    place.treePath = path;
  }
}

/** Walk up from a node's parent span through spans that are not nodes (as settle_tree's `up`). */
function parentOf(self: string, first: string | null, byId: Map<string, MappedSpan>): { parent: string | null; missing: boolean } {
  const visited = new Set<string>();
  for (let cur = first; cur !== null;) {
    // back at the node: a cycle through it with no other node on it; stored as the node's own parent, as
    // compat's walk finds it (node_tree() and failed_nodes read no parent: nullif(parent_node_id, node_id))
    if (cur === self) return { parent: self, missing: false };
    const s = byId.get(cur);
    if (s === undefined) return { parent: null, missing: true };
    if (s.node !== null) return { parent: cur, missing: false };
    if (visited.has(cur)) return { parent: null, missing: false }; // a cycle of spans that are not nodes
    visited.add(cur);
    cur = s.span.parentSpanId;
  }
  return { parent: null, missing: false };
}

/**
 * 0 for a node without a parent node (or its own), else its parent's depth + 1; null on (or below) a cycle,
 * and past MAX_TREE_DEPTH (as settle_tree's walk down stops there: constants.ts).
 */
function depthOf(id: string, parents: Map<string, string | null>, memo: Map<string, number | null>): number | null {
  const path: string[] = [];
  const onPath = new Set<string>();
  let cur: string | null = id;
  let base: number | null = null;
  for (;;) {
    if (cur === null) { base = -1; break; }
    const known = memo.get(cur);
    if (known !== undefined) { base = known; break; }
    if (onPath.has(cur)) { base = null; break; } // a cycle
    onPath.add(cur);
    path.push(cur);
    const parent: string | null = parents.get(cur) ?? null;
    cur = parent === cur ? null : parent;
  }
  for (let i = path.length - 1; i >= 0; i--) {
    base = base === null || base >= MAX_TREE_DEPTH ? null : base + 1;
    memo.set(path[i]!, base);
  }
  return memo.get(id) ?? null;
}
