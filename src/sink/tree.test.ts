/**
 * The stored node tree (sql/012): what the writer stores on the nodes — computed in JS for a run arriving
 * whole in one request, by settle_tree() otherwise — equals the tree walked from the spans as node_tree()
 * and compat walked it before it was stored, and the attempts the compat views counted, for random trees delivered in any order, split and re-sent, on real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBatch } from './writer.js';
import { prepareSpans } from './prepare.js';
import { placeNodes } from './tree.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';
import { chunks, hex, node, rng, shuffle, span, writeAll } from '../../test/helpers/spans.js';
import { WALK_TREE_SQL } from '../../test/helpers/tree-walk.js';
import type { MappedSpan, NodeRecord } from '../mapping/types.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('tree'); });
afterAll(async () => { await db?.drop(); });

const T0 = 1_765_000_000_000_000;
const TYPES: NodeRecord['nodeType'][] = ['LLM', 'TOOL', 'AGENT', 'CHAIN'];

/**
 * A random run: spans under random earlier parents, ~30% of them not nodes, some parents never sent, equal
 * start times, repeated step names (attempts), and sometimes a cycle of parent ids cut off from the root.
 */
function randomRun(rand: () => number, tenantId = 'acme', traceId = hex(16)): MappedSpan[] {
  const n = 3 + Math.floor(rand() * 20);
  const ids = Array.from({ length: n }, () => hex(8));
  const out: MappedSpan[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const parentSpanId = i === 0 ? null : r < 0.1 ? hex(8) : r < 0.15 ? null : ids[Math.floor(rand() * i)]!;
    const startUs = T0 + Math.floor(rand() * 6) * 1000; // few distinct starts: ties broken by span id
    const s = span({ traceId, spanId: ids[i]!, parentSpanId, tenantId, name: `step-${Math.floor(rand() * 3)}`, startUs, endUs: startUs + 5000 });
    const isNode = i === 0 || rand() < 0.7;
    const nodeType = TYPES[Math.floor(rand() * TYPES.length)]!;
    out.push({
      span: s, hints: { pipeline: null, environment: null, sessionId: null, userId: null },
      node: isNode ? node({ nodeType, name: s.name, toolName: nodeType === 'TOOL' && rand() < 0.5 ? 'search' : null,
        agentName: nodeType === 'AGENT' && rand() < 0.5 ? 'planner' : null }) : null,
    });
  }
  if (rand() < 0.3 && n > 4) { // two spans pointing at each other: a cycle off the root
    out[n - 1]!.span.parentSpanId = ids[n - 2]!;
    out[n - 2]!.span.parentSpanId = ids[n - 1]!;
  }
  return out;
}

async function write(requests: MappedSpan[][]) {
  const c = await db.pool.connect();
  try {
    for (const r of requests) await writeAll((x) => writeBatch(c, x), prepareSpans(r).items);
  } finally { c.release(); }
}

/** The stored tree columns of a run's nodes beside the tree walked from its spans (test/helpers/tree-walk.ts). */
async function compare(tenantId: string, traceId: string) {
  const { rows } = await db.pool.query(`
    SELECT n.node_id, n.parent_node_id, n.parent_missing, n.depth, n.step_order, n.attempt, n.tree_path,
      w.parent_node_id AS w_parent, w.parent_missing AS w_missing, w.depth AS w_depth, w.step_order AS w_order, w.attempt AS w_attempt,
      w.tree_path AS w_path
    FROM runledger.nodes n JOIN (${WALK_TREE_SQL}) w ON w.node_id = n.node_id
    WHERE n.tenant_id = $1 AND n.run_id = $2::uuid ORDER BY n.node_id`, [tenantId, traceId]);
  const stored = rows.map((r) => ({ id: r.node_id, parent: r.parent_node_id, missing: r.parent_missing, depth: r.depth, order: r.step_order, attempt: r.attempt, path: r.tree_path }));
  const walked = rows.map((r) => ({ id: r.node_id, parent: r.w_parent, missing: r.w_missing, depth: r.w_depth, order: r.w_order, attempt: r.w_attempt, path: r.w_path }));
  return { stored, walked };
}

describe('stored node tree', () => {
  it('a run in one request: the places computed at prepare equal the walk', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const run = randomRun(rng(seed));
      await write([run]);
      const { stored, walked } = await compare('acme', run[0]!.span.traceId);
      expect(stored.length, `seed ${seed}`).toBe(run.filter((m) => m.node).length);
      expect(stored, `seed ${seed}`).toEqual(walked);
    }
  });

  it('any arrival order, split and re-send: settle_tree arrives at the same places', async () => {
    for (let seed = 100; seed < 130; seed++) {
      const rand = rng(seed);
      const run = randomRun(rand);
      const requests = chunks(shuffle(run, rand), 4, rand);
      const sent: MappedSpan[][] = [];
      for (const r of requests) {
        sent.push(r);
        if (rand() < 0.3) sent.push(requests[Math.floor(rand() * requests.length)]!); // a retry, possibly of a later request
      }
      await write(sent);
      const { stored, walked } = await compare('acme', run[0]!.span.traceId);
      expect(stored, `seed ${seed}`).toEqual(walked);
    }
  });

  it('two tenants sending the same trace id get separate trees', async () => {
    const rand = rng(7);
    const traceId = hex(16);
    const a = randomRun(rand, 'acme', traceId);
    const b = randomRun(rand, 'globex', traceId);
    b[1]!.span.parentSpanId = a[0]!.span.spanId; // globex names acme's root as a parent: it is missing for globex
    await write([[...a.slice(0, 2), ...b], a.slice(2)]);
    for (const t of ['acme', 'globex']) {
      const { stored, walked } = await compare(t, traceId);
      expect(stored.length).toBeGreaterThan(0);
      expect(stored).toEqual(walked);
    }
    const g = await db.pool.query(`SELECT parent_node_id, parent_missing FROM runledger.nodes WHERE tenant_id = 'globex' AND node_id = $1`, [b[1]!.span.spanId]);
    if (b[1]!.node) expect(g.rows[0]).toEqual({ parent_node_id: null, parent_missing: true });
  });
});

describe('placeNodes', () => {
  it('walks up through spans that are not nodes, stops at missing parents and cycles', () => {
    const t = hex(16);
    const m = (spanId: string, parentSpanId: string | null, isNode: boolean, startUs = T0): MappedSpan => ({
      span: span({ traceId: t, spanId, parentSpanId, startUs }),
      node: isNode ? node({ nodeType: 'LLM', name: 'span' }) : null,
      hints: { pipeline: null, environment: null, sessionId: null, userId: null },
    });
    const places = placeNodes([
      m('a', null, true), m('h', 'a', false, T0 + 1), m('b', 'h', true, T0 + 2), m('c', 'gone', true, T0 + 3),
      m('x', 'y', true, T0 + 4), m('y', 'x', true, T0 + 5), m('z', 'w', true, T0 + 6), m('w', 'z', false, T0 + 7),
      m('v', 'z', true, T0 + 8),
    ]);
    expect(places).toEqual([
      { parentNodeId: null, parentMissing: false, depth: 0, stepOrder: 0, attempt: 1, treePath: [1] },
      null,
      { parentNodeId: 'a', parentMissing: false, depth: 1, stepOrder: 1, attempt: 2, treePath: [1, 2] },
      { parentNodeId: null, parentMissing: true, depth: 0, stepOrder: 2, attempt: 3, treePath: [3] },
      { parentNodeId: 'y', parentMissing: false, depth: null, stepOrder: 3, attempt: 4, treePath: null },
      { parentNodeId: 'x', parentMissing: false, depth: null, stepOrder: 4, attempt: 5, treePath: null },
      // z's walk comes back to z with no other node on the way: its own parent, top-level (depth 0)
      { parentNodeId: 'z', parentMissing: false, depth: 0, stepOrder: 5, attempt: 6, treePath: [6] },
      null,
      { parentNodeId: 'z', parentMissing: false, depth: 1, stepOrder: 6, attempt: 7, treePath: [6, 7] },
    ]);
  });
});
