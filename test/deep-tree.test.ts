/**
 * A run whose nodes nest thousands deep (each LLM span the child of the one before: cheap to send, no agent
 * framework nests so) must not cost the ledger quadratic storage or every tenant its writers: tree_path held
 * every ancestor's place (8,000 spans of one request stored 128 MB of paths), and settle_tree was planned to
 * walk up with a scan of the run per node (6 s per batch of such a run, 2.7 s for any run of 3,000 nodes,
 * while the other tenants' writes queued behind it). Depth and tree_path stop at MAX_TREE_DEPTH (NULL below,
 * as below a cycle), the same in one request as settled, and settle_tree probes a key per node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';
import { MAX_TREE_DEPTH } from '../src/constants.js';

const N = 3000;
const T0 = BigInt(Date.now() - 600_000) * 1_000_000n;
const traceId = hex(16);
const ids = Array.from({ length: N }, () => hex(8));

/** Spans i of the chain (i's parent: i - 1), as one request. */
function chain(indices: number[]): string {
  const spans = indices.map((i) => ({
    traceId, spanId: ids[i], parentSpanId: i === 0 ? '' : ids[i - 1], name: 'chat gpt-4o', kind: 3,
    startTimeUnixNano: String(T0 + BigInt(i) * 1000n), endTimeUnixNano: String(T0 + 100_000_000_000n - BigInt(i) * 1000n),
    attributes: [{ key: 'gen_ai.operation.name', value: { stringValue: 'chat' } }, { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
      { key: 'gen_ai.usage.input_tokens', value: { intValue: '1' } }],
  }));
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'deep' }, spans }] }] });
}

async function post(g: TestGateway, body: string): Promise<void> {
  const res = await fetch(g.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status, await res.clone().text()).toBe(200);
}

const nodes = async (g: TestGateway) => (await g.db.pool.query(`SELECT node_id, parent_node_id, depth, tree_path, step_order, attempt,
  usage_counted, call_counted FROM runledger.nodes WHERE run_id = $1 ORDER BY node_id`, [traceId])).rows;

let whole: TestGateway;
let parts: TestGateway;

beforeAll(async () => {
  [whole, parts] = await Promise.all([startTestGateway(), startTestGateway()]);
  await post(whole, chain(ids.map((_, i) => i)));
  // the same run in 4 requests, bottom first: every request after the first settles the stored run
  const all = ids.map((_, i) => i).reverse();
  for (let k = 0; k < 4; k++) await post(parts, chain(all.slice((k * N) / 4, ((k + 1) * N) / 4)));
}, 120_000);
afterAll(async () => { await Promise.all([whole?.close(), parts?.close()]); });

describe(`a chain of ${N} nested LLM nodes`, () => {
  it(`stores depth and tree_path down to depth ${MAX_TREE_DEPTH}, NULL below`, async () => {
    const stats = (await whole.db.pool.query(`SELECT max(depth) AS max_depth, count(*) FILTER (WHERE depth IS NULL)::int AS deeper,
      count(*) FILTER (WHERE tree_path IS NULL)::int AS no_path, max(cardinality(tree_path)) AS longest,
      sum(pg_column_size(tree_path))::bigint AS path_bytes, count(*)::int AS nodes FROM runledger.nodes WHERE run_id = $1`, [traceId])).rows[0];
    expect(stats).toMatchObject({ max_depth: MAX_TREE_DEPTH, deeper: N - MAX_TREE_DEPTH - 1, no_path: N - MAX_TREE_DEPTH - 1,
      longest: MAX_TREE_DEPTH + 1, nodes: N });
    // at most 1 + MAX_TREE_DEPTH places per node (before: 3,000 nodes held 18 MB of paths)
    expect(Number(stats.path_bytes)).toBeLessThan(200_000);
    // every parent is stored, whatever the depth; the run counts one call (the innermost)
    const run = (await whole.db.pool.query(`SELECT llm_calls::int, input_tokens::int FROM runledger.runs WHERE run_id = $1`, [traceId])).rows[0];
    expect(run).toEqual({ llm_calls: 1, input_tokens: 1 });
    expect((await whole.db.pool.query(`SELECT count(*)::int AS n FROM runledger.nodes WHERE run_id = $1 AND parent_node_id IS NULL`, [traceId])).rows[0].n).toBe(1);
  });

  it('is the same ledger in one request and settled from four', async () => {
    expect(await nodes(parts)).toEqual(await nodes(whole));
  });

  it('is settled in one probe per node, not a scan of the run per node (the writer\'s settle_tree of each batch)', async () => {
    const c = await parts.db.pool.connect();
    try {
      await c.query('BEGIN');
      const t = performance.now();
      await c.query(`SELECT runledger.settle_tree(ARRAY['default'], ARRAY[$1::uuid])`, [traceId]);
      // measured: 2.7 s before (the walk up planned as the run's spans times the walk), 0.15 s after
      expect(performance.now() - t).toBeLessThan(1000);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });
});
