/**
 * Compatibility views (sql/005_compat.sql, docs/compat.md): the five seed schemas served from the ledger.
 * The ledger is written through the real write path (writeBatch) with the fixture of test/compat/fixture.ts;
 * every seed query pattern in test/compat/patterns/ runs against the views (search_path = compat) and its
 * result is compared with test/compat/expectations.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDb, type TestDb } from './helpers/db.js';
import { writeBatch } from '../src/sink/writer.js';
import { DAY_START_MS, SPAN, TRACE, fixture } from './compat/fixture.js';
import { SEED_COLUMNS } from './compat/columns.js';
import { PATTERNS, ids } from './compat/expectations.js';

const PATTERN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'compat', 'patterns');
const patternFiles = readdirSync(PATTERN_DIR).filter((f) => f.endsWith('.sql')).sort();
const patternSql = (file: string) => readFileSync(join(PATTERN_DIR, file), 'utf8');

let db: TestDb;
let owner: pg.Client; // the tables' owner (no row-level security), search_path = compat

beforeAll(async () => {
  db = await createTestDb('compat');
  const c = await db.pool.connect();
  try {
    expect(await writeBatch(c, fixture())).toEqual({ inserted: 13, duplicates: 0 });
  } finally {
    c.release();
  }
  owner = new pg.Client({ connectionString: db.url, options: '-c search_path=compat' });
  await owner.connect();
});
afterAll(async () => {
  await owner?.end();
  await db?.drop();
});

/** Run `fn` as runledger_analyst with runledger.tenant_id = tenant (undefined: not set), search_path = compat. */
async function asAnalyst<T>(tenant: string | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: db.url, options: '-c search_path=compat' });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL ROLE runledger_analyst');
    if (tenant !== undefined) await c.query(`SELECT set_config('runledger.tenant_id', $1, true)`, [tenant]);
    return await fn(c);
  } finally {
    await c.query('ROLLBACK').catch(() => {});
    await c.end();
  }
}

const SEED_VIEWS = Object.keys(SEED_COLUMNS);

describe('compat views', () => {
  it('have every seed column, in the seed order, with the seed type, and run with the caller rights', async () => {
    for (const view of SEED_VIEWS) {
      const cols = await owner.query(`SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [`compat.${view}`]);
      expect(cols.rows.map((r) => [r.attname, r.type]), view).toEqual(SEED_COLUMNS[view]);
    }
    const views = await owner.query(`SELECT c.relname, c.reloptions FROM pg_class c
      WHERE c.relnamespace = 'compat'::regnamespace AND c.relkind = 'v' ORDER BY 1`);
    expect(views.rows.map((r) => r.relname)).toEqual([...SEED_VIEWS, 'ledger_nodes', 'ledger_runs'].sort());
    for (const v of views.rows) expect(v.reloptions, v.relname).toEqual(['security_invoker=true']);
  });

  it('give run-level tokens and cost equal to the runledger.runs totals (at the seed scale)', async () => {
    const { rows } = await owner.query(`
      SELECT r.run_id, r.input_tokens, r.output_tokens, r.total_tokens, round(r.total_cost, 6) AS cost6,
        round(r.total_cost, 4) AS cost4, o.total_cost AS olo_cost, o.total_tokens AS olo_tokens,
        o.total_prompt_tokens, o.total_completion_tokens, t.total_cost AS trace_cost, t.total_tokens AS trace_tokens,
        e.cost_usd, e.token_input, e.token_output,
        (SELECT sum(s.cost) FROM compat.spans s WHERE s.trace_id = r.run_id AND (s.metadata->>'usage_counted')::boolean) AS span_cost,
        (SELECT sum(n.estimated_cost) FROM compat.olo_run_node n WHERE n.run_id = r.run_id) AS own_costs
      FROM runledger.runs r JOIN compat.olo_run o ON o.run_id = r.run_id JOIN compat.traces t ON t.trace_id = r.run_id
      JOIN compat.executions e ON e.id = r.run_id ORDER BY r.start_time`);
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      expect([r.olo_cost, r.trace_cost, r.span_cost, r.cost_usd]).toEqual([r.cost6, r.cost6, r.cost6, r.cost4]);
      expect([r.olo_tokens, r.total_prompt_tokens, r.total_completion_tokens, r.token_input, r.token_output].map(String))
        .toEqual([r.total_tokens, r.input_tokens, r.output_tokens, r.input_tokens, r.output_tokens]);
      expect(r.trace_tokens).toMatchObject({ input: +r.input_tokens, output: +r.output_tokens, total: +r.total_tokens });
    }
    // A1: the aggregate keeps its own 30/60 tokens and $0.0009 on its node rows, not in the run's totals
    expect(rows[0]).toMatchObject({ run_id: ids.run(TRACE.A1), total_tokens: '95', olo_cost: '0.001000', own_costs: '0.001900' });
    const agg = await owner.query(`SELECT s.input, o.token_input_count, o.token_output_count, o.estimated_cost
      FROM compat.step_runs s JOIN compat.olo_run_node o ON o.run_id = s.run_id AND o.node_id = $2
      WHERE s.id = $1`, [ids.span(TRACE.A1, SPAN.b), SPAN.b]);
    expect(agg.rows).toEqual([{ input: null, token_input_count: 30, token_output_count: 60, estimated_cost: '0.000900' }]);
  });

  it('derive ids as documented, and they join across the views', async () => {
    const one = async (sql: string, params: unknown[] = []) => (await owner.query(sql, params)).rows[0];
    expect(await one(`SELECT count(*)::int AS n, count(DISTINCT sr.id)::int AS distinct_ids FROM step_runs sr
      JOIN spans s ON s.span_id = sr.id JOIN core_workflow_steps c ON c.step_id::uuid = sr.id
      JOIN olo_run_node o ON o.run_id = sr.run_id AND compat.span_uuid(o.run_id, o.node_id) = sr.id
      JOIN runs r ON r.id = sr.run_id JOIN core_workflow_runs cr ON cr.run_id = c.run_id
      JOIN olo_run ol ON ol.run_id = o.run_id JOIN traces t ON t.trace_id = s.trace_id AND t.execution_id = cr.run_id`))
      .toEqual({ n: 12, distinct_ids: 12 });
    // every parent resolves except the one of A3's node, whose parent span has not arrived
    expect(await one(`SELECT count(*)::int AS n FROM spans c WHERE c.parent_span_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM spans p WHERE p.span_id = c.parent_span_id)`)).toEqual({ n: 1 });
    expect(await one(`SELECT tenant_id, workflow_id, triggered_by_user FROM runs WHERE id = $1`, [ids.run(TRACE.A1)]))
      .toEqual({ tenant_id: ids.tenant('acme'), workflow_id: ids.pipeline('acme', 'support-bot'), triggered_by_user: ids.user('acme', 'u-42') });
    expect(await one(`SELECT agent_id, task_id FROM executions WHERE run_key = $1`, [TRACE.A1]))
      .toEqual({ agent_id: ids.agent('acme', 'planner'), task_id: ids.pipeline('acme', 'support-bot') });
    const u = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    expect(await one(`SELECT compat.tenant_uuid('default') AS d, compat.tenant_uuid($1) AS t, compat.user_uuid('x', $1) AS u,
      compat.user_uuid('x', NULL) AS n`, [u])).toEqual({ d: '00000000-0000-0000-0000-000000000001', t: u, u, n: null });
    // a step keeps its step_id across its runs (attempts)
    expect(await one(`SELECT count(*)::int AS n, count(DISTINCT step_id)::int AS steps FROM step_runs
      WHERE run_id = $1 AND step_name = 'search'`, [ids.run(TRACE.A1)])).toEqual({ n: 2, steps: 1 });
  });

  it("build seed 002's traces.metadata as sql/013's 14-key object did (sql/031 builds it from a row type)", async () => {
    const r = await owner.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE t.metadata IS DISTINCT FROM
      jsonb_strip_nulls(jsonb_build_object('tenant_id', r.tenant_id, 'pipeline', r.pipeline, 'name', r.name,
        'service_name', r.service_name, 'environment', r.environment, 'session_id', r.session_id,
        'user_id', r.user_id, 'models', to_jsonb(r.models), 'span_count', r.span_count, 'total_nodes', r.total_nodes,
        'llm_calls', r.llm_calls, 'tool_calls', r.tool_calls, 'error_count', r.error_count, 'currency', r.currency)))::int AS differ
      FROM traces t JOIN runledger.runs r ON r.run_id = t.trace_id AND r.trace_hex = t.execution_id`);
    expect(r.rows[0].n).toBeGreaterThan(2);
    expect(r.rows[0].differ).toBe(0);
  });

  it('map statuses and node types to each seed vocabulary', async () => {
    const distinct = async (view: string, col: string) =>
      (await owner.query(`SELECT DISTINCT ${col} AS v FROM ${view} ORDER BY 1`)).rows.map((r) => r.v);
    expect(await distinct('olo_run', 'status')).toEqual(['COMPLETED', 'FAILED', 'RUNNING']);
    expect(await distinct('olo_run_node', 'node_type')).toEqual(['MODEL', 'PLANNER', 'SEQUENCE', 'TOOL']);
    expect(await distinct('runs', 'status')).toEqual(['completed', 'failed', 'running']);
    expect(await distinct('step_runs', 'status')).toEqual(['completed', 'failed']);
    expect(await distinct('traces', 'status')).toEqual(['completed', 'failed', 'running']);
    expect(await distinct('spans', 'status')).toEqual(['completed', 'failed']);
    expect(await distinct('spans', 'span_type')).toEqual(['agent', 'chain', 'embedding', 'llm', 'span', 'tool']);
    expect(await distinct('core_workflow_runs', 'status')).toEqual(['COMPLETED', 'FAILED', 'RUNNING']);
    expect(await distinct('executions', 'status')).toEqual(['running', 'succeeded', 'timeout']);
    // failure stage: the failed node that ended first; content: the root node's (A2's root has no output)
    expect((await owner.query(`SELECT run_id, failure_stage, end_time IS NOT NULL AS ended, input_json, final_output
      FROM olo_run ORDER BY start_time`)).rows).toEqual([
      { run_id: ids.run(TRACE.A1), failure_stage: null, ended: true, input_json: { userId: 'u-42', question: 'weather in Paris?' },
        final_output: 'It is sunny in Paris.' },
      { run_id: ids.run(TRACE.B1), failure_stage: null, ended: true, input_json: 'hello', final_output: 'hi' },
      { run_id: ids.run(TRACE.A2), failure_stage: 'execute_tool fetch_report', ended: true, input_json: { report: 'weekly' },
        final_output: null },
      { run_id: ids.run(TRACE.A3), failure_stage: null, ended: false, input_json: null, final_output: null },
    ]);
  });
});

describe('seed query patterns (test/compat/patterns)', () => {
  it('each pattern file has its expected result', () => {
    expect(patternFiles.map((f) => f.replace(/\.sql$/, ''))).toEqual(Object.keys(PATTERNS).sort());
    for (const seed of ['000', '001', '002', '003', '004']) expect(patternFiles.some((f) => f.startsWith(seed))).toBe(true);
  });

  it.each(patternFiles)('%s', async (file) => {
    const p = PATTERNS[file.replace(/\.sql$/, '')]!;
    const { rows } = await owner.query(patternSql(file), p.params);
    if (p.rows) expect(rows).toEqual(p.rows);
    p.check?.(rows);
  });
});

describe('row-level security through the compat views', () => {
  /** the trace ids (hex) whose rows a view shows */
  const TRACE_OF: Record<string, string> = {
    olo_run: 'run_id', olo_run_node: 'run_id', runs: 'id', step_runs: 'run_id', traces: 'trace_id', spans: 'trace_id',
    core_workflow_runs: 'run_id::uuid', core_workflow_steps: 'run_id::uuid', executions: 'id',
    ledger_runs: 'run_id', ledger_nodes: 'run_id',
  };
  const seen = (c: pg.Client, view: string) => c.query(`SELECT compat.trace_hex(${TRACE_OF[view]}) AS t, count(*)::int AS n
    FROM compat.${view} GROUP BY 1 ORDER BY 1`).then((r) => Object.fromEntries(r.rows.map((x) => [x.t, x.n])));
  const only = (all: Record<string, number>, traces: string[]) => Object.fromEntries(traces.sort().map((t) => [t, all[t]]));

  it("shows an analyst of tenant A none of tenant B's rows, in every view", async () => {
    expect(Object.keys(TRACE_OF).sort()).toEqual([...SEED_VIEWS, 'ledger_nodes', 'ledger_runs'].sort());
    for (const view of Object.keys(TRACE_OF)) {
      const all = await seen(owner, view);
      expect(Object.keys(all).sort(), view).toEqual(Object.values(TRACE).sort()); // the owner sees both tenants
      expect(await asAnalyst('acme', (c) => seen(c, view)), view).toEqual(only(all, [TRACE.A1, TRACE.A2, TRACE.A3]));
      expect(await asAnalyst('globex', (c) => seen(c, view)), view).toEqual(only(all, [TRACE.B1]));
      expect(await asAnalyst(undefined, (c) => seen(c, view)), view).toEqual({});
    }
  });

  it("runs every seed pattern for an analyst of acme without showing globex's rows", async () => {
    const globex = [TRACE.B1, ids.run(TRACE.B1), ids.span(TRACE.B1, SPAN.b1), 'globex'];
    let hidden = 0;
    for (const file of patternFiles) {
      const p = PATTERNS[file.replace(/\.sql$/, '')]!;
      const rows = await asAnalyst('acme', async (c) => (await c.query(patternSql(file), p.params)).rows);
      const text = JSON.stringify(rows);
      for (const g of globex) expect(text, file).not.toContain(g);
      const ownerText = JSON.stringify((await owner.query(patternSql(file), p.params)).rows);
      if (globex.some((g) => ownerText.includes(g))) hidden++;
    }
    expect(hidden).toBeGreaterThanOrEqual(4); // patterns whose owner result has globex rows
  });
});

describe('predicates reach the ledger tables (EXPLAIN)', () => {
  type Plan = { 'Node Type': string; 'Relation Name'?: string; Alias?: string; 'Index Cond'?: string; 'Index Name'?: string;
    'Parent Relationship'?: string; Plans?: Plan[] };
  /** scans of the query itself (not of its subplans) */
  const mainScans = (p: Plan, out: Plan[] = []): Plan[] => {
    if (p['Parent Relationship'] === 'SubPlan') return out;
    if (p['Relation Name']) out.push(p);
    for (const c of p.Plans ?? []) mainScans(c, out);
    return out;
  };
  const explain = (sql: string) => asAnalyst('acme', async (c) => {
    await c.query('SET LOCAL enable_seqscan = off');
    return (await c.query(`EXPLAIN (FORMAT JSON) ${sql}`)).rows[0]['QUERY PLAN'][0].Plan as Plan;
  });

  it('a run_id condition on olo_run_node is an index condition on every nodes partition', async () => {
    const run = ids.run(TRACE.A1);
    const scans = mainScans(await explain(`SELECT * FROM compat.olo_run_node WHERE run_id = '${run}'`))
      .filter((s) => s['Relation Name']!.startsWith('nodes'));
    expect(scans.length).toBeGreaterThan(0);
    for (const s of scans) expect(s['Index Cond'], s['Relation Name']).toContain(`run_id = '${run}'::uuid`);
  });

  it('seed 002\'s failed spans (status = \'failed\', no time window) read the partial index of failed spans (sql/018)', async () => {
    // the pattern's own text: the index condition must stay word for word what compat.spans' status becomes
    const sql = readFileSync(join(PATTERN_DIR, '002_failed_spans.sql'), 'utf8');
    const scans = mainScans(await explain(sql)).filter((s) => s['Relation Name']!.startsWith('spans'));
    expect(scans.length).toBeGreaterThan(0);
    for (const s of scans) {
      const index = s['Node Type'] === 'Bitmap Heap Scan' ? s.Plans?.[0]?.['Index Name'] : s['Index Name'];
      expect(index, s['Relation Name']).toMatch(/_tenant_id_start_time_idx$/);
    }
    const failed = await asAnalyst('acme', async (c) => (await c.query(sql)).rows.length);
    expect(failed).toBeGreaterThan(0);
  });

  it("seed 002's children by the parent's uuid alone are an index condition on every spans partition, under row-level security too (sql/027)", async () => {
    const sql = readFileSync(join(PATTERN_DIR, '002_child_spans.sql'), 'utf8');
    const parent = ids.span(TRACE.A1, SPAN.a); // A1's root
    const scans = mainScans(await explain(sql.replace('$1', `'${parent}'`))).filter((s) => s['Relation Name']!.startsWith('spans'));
    expect(scans.length).toBeGreaterThan(0);
    for (const s of scans) {
      const cond = s['Node Type'] === 'Bitmap Heap Scan' ? s.Plans?.[0]?.['Index Cond'] : s['Index Cond'];
      expect(cond, s['Relation Name']).toContain(`parent_span_uuid(trace_id, parent_span_id) = '${parent}'::uuid`);
    }
    // the indexed call gives the uuid compat.span_uuid gives (the span ids of seed 002), NULL for a root
    const { rows } = await owner.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE p.uuid IS NOT DISTINCT FROM
        CASE WHEN s.parent_span_id IS NOT NULL THEN compat.span_uuid(s.trace_id, s.parent_span_id) END)::int AS same
      FROM runledger.spans s, LATERAL (SELECT compat.parent_span_uuid(s.trace_id, s.parent_span_id) AS uuid) p`);
    expect(rows[0].same).toBe(rows[0].n);
    const children = await asAnalyst('acme', async (c) => (await c.query(sql, [parent])).rows.length);
    expect(children).toBeGreaterThan(0);
  });

  it('a time window on olo_run_node prunes the nodes partitions to that day', async () => {
    const day = new Date(DAY_START_MS).toISOString();
    const next = new Date(DAY_START_MS + 86_400_000).toISOString();
    const scans = mainScans(await explain(`SELECT node_id, estimated_cost FROM compat.olo_run_node
      WHERE start_time >= '${day}' AND start_time < '${next}'`));
    expect(scans.map((s) => s['Relation Name']).filter((r) => r!.startsWith('nodes')))
      .toEqual([`nodes_${day.slice(0, 10).replaceAll('-', '')}`]);
  });
});
