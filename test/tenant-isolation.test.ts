/**
 * A run belongs to one tenant (issue 9): tenant B, knowing a trace id of tenant A (trace ids travel in
 * traceparent headers), sends spans under it — an earlier parentless span that failed, and a tiny LLM span
 * whose parent is A's LLM span — before or after A. A's rows stay exactly what A alone would have written,
 * field by field (runs, nodes, spans, daily usage), and B's bound analyst sees nothing of A's run; log records
 * naming another tenant's spans, and the content functions called with its ids, likewise (below).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex } from './helpers/spans.js';
import { repair } from '../src/maintenance/repair.js';
import { reprice } from '../src/maintenance/reprice.js';
import { loadPriceTable } from '../src/mapping/prices.js';
import { logsJson, type Rec } from './helpers/logs.js';

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

/**
 * The content paths (sql/011, 015-019): tenant A, knowing B's trace and span ids, sends GenAI log records
 * naming B's spans — before B's spans arrive (A's pending content) and after (B's node with content by
 * reference, B's node whose content comes from B's own records). B's ledger stays what B alone writes, and A's
 * bound analyst, calling the content functions with B's ids, reads nothing of B's content or resources.
 */
describe('tenant A sends log records naming tenant B\'s spans; A\'s analyst asks for B\'s content', () => {
  const traceId = hex(16);
  const ids = { root: hex(8), byRef: hex(8), byLogs: hex(8) };
  const B_SECRETS = ['globex-prompt-by-ref', 'globex-answer-by-ref', 'globex-prompt-by-logs', 'globex-answer-by-logs', 'globex-resource-secret'];
  const ns = (ms: number) => String(T0 + BigInt(ms) * 1_000_000n);
  const spansOfB = JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [str('service.name', 'globex-svc'), str('deployment.secret', 'globex-resource-secret')] },
      scopeSpans: [{ scope: { name: 'isolation' }, spans: [
        { traceId, spanId: ids.root, name: 'invoke_agent b', kind: 1, startTimeUnixNano: ns(0), endTimeUnixNano: ns(3000),
          attributes: [str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'b-agent')], status: { code: 1 } },
        // content by reference (sql/015): the node stores input_ref / output_ref into this span's attributes
        { traceId, spanId: ids.byRef, parentSpanId: ids.root, name: 'chat gpt-4o', kind: 3, startTimeUnixNano: ns(100), endTimeUnixNano: ns(900),
          attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', 'gpt-4o'), int('gen_ai.usage.input_tokens', 7),
            str('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'globex-prompt-by-ref' }] }])),
            str('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'globex-answer-by-ref' }] }]))],
          status: { code: 1 } },
        // no content of its own: B's log records give it
        { traceId, spanId: ids.byLogs, parentSpanId: ids.root, name: 'chat gpt-4o', kind: 3, startTimeUnixNano: ns(1000), endTimeUnixNano: ns(2000),
          attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', 'gpt-4o'), int('gen_ai.usage.input_tokens', 9)],
          status: { code: 1 } },
      ] }],
    }],
  });
  /** chat-path GenAI events (instrumentation-openai) of one span: a user message and a choice */
  const events = (spanId: string, prompt: string, answer: string, atMs: number): Rec[] => [
    { traceId, spanId, timeNs: T0 + BigInt(atMs) * 1_000_000n, eventAttr: 'gen_ai.user.message', attributes: { 'gen_ai.system': 'openai' }, body: { content: prompt } },
    { traceId, spanId, timeNs: T0 + BigInt(atMs + 500) * 1_000_000n, eventAttr: 'gen_ai.choice', attributes: { 'gen_ai.system': 'openai' },
      body: { index: 0, finish_reason: 'stop', message: { content: answer } } },
  ];
  const logsOfB = JSON.stringify(logsJson(events(ids.byLogs, 'globex-prompt-by-logs', 'globex-answer-by-logs', 1100), 'globex-svc'));
  const attackOfA = JSON.stringify(logsJson([ids.byRef, ids.byLogs, ids.root].flatMap((s, i) =>
    events(s, `acme-injected-prompt-${i}`, `acme-injected-answer-${i}`, 200 + i * 10)), 'acme-svc'));

  async function postLogs(g: TestGateway, key: string, body: string): Promise<void> {
    const res = await fetch(g.httpUrl + '/v1/logs', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
  }

  beforeAll(async () => {
    await postLogs(gw, KEY_A, attackOfA); // before B's spans: A's records wait as A's pending content
    await post(gw, KEY_B, spansOfB);
    await postLogs(gw, KEY_B, logsOfB);
    await postLogs(gw, KEY_A, attackOfA.replace(/acme-injected/g, 'acme-again')); // after: B's nodes exist
    await post(reference, KEY_B, spansOfB); // what B alone gives
    await postLogs(reference, KEY_B, logsOfB);
  });

  it('leaves B\'s run, nodes (content and references) and spans exactly as B alone would have them', async () => {
    // (daily usage left out: B's spans of the tests above share its day on gw, not on the reference)
    const { usage: _got, ...got } = await ledgerOf(gw.db, 'globex', traceId);
    const { usage: _want, ...want } = await ledgerOf(reference.db, 'globex', traceId);
    expect(got).toEqual(want);
    expect(got.nodes).toHaveLength(3);
    const content = async (db: TestDb) => (await db.pool.query(`SELECT node_id, input, output, content_source FROM runledger.nodes_full
      WHERE tenant_id = 'globex' AND run_id = $1 ORDER BY node_id`, [traceId])).rows;
    const nodes = await content(gw.db);
    expect(nodes).toEqual(await content(reference.db));
    expect(JSON.stringify(nodes)).not.toContain('acme');
    for (const secret of ['globex-prompt-by-ref', 'globex-answer-by-ref', 'globex-prompt-by-logs', 'globex-answer-by-logs']) {
      expect(JSON.stringify(nodes), secret).toContain(secret);
    }
    // A's records are A's: stored under A, no run of A (A sent no span), nothing pending under B
    const q = async (sql: string) => (await gw.db.pool.query(sql, [traceId])).rows[0].n;
    expect(await q(`SELECT count(*)::int AS n FROM runledger.logs WHERE run_id = $1 AND tenant_id = 'acme'`)).toBe(12);
    expect(await q(`SELECT count(*)::int AS n FROM runledger.runs WHERE run_id = $1 AND tenant_id = 'acme'`)).toBe(0);
    expect(await q(`SELECT count(*)::int AS n FROM runledger.pending_content WHERE run_id = $1 AND tenant_id = 'globex'`)).toBe(0);
  });

  it('shows A\'s bound analyst none of B\'s content, records or resources, whatever ids A passes the content functions', async () => {
    const c = new pg.Client({ connectionString: await boundAnalyst('acme') });
    await c.connect();
    try {
      await c.query(`SET runledger.tenant_id = 'globex'`); // ignored: the login role is bound to acme
      const start = (await gw.db.pool.query(`SELECT start_time FROM runledger.nodes WHERE tenant_id = 'globex' AND run_id = $1 AND node_id = $2`,
        [traceId, ids.byRef])).rows[0].start_time;
      const seen: Record<string, unknown[]> = {};
      const read = async (name: string, sql: string, params: unknown[] = [traceId]) => {
        seen[name] = (await c.query(sql, params)).rows;
      };
      for (const ref of ['json:gen_ai.input.messages', 'json:gen_ai.output.messages', 'text:gen_ai.input.messages']) {
        await read(`node_content ${ref}`, `SELECT runledger.node_content(NULL, $4, 'globex', $1, $2, $3) AS v`, [traceId, ids.byRef, start, ref]);
        expect(seen[`node_content ${ref}`]).toEqual([{ v: null }]);
      }
      await read('log_content', `SELECT * FROM runledger.log_content('globex', $1, $2, 100000)`, [traceId, ids.byLogs]);
      expect(seen.log_content).toEqual([{ input: null, output: null, prompt_hash: null }]);
      await read('raw_logs', `SELECT to_jsonb(l)::text AS v FROM runledger.raw_logs l WHERE run_id = $1`);
      await read('logs', `SELECT to_jsonb(l)::text AS v FROM runledger.logs l WHERE run_id = $1`);
      await read('raw_spans', `SELECT to_jsonb(s)::text AS v FROM runledger.raw_spans s WHERE trace_id = $1`);
      await read('resources', `SELECT to_jsonb(r)::text AS v FROM runledger.resources r`, []);
      await read('nodes_full', `SELECT to_jsonb(n)::text AS v FROM runledger.nodes_full n WHERE run_id = $1`);
      await read('ledger_runs', `SELECT to_jsonb(r)::text AS v FROM compat.ledger_runs r WHERE run_id = $1`);
      await read('ledger_nodes', `SELECT to_jsonb(n)::text AS v FROM compat.ledger_nodes n WHERE run_id = $1`);
      await read('pending', `SELECT count(*) FROM runledger.pending_content`, []).catch((e: Error) => { seen.pending = [e.message]; });
      const text = JSON.stringify(seen);
      for (const secret of B_SECRETS) expect(text, secret).not.toContain(secret);
      expect(text).not.toContain('globex');
      expect(seen.pending).toEqual([expect.stringMatching(/permission denied/)]);
      // the reads themselves work: A's analyst sees A's own records of that trace id
      expect(seen.raw_logs).toHaveLength(12);
      expect(JSON.stringify(seen.raw_logs)).toContain('acme-injected-prompt-0');
    } finally {
      await c.end();
    }
  });
});
