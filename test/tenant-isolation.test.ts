/**
 * A run belongs to one tenant (issue 9): tenant B, knowing a trace id of tenant A (trace ids travel in
 * traceparent headers), sends spans under it — an earlier parentless span that failed, and a tiny LLM span
 * whose parent is A's LLM span — before or after A. A's rows stay exactly what A alone would have written,
 * field by field (runs, nodes, spans, daily usage), and B's bound analyst sees nothing of A's run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex } from './helpers/spans.js';
import { repair } from '../src/maintenance/repair.js';
import { reprice } from '../src/maintenance/reprice.js';
import { loadPriceTable } from '../src/mapping/prices.js';

const KEY_A = 'rl_acme_isolation_3b9f';
const KEY_B = 'rl_globex_isolation_77c1';
// An hour ago, in ns, at .412 s: every timestamp B can read then ends in ...12000 (µs), the digits of A's token count
// 1200 — the secrets check below must tell A's number from B's timestamps (it once flaked when the clock said x12 ms).
const T0 = (BigInt(Math.floor((Date.now() - 3_600_000) / 1000) * 1000) + 412n) * 1_000_000n;

type Attr = { key: string; value: Record<string, unknown> };
const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): Attr => ({ key, value: { intValue: String(v) } });

interface Span { spanId: string; parentSpanId?: string; name: string; startMs: number; endMs: number; attributes: Attr[]; error?: string }

function request(traceId: string, service: string, spans: Span[]): string {
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [str('service.name', service)] },
      scopeSpans: [{
        scope: { name: 'isolation' },
        spans: spans.map((s) => ({
          traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: 1,
          startTimeUnixNano: String(T0 + BigInt(s.startMs) * 1_000_000n), endTimeUnixNano: String(T0 + BigInt(s.endMs) * 1_000_000n),
          attributes: s.attributes,
          status: s.error ? { code: 2, message: s.error } : { code: 1 },
        })),
      }],
    }],
  });
}

/** Tenant A's run: an agent, its LLM call (usage, cost) and a tool call. */
function runOfA(traceId: string) {
  const ids = { root: hex(8), llm: hex(8), tool: hex(8) };
  const body = request(traceId, 'acme-svc', [
    { spanId: ids.root, name: 'invoke_agent planner', startMs: 100, endMs: 5000,
      attributes: [str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'planner'), str('gen_ai.workflow.name', 'acme-pipeline')] },
    { spanId: ids.llm, parentSpanId: ids.root, name: 'chat gpt-4o-mini', startMs: 200, endMs: 2000,
      attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', 'openai'), str('gen_ai.request.model', 'gpt-4o-mini'),
        int('gen_ai.usage.input_tokens', 1200), int('gen_ai.usage.output_tokens', 300), str('user.id', 'alice-acme'),
        str('gen_ai.conversation.id', 'acme-session-1')] },
    { spanId: ids.tool, parentSpanId: ids.root, name: 'execute_tool search', startMs: 2100, endMs: 3000,
      attributes: [str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 'search')] },
  ]);
  return { ids, body };
}

/** Tenant B's spans under A's trace id: an earlier failed parentless span, and an LLM span under A's LLM span. */
function attackOfB(traceId: string, aLlm: string): string {
  return request(traceId, 'evil-svc', [
    { spanId: hex(8), name: 'evil root', startMs: 1, endMs: 9000, error: 'pwned by globex',
      attributes: [str('gen_ai.workflow.name', 'evil-pipeline'), str('user.id', 'mallory')] },
    { spanId: hex(8), parentSpanId: aLlm, name: 'chat tiny', startMs: 300, endMs: 400,
      attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', 'gpt-4o'), int('gen_ai.usage.input_tokens', 1),
        int('gen_ai.usage.output_tokens', 1), str('gen_ai.conversation.id', 'evil-session')] },
  ]);
}

async function post(gw: TestGateway, key: string, body: string): Promise<void> {
  const res = await fetch(gw.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({});
}

/** Every stored value of a tenant's run (bookkeeping times left out), after a daily usage refresh. */
async function ledgerOf(db: TestDb, tenant: string, traceId: string) {
  const q = async (sql: string) => (await db.pool.query(sql, [tenant, traceId])).rows;
  await db.pool.query(`SELECT runledger.refresh_daily_usage('-infinity', 'infinity')`);
  return {
    runs: await q(`SELECT to_jsonb(r) - 'created_at' - 'updated_at' AS r FROM runledger.runs r WHERE tenant_id = $1 AND run_id = $2`),
    nodes: await q(`SELECT to_jsonb(n) AS n FROM runledger.nodes n WHERE tenant_id = $1 AND run_id = $2 ORDER BY node_id`),
    spans: await q(`SELECT to_jsonb(s) - 'ingested_at' AS s FROM runledger.spans s WHERE tenant_id = $1 AND trace_id = $2 ORDER BY span_id`),
    usage: await q(`SELECT to_jsonb(u) - 'refreshed_at' AS u FROM runledger.daily_usage_rollup u WHERE tenant_id = $1 AND $2::text IS NOT NULL
      ORDER BY day, pipeline, provider, model`),
  };
}

let gw: TestGateway;
let reference: TestGateway;
const roles: string[] = [];

beforeAll(async () => {
  const keys = { [KEY_A]: 'acme', [KEY_B]: 'globex' };
  [gw, reference] = await Promise.all([startTestGateway({ apiKeys: keys }), startTestGateway({ apiKeys: keys })]);
});
afterAll(async () => {
  for (const role of roles) {
    await gw.db.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
    await gw.db.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  }
  await Promise.all([gw?.close(), reference?.close()]);
});

/** A login role bound to one tenant (runledger.analyst_tenants); returns its connection URL. */
async function boundAnalyst(tenant: string): Promise<string> {
  const role = `rl_iso_${tenant}_${process.pid}_${Date.now().toString(36)}`;
  roles.push(role);
  await gw.db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' IN ROLE runledger_analyst`);
  await gw.db.pool.query(`INSERT INTO runledger.analyst_tenants VALUES ($1, $2)`, [role, tenant]);
  const u = new URL(gw.db.url);
  u.username = role;
  u.password = 'pw';
  return u.toString();
}

/** Everything an analyst can read about a trace id through the views and the compat schema, as text. */
async function visible(url: string, traceId: string): Promise<Record<string, unknown[]>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, unknown[]> = {};
    const hex32 = `replace($1::text, '-', '')`;
    const views: [string, string][] = [
      ['runledger.runs', 'run_id = $1'], ['runledger.nodes', 'run_id = $1'], ['runledger.spans', 'trace_id = $1'],
      ['runledger.run_summary', 'run_id = $1'], ['runledger.failed_nodes', 'run_id = $1'], ['runledger.node_trees', 'run_id = $1'],
      ['compat.olo_run', 'run_id = $1'], ['compat.olo_run_node', 'run_id = $1'], ['compat.runs', 'id = $1'],
      ['compat.step_runs', 'run_id = $1'], ['compat.traces', 'trace_id = $1'], ['compat.spans', 'trace_id = $1'],
      ['compat.core_workflow_runs', `run_id = ${hex32}`], ['compat.core_workflow_steps', `run_id = ${hex32}`], ['compat.executions', 'id = $1'],
    ];
    for (const [view, where] of views) {
      out[view] = (await c.query(`SELECT to_jsonb(v)::text AS v FROM ${view} v WHERE ${where.replace('$1', '$1::uuid')}`, [traceId])).rows.map((r) => r.v);
    }
    out['runledger.daily_usage'] = (await c.query(`SELECT to_jsonb(u)::text AS v FROM runledger.daily_usage u`)).rows.map((r) => r.v);
    return out;
  } finally {
    await c.end();
  }
}

describe.each([
  ['A first, then B', 'after'],
  ['B first, then A', 'before'],
] as const)('tenant B sends spans under tenant A\'s trace id (%s)', (_label, order) => {
  const traceId = hex(16);
  const a = runOfA(traceId);

  beforeAll(async () => {
    if (order === 'before') await post(gw, KEY_B, attackOfB(traceId, a.ids.llm));
    await post(gw, KEY_A, a.body);
    if (order === 'after') await post(gw, KEY_B, attackOfB(traceId, a.ids.llm));
    await post(reference, KEY_A, a.body); // what A alone gives
  });

  it('leaves every row of A\'s run exactly as A alone would have it, usage counted and billed', async () => {
    const got = await ledgerOf(gw.db, 'acme', traceId);
    const want = await ledgerOf(reference.db, 'acme', traceId);
    expect(got).toEqual(want);
    const run = got.runs[0]!.r;
    expect(run).toMatchObject({
      tenant_id: 'acme', status: 'COMPLETED', name: 'invoke_agent planner', pipeline: 'acme-pipeline', user_id: 'alice-acme',
      session_id: 'acme-session-1', error_message: null, span_count: 3, llm_calls: 1, input_tokens: 1200, output_tokens: 300,
      root_span_id: a.ids.root, service_name: 'acme-svc',
    });
    expect(Number(run.total_cost)).toBeGreaterThan(0);
    const llm = got.nodes.find((n) => n.n.node_id === a.ids.llm)!.n;
    expect(llm.usage_counted).toBe(true);
    // the daily usage rollup bills acme exactly its runs' tokens (A's runs of both scenarios share the day)
    const billed = (await gw.db.pool.query(`SELECT sum(input_tokens)::int AS n FROM runledger.runs WHERE tenant_id = 'acme'`)).rows[0].n;
    expect(got.usage.map((u) => u.u.input_tokens)).toEqual([billed]);
  });

  it('gives B a run of its own, from its own spans only', async () => {
    const b = (await gw.db.pool.query(`SELECT tenant_id, status, name, pipeline, user_id, span_count::int, llm_calls::int,
      input_tokens::int, error_message FROM runledger.runs WHERE run_id = $1 AND tenant_id = 'globex'`, [traceId])).rows;
    expect(b).toEqual([{ tenant_id: 'globex', status: 'FAILED', name: 'evil root', pipeline: 'evil-pipeline', user_id: 'mallory',
      span_count: 2, llm_calls: 1, input_tokens: 1, error_message: 'pwned by globex' }]);
    // its LLM span's parent is not one of its spans: it waits on B's own frontier, not on A's span
    const frontier = (await gw.db.pool.query(`SELECT tenant_id, parent_span_id FROM runledger.usage_frontier WHERE trace_id = $1`, [traceId])).rows;
    expect(frontier).toEqual([{ tenant_id: 'globex', parent_span_id: a.ids.llm }]);
  });

  it('shows B\'s bound analyst nothing of A\'s run, and A\'s analyst A\'s run only', async () => {
    const seenByB = JSON.stringify(await visible(await boundAnalyst('globex'), traceId));
    for (const secret of ['acme', 'alice-acme', 'acme-session-1', 'acme-pipeline', 'planner', 'gpt-4o-mini', a.ids.root, a.ids.tool]) {
      expect(seenByB, secret).not.toContain(secret);
    }
    // A's token count as a number of its own, not digits inside B's timestamps (…36.412000Z) or costs
    expect(seenByB).not.toMatch(/(?<![\d.])1200(?![\d])/);
    expect(seenByB).toContain('evil-pipeline');
    const seenByA = await visible(await boundAnalyst('acme'), traceId);
    expect(seenByA['runledger.runs']!.length).toBe(1);
    expect(JSON.stringify(seenByA)).not.toMatch(/evil|mallory|pwned/);
    expect(JSON.stringify(seenByA)).toMatch(/(?<![\d.])1200(?![\d])/); // the check on B's view would see it
    expect(seenByA['compat.olo_run']![0]).toContain('acme-pipeline');
  });

  it('keeps both runs apart through repair --run and reprice --force of the shared trace id (maintenance)', async () => {
    const bBefore = await ledgerOf(gw.db, 'globex', traceId);
    const prices = loadPriceTable();
    for (const g of [gw, reference]) {
      await repair(g.db.pool, { runIds: [traceId] });
      await reprice(g.db.pool, { prices, force: true });
    }
    const got = await ledgerOf(gw.db, 'acme', traceId);
    expect(got).toEqual(await ledgerOf(reference.db, 'acme', traceId));
    expect(got.runs[0]!.r).toMatchObject({ tenant_id: 'acme', status: 'COMPLETED', pipeline: 'acme-pipeline', user_id: 'alice-acme',
      span_count: 3, llm_calls: 1, input_tokens: 1200 });
    expect(got.nodes.find((n) => n.n.node_id === a.ids.llm)!.n.usage_counted).toBe(true);
    // B's run is what B's spans alone give, before and after
    const bAfter = await ledgerOf(gw.db, 'globex', traceId);
    expect(bAfter).toEqual(bBefore);
    expect(bAfter.runs[0]!.r).toMatchObject({ tenant_id: 'globex', status: 'FAILED', pipeline: 'evil-pipeline', span_count: 2, input_tokens: 1 });
  });
});
