/**
 * Analyst views (sql/004_analyst_views.sql) on a ledger written through writeBatch: run_summary,
 * node_tree()/node_trees, failed_nodes, daily_usage, unpriced_models (sql/008), and row-level security on all of them.
 * The examples of docs/queries.md are run by test/queries-doc.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { refreshDailyUsage } from '../src/maintenance/daily-usage.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { A1, A2, A3, ACME_USAGE, B1, D1, D2, GLOBEX_USAGE, rowsAs, writeTraces } from './helpers/analyst-ledger.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb('views');
  await writeTraces(db, [A1, A2, A3, B1]);
  expect((await refreshDailyUsage(db.pool)).days).toBe(2); // D1 and D2: in the default window (the last 3 UTC days)
});
afterAll(async () => { await db?.drop(); });

const rows = (sql: string, params: unknown[] = [], analyst?: string | null) => rowsAs(db, sql, params, analyst);

describe('run_summary', () => {
  it('has one row per run with the runs totals and derived columns', async () => {
    const r = await rows(`SELECT run_id, tenant_id, pipeline, name, status, error_message, day::text, duration_ms, total_nodes,
      llm_calls, error_spans, failed_nodes, total_tokens, total_cost, models, model_count, cost_per_1k_tokens, llm_call_share,
      llm_time_ms, llm_time_share FROM runledger.run_summary ORDER BY total_cost DESC`);
    expect(r).toEqual([
      { run_id: A2.runId, tenant_id: 'acme', pipeline: 'support-bot', name: 'invoke_agent planner', status: 'FAILED', error_message: 'rate limited',
        day: D2, duration_ms: 20000, total_nodes: '3', llm_calls: '2', error_spans: '2', failed_nodes: '2', total_tokens: '1500',
        total_cost: '0.0105000000', models: ['claude-sonnet-4'], model_count: 1, cost_per_1k_tokens: '0.0070000000',
        llm_call_share: 2 / 3, llm_time_ms: 9000, llm_time_share: 0.45 },
      { run_id: A1.runId, tenant_id: 'acme', pipeline: 'support-bot', name: 'invoke_agent planner', status: 'COMPLETED', error_message: null,
        day: D1, duration_ms: 10000, total_nodes: '6', llm_calls: '2', error_spans: '1', failed_nodes: '1', total_tokens: '190',
        total_cost: '0.0009020000', models: ['gpt-4o-mini', 'text-embedding-3-small'], model_count: 2, cost_per_1k_tokens: '0.0047473684',
        llm_call_share: 2 / 6, llm_time_ms: 2900, llm_time_share: 0.29 },
      { run_id: B1.runId, tenant_id: 'globex', pipeline: 'support-bot', name: 'invoke_agent helper', status: 'COMPLETED', error_message: null,
        // its two LLM nodes are one call instrumented twice: one call (issue 10's tree rule)
        day: D1, duration_ms: 5000, total_nodes: '4', llm_calls: '1', error_spans: '1', failed_nodes: '1', total_tokens: '10',
        total_cost: '0.0000100000', models: ['gpt-4o-mini'], model_count: 1, cost_per_1k_tokens: '0.0010000000',
        // and its time is that call's (the inner node's 1.3 s; summing both nodes gave 2.8 s, sql/023)
        llm_call_share: 0.25, llm_time_ms: 1300, llm_time_share: 0.26 },
      { run_id: A3.runId, tenant_id: 'acme', pipeline: 'nightly-etl', name: null, status: 'RUNNING', error_message: null,
        day: D1, duration_ms: 49000, total_nodes: '2', llm_calls: '1', error_spans: '0', failed_nodes: '0', total_tokens: '100',
        total_cost: '0.0000000000', models: ['local-llama'], model_count: 1, cost_per_1k_tokens: '0.0000000000',
        llm_call_share: 0.5, llm_time_ms: 38000, llm_time_share: 38 / 49 },
    ]);
  });
});

const TREE = `SELECT node_id, parent_node_id, depth, exec_order, tree_path, parent_missing, name FROM runledger.node_tree($1) ORDER BY tree_path`;

describe('node_tree and node_trees', () => {
  it('places each node under its nearest node ancestor, through spans that are not nodes', async () => {
    const t = await rows(TREE, [A1.runId]);
    const n = (k: string, parent: string | null, depth: number, order: number, path: number[]) =>
      ({ node_id: A1.id(k), parent_node_id: parent && A1.id(parent), depth, exec_order: order, tree_path: path, parent_missing: false });
    expect(t.map(({ name, ...rest }) => rest)).toEqual([
      n('ag', null, 0, 1, [1]), n('gt', 'ag', 1, 2, [1, 2]), n('d1', 'gt', 2, 3, [1, 2, 3]),
      n('d2', 'gt', 2, 4, [1, 2, 4]), // its parent span is the HTTP span, not a node
      n('tl', 'ag', 1, 5, [1, 5]), n('em', 'ag', 1, 6, [1, 6]),
    ]);
  });

  it('starts a tree at a node whose parent span has not arrived', async () => {
    expect(await rows(TREE, [A3.runId])).toEqual([
      { node_id: A3.id('wf'), parent_node_id: null, depth: 0, exec_order: 1, tree_path: [1], parent_missing: true, name: 'workflow nightly' },
      { node_id: A3.id('sm'), parent_node_id: A3.id('wf'), depth: 1, exec_order: 2, tree_path: [1, 2], parent_missing: false, name: 'summarize' },
    ]);
  });

  it('node_trees gives every run its node_tree()', async () => {
    const all = await rows(`SELECT run_id, pipeline, node_id, parent_node_id, depth, exec_order, tree_path, parent_missing, name
      FROM runledger.node_trees ORDER BY run_id, tree_path`);
    const expected = [];
    for (const t of [A1, A2, A3, B1].sort((a, b) => (a.runId < b.runId ? -1 : 1))) {
      const pipeline = t === A3 ? 'nightly-etl' : 'support-bot';
      for (const r of await rows(TREE, [t.runId])) expected.push({ run_id: t.runId, pipeline, ...r });
    }
    expect(all).toHaveLength(15);
    expect(all).toEqual(expected);
  });

  it('node_trees filtered on run_id reads only that run\'s nodes', async () => {
    const plan = (await rows(`EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM runledger.node_trees WHERE run_id = '${A1.runId}'`))[0]['QUERY PLAN'];
    let nodesRead = 0;
    const walk = (p: any) => {
      if (/^nodes/.test(p['Relation Name'] ?? '')) nodesRead += p['Actual Rows'] * p['Actual Loops'];
      for (const c of p.Plans ?? []) walk(c);
    };
    walk(plan[0].Plan);
    expect(nodesRead).toBe(6); // of 15 nodes in the ledger
  });
});

describe('failed_nodes', () => {
  it('lists failed nodes with their run and nearest node ancestor', async () => {
    expect(await rows(`SELECT run_id, node_id, tenant_id, pipeline, run_name, run_status, day::text, node_type, error_type, error_message,
        tool_name, parent_node_id, parent_node_name, parent_node_status FROM runledger.failed_nodes ORDER BY start_time`)).toEqual([
      { run_id: B1.runId, node_id: B1.id('tl'), tenant_id: 'globex', pipeline: 'support-bot', run_name: 'invoke_agent helper', run_status: 'COMPLETED',
        day: D1, node_type: 'TOOL', error_type: 'KeyError', error_message: 'no such customer', tool_name: 'lookup',
        parent_node_id: B1.id('ag'), parent_node_name: 'invoke_agent helper', parent_node_status: 'COMPLETED' },
      { run_id: A1.runId, node_id: A1.id('tl'), tenant_id: 'acme', pipeline: 'support-bot', run_name: 'invoke_agent planner', run_status: 'COMPLETED',
        day: D2, node_type: 'TOOL', error_type: 'TimeoutError', error_message: 'search backend timed out', tool_name: 'search',
        parent_node_id: A1.id('ag'), parent_node_name: 'invoke_agent planner', parent_node_status: 'COMPLETED' },
      { run_id: A2.runId, node_id: A2.id('ag'), tenant_id: 'acme', pipeline: 'support-bot', run_name: 'invoke_agent planner', run_status: 'FAILED',
        day: D2, node_type: 'AGENT', error_type: null, error_message: 'rate limited', tool_name: null,
        parent_node_id: null, parent_node_name: null, parent_node_status: null },
      { run_id: A2.runId, node_id: A2.id('c2'), tenant_id: 'acme', pipeline: 'support-bot', run_name: 'invoke_agent planner', run_status: 'FAILED',
        day: D2, node_type: 'LLM', error_type: 'RateLimitError', error_message: 'rate limited', tool_name: null,
        parent_node_id: A2.id('ag'), parent_node_name: 'invoke_agent planner', parent_node_status: 'FAILED' },
    ]);
  });
});

const USAGE = `SELECT day::text, tenant_id, pipeline, provider, model, runs, calls, llm_calls, embedding_calls, failed_calls, counted_calls,
  input_tokens, output_tokens, total_tokens, total_cost, unpriced_calls FROM runledger.daily_usage ORDER BY day, tenant_id, pipeline, model`;
describe('daily_usage', () => {
  it('keeps the columns it had as a view over a materialized view (token sums numeric: they cannot overflow)', async () => {
    const cols = await rows(`SELECT column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'runledger' AND table_name = 'daily_usage' ORDER BY ordinal_position`);
    const b = 'bigint';
    const n = 'numeric';
    expect(cols.map((c) => `${c.column_name} ${c.data_type}`)).toEqual([
      'day date', 'tenant_id text', 'pipeline text', 'provider text', 'model text', `runs ${b}`, `calls ${b}`, `llm_calls ${b}`,
      `embedding_calls ${b}`, `failed_calls ${b}`, `counted_calls ${b}`, `input_tokens ${n}`, `output_tokens ${n}`,
      `cache_read_tokens ${n}`, `cache_write_tokens ${n}`, `reasoning_tokens ${n}`, `total_tokens ${n}`, 'total_cost numeric',
      `unpriced_calls ${b}`,
    ]);
  });

  it('sums counted usage per day, tenant, pipeline, provider and model', async () => {
    expect(await rows(USAGE)).toEqual([...ACME_USAGE.slice(0, 2), GLOBEX_USAGE[0], ...ACME_USAGE.slice(2)]);
  });

  it('adds up to the runs totals of each tenant', async () => {
    const q = (from: string) => `SELECT tenant_id, sum(input_tokens)::text AS i, sum(output_tokens)::text AS o, sum(total_tokens)::text AS t,
      sum(total_cost)::text AS cost, sum(llm_calls)::text AS llm FROM runledger.${from} GROUP BY 1 ORDER BY 1`;
    const runs = await rows(q('runs'));
    expect(runs).toEqual([
      { tenant_id: 'acme', i: '1180', o: '610', t: '1790', cost: '0.0114020000', llm: '5' },
      { tenant_id: 'globex', i: '5', o: '5', t: '10', cost: '0.0000100000', llm: '1' },
    ]);
    expect(await rows(q('daily_usage'))).toEqual(runs);
  });
});

describe('unpriced_models (sql/008)', () => {
  const Q = `SELECT tenant_id, provider, model_name, calls::int, input_tokens::int, output_tokens::int, total_tokens::int,
    first_seen = last_seen AS one_call FROM runledger.unpriced_models ORDER BY tenant_id, model_name`;

  it('lists the models with usage but no cost, with call and token counts, as the rollup counts unpriced calls', async () => {
    const want = { tenant_id: 'acme', provider: null, model_name: 'local-llama', calls: 1, input_tokens: 50, output_tokens: 50, total_tokens: 100, one_call: true };
    expect(await rows(Q)).toEqual([want]);
    const unpriced = await rows(`SELECT sum(unpriced_calls)::int AS n FROM runledger.daily_usage`);
    expect(unpriced).toEqual([{ n: 1 }]);
  });

  it('runs with the caller\'s rights: an analyst sees only its tenant', async () => {
    expect(await rows(Q, [], 'acme')).toHaveLength(1);
    expect(await rows(Q, [], 'globex')).toEqual([]);
    expect(await rows(Q, [], null)).toEqual([]);
  });
});

describe('row-level security', () => {
  const VIEWS = ['run_summary', 'node_trees', 'failed_nodes', 'daily_usage'];
  const seen = async (view: string, tenant?: string | null) =>
    Object.fromEntries((await rows(`SELECT tenant_id, count(*)::int AS n FROM runledger.${view} GROUP BY 1 ORDER BY 1`, [], tenant)).map((r) => [r.tenant_id, r.n]));

  it('shows an analyst only the rows of the tenant in runledger.tenant_id, and none without it', async () => {
    for (const view of VIEWS) {
      const all = await seen(view); // as the owner
      expect(Object.keys(all), view).toEqual(['acme', 'globex']);
      expect(await seen(view, 'acme'), view).toEqual({ acme: all.acme });
      expect(await seen(view, 'globex'), view).toEqual({ globex: all.globex });
      expect(await seen(view, null), view).toEqual({});
      expect(await seen(view, ''), view).toEqual({});
    }
    expect(await rows(USAGE, [], 'globex')).toEqual(GLOBEX_USAGE);
    expect(await rows(TREE, [B1.runId], 'acme')).toEqual([]);
    expect(await rows(TREE, [B1.runId], 'globex')).toHaveLength(4);
  });

  it('keeps the rollup and its refresh from analysts', async () => {
    await expect(rows('SELECT * FROM runledger.daily_usage_rollup', [], 'acme')).rejects.toThrow(/permission denied/);
    await expect(rows('SELECT runledger.refresh_daily_usage()', [], 'acme')).rejects.toThrow(/permission denied/);
    await expect(rows(`SELECT runledger.finalize_daily_usage('2000-01-01')`, [], 'acme')).rejects.toThrow(/permission denied/);
    expect(await rows('SELECT name FROM runledger.rollup_refreshes', [], 'acme')).toEqual([{ name: 'daily_usage' }]);
    // a caller's own condition is not evaluated before the tenant filter (security_barrier)
    await rows(`CREATE FUNCTION public.leak(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
      BEGIN RAISE NOTICE 'saw %', t; RETURN true; END $$`);
    const c = new pg.Client({ connectionString: db.url });
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    await c.connect();
    try {
      await c.query(`SET ROLE runledger_analyst; SET runledger.tenant_id = 'acme'`);
      expect((await c.query('SELECT tenant_id FROM runledger.daily_usage WHERE public.leak(tenant_id)')).rows).toHaveLength(4);
    } finally { await c.end(); }
    expect(notices.length).toBeGreaterThan(0);
    expect(notices.filter((m) => m !== 'saw acme')).toEqual([]);
  });
});
