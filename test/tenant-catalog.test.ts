/**
 * Every relation and function of schemas runledger and compat, enumerated from pg_catalog (so that one added
 * later is checked without being named here), as tenant B's bound analyst, after B mirrored tenant A's run: the
 * same trace id, span ids and resource shape, B's own values. B reads exactly B's rows and none of A's values,
 * whatever ids it passes the functions; only the reviewed functions and views run with their owner's rights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';
import { logsJson, type Rec } from './helpers/logs.js';

const KEY_A = 'rl_catalog_acme_5e1d';
const KEY_B = 'rl_catalog_globex_0b7a';
const T0 = BigInt(Math.floor((Date.now() - 3_600_000) / 1000) * 1000 + 250) * 1_000_000n;
const ns = (ms: number) => String(T0 + BigInt(ms) * 1_000_000n);
type Attr = { key: string; value: Record<string, unknown> };
const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): Attr => ({ key, value: { intValue: String(v) } });

const traceId = hex(16);
const ids = { root: hex(8), byRef: hex(8), byLogs: hex(8), tool: hex(8) };

/** One tenant's run; every value that is not an id carries `tag` ('acme' or 'globex'). */
function run(tag: string, tokens: number): { spans: string; logs: string } {
  const msg = (role: string, text: string) => JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }]);
  const spans = JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [str('service.name', `${tag}-svc`), str('deployment.secret', `${tag}-resource-secret`)] },
      scopeSpans: [{ scope: { name: `${tag}-scope` }, spans: [
        { traceId, spanId: ids.root, name: `invoke_agent ${tag}-agent`, kind: 1, startTimeUnixNano: ns(0), endTimeUnixNano: ns(3000),
          attributes: [str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', `${tag}-agent`),
            str('gen_ai.workflow.name', `${tag}-pipeline`), str('user.id', `${tag}-user`), str('gen_ai.conversation.id', `${tag}-session`),
            str('deployment.environment.name', `${tag}-env`)],
          status: { code: 2, message: `${tag}-root-failure` } },
        { traceId, spanId: ids.byRef, parentSpanId: ids.root, name: 'chat gpt-4o', kind: 3, startTimeUnixNano: ns(100), endTimeUnixNano: ns(900),
          attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', 'openai'), str('gen_ai.request.model', 'gpt-4o'),
            int('gen_ai.usage.input_tokens', tokens), int('gen_ai.usage.output_tokens', tokens),
            str('gen_ai.input.messages', msg('user', `${tag}-prompt-by-ref`)), str('gen_ai.output.messages', msg('assistant', `${tag}-answer-by-ref`))],
          status: { code: 1 } },
        { traceId, spanId: ids.byLogs, parentSpanId: ids.root, name: 'chat gpt-4o', kind: 3, startTimeUnixNano: ns(1000), endTimeUnixNano: ns(2000),
          attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', 'openai'), str('gen_ai.request.model', `${tag}-model`),
            int('gen_ai.usage.input_tokens', tokens)],
          status: { code: 1 } },
        { traceId, spanId: ids.tool, parentSpanId: ids.root, name: `execute_tool ${tag}-tool`, kind: 1, startTimeUnixNano: ns(2100), endTimeUnixNano: ns(2500),
          attributes: [str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', `${tag}-tool`), str('gen_ai.tool.call.id', `${tag}-call`)],
          events: [{ name: 'exception', timeUnixNano: ns(2400), attributes: [str('exception.type', `${tag}-error-type`),
            str('exception.message', `${tag}-exception`), str('exception.stacktrace', `${tag}-stack`)] }],
          status: { code: 2, message: `${tag}-tool-failure` } },
      ] }],
    }],
  });
  const at = (ms: number) => T0 + BigInt(ms) * 1_000_000n;
  const records: Rec[] = [
    { traceId, spanId: ids.byLogs, timeNs: at(1100), eventAttr: 'gen_ai.user.message', attributes: { 'gen_ai.system': 'openai' }, body: { content: `${tag}-prompt-by-logs` } },
    { traceId, spanId: ids.byLogs, timeNs: at(1600), eventAttr: 'gen_ai.choice', attributes: { 'gen_ai.system': 'openai' },
      body: { index: 0, finish_reason: 'stop', message: { content: `${tag}-answer-by-logs` } } },
    // content for a span id that neither tenant sent: pending content
    { traceId, spanId: 'f00dfacef00dface', timeNs: at(2600), eventAttr: 'gen_ai.user.message', attributes: { 'gen_ai.system': 'openai' }, body: { content: `${tag}-pending-prompt` } },
    { traceId, timeNs: at(2700), attributes: { note: `${tag}-log-attribute` }, body: { text: `${tag}-log-body` } },
  ];
  return { spans, logs: JSON.stringify(logsJson(records, `${tag}-svc`)) };
}

// A's token count is a number no timestamp or cost of B's contains
const A = run('acme', 7_919_311);
const B = run('globex', 5);

async function post(g: TestGateway, key: string, path: string, body: string): Promise<void> {
  const res = await fetch(g.httpUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(await res.json()).toEqual({});
}

let gw: TestGateway;
const roles: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ apiKeys: { [KEY_A]: 'acme', [KEY_B]: 'globex' } });
  // A first, B after; B's records before its spans (they wait as B's pending content), A's after
  await post(gw, KEY_A, '/v1/traces', A.spans);
  await post(gw, KEY_B, '/v1/logs', B.logs);
  await post(gw, KEY_B, '/v1/traces', B.spans);
  await post(gw, KEY_A, '/v1/logs', A.logs);
  await gw.db.pool.query(`SELECT runledger.refresh_daily_usage('-infinity', 'infinity')`);
});
afterAll(async () => {
  for (const role of roles) {
    await gw.db.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
    await gw.db.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  }
  await gw?.close();
});

/** A connection of a login role in runledger_analyst, bound to `tenant` (or, unbound, setting runledger.tenant_id). */
async function analyst(tenant: string, bound: boolean): Promise<pg.Client> {
  const role = `rl_cat_${tenant}_${bound ? 'b' : 's'}_${process.pid}_${Date.now().toString(36)}`;
  roles.push(role);
  await gw.db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' IN ROLE runledger_analyst`);
  if (bound) await gw.db.pool.query(`INSERT INTO runledger.analyst_tenants VALUES ($1, $2)`, [role, tenant]);
  const u = new URL(gw.db.url);
  u.username = role;
  u.password = 'pw';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  // a bound role's setting is ignored: it names the other tenant; an unbound one's names its own
  await c.query(`SELECT set_config('runledger.tenant_id', $1, false)`, [bound ? 'acme' : tenant]);
  return c;
}

interface Fn { name: string; args: { name: string; type: string }[]; sets: boolean }

/** Arguments to call a function with: per argument, the values of A's that its name and type suggest. */
async function argumentSets(f: Fn): Promise<string[][]> {
  const starts = (await gw.db.pool.query(`SELECT DISTINCT start_time::text AS t FROM runledger.nodes WHERE tenant_id = 'acme'`)).rows.map((r) => r.t);
  const refs = ['json:gen_ai.input.messages', 'json:gen_ai.output.messages', 'text:gen_ai.input.messages', 'flat:1:gen_ai.prompt.:'];
  const spanIds = [...Object.values(ids), 'f00dfacef00dface'];
  const pool = (a: { name: string; type: string }): string[] => {
    if (a.type === 'uuid') return [traceId];
    if (a.type === 'timestamp with time zone') return ['-infinity', ...starts];
    if (a.type === 'integer' || a.type === 'numeric') return ['100000'];
    if (a.type === 'jsonb') return ['null'];
    if (a.type === 'date[]') return [`{${new Date().toISOString().slice(0, 10)}}`];
    if (a.type === 'text[]') return ['{acme}'];
    if (a.type === 'uuid[]') return [`{${traceId}}`];
    if (/tenant/.test(a.name)) return ['acme', 'globex'];
    if (/span|node/.test(a.name)) return spanIds;
    if (/ref|key|kind/.test(a.name)) return refs;
    return ['acme', `acme-agent`];
  };
  let sets: string[][] = [[]];
  for (const a of f.args) sets = sets.flatMap((s) => pool(a).map((v) => [...s, v]));
  return sets;
}

/** A's values: none may appear in anything B's analyst reads (ids aside: B sent the same ones). */
const A_SECRETS = ['acme', '7919311', '7 919 311'];

describe('tenant B mirrors tenant A\'s run id for id; B\'s analyst reads the whole catalog', () => {
  it('gets exactly B\'s rows from every relation it may select, and nothing of A\'s', async () => {
    for (const bound of [true, false]) {
      const c = await analyst('globex', bound);
      try {
        const rels = (await c.query<{ rel: string; tenant: boolean }>(`
          SELECT format('%I.%I', n.nspname, c.relname) AS rel,
            EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS tenant
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname IN ('runledger', 'compat') AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
            AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1`)).rows;
        expect(rels.length).toBeGreaterThan(20);
        const seen: Record<string, string[]> = {};
        for (const r of rels) {
          seen[r.rel] = (await c.query(`SELECT to_jsonb(v)::text AS v FROM ${r.rel} v`)).rows.map((x) => x.v);
          if (!r.tenant) continue;
          // compat's tenant_id is text in seed 000 and a derived uuid in seed 001
          const mine = (await c.query(`SELECT count(*)::int AS n FROM ${r.rel} WHERE tenant_id::text IN ('globex', compat.tenant_uuid('globex')::text)`)).rows[0].n;
          expect(seen[r.rel]!.length, `${r.rel}: rows not of globex`).toBe(mine);
          const all = (await gw.db.pool.query(`SELECT count(*)::int AS n FROM ${r.rel} WHERE tenant_id::text IN ('globex', compat.tenant_uuid('globex')::text)`)).rows[0].n;
          expect(mine, `${r.rel}: globex's rows`).toBe(all);
        }
        const text = JSON.stringify(seen).toLowerCase();
        for (const s of A_SECRETS) expect(text, `${bound ? 'bound' : 'by setting'}: ${s}`).not.toContain(s);
        // the reads work: B's own values are there, content by reference and from log records included
        for (const s of ['globex-prompt-by-ref', 'globex-answer-by-logs', 'globex-resource-secret', 'globex-stack', 'globex-pending-prompt']) {
          expect(text, s).toContain(s);
        }
        for (const rel of ['runledger.runs', 'runledger.nodes', 'runledger.spans', 'runledger.logs', 'runledger.resources', 'compat.spans', 'runledger.daily_usage']) {
          expect(seen[rel]!.length, rel).toBeGreaterThan(0);
        }
      } finally {
        await c.end();
      }
    }
  });

  it('reads nothing of A\'s from any function it may execute, called with A\'s tenant and ids, errors included', async () => {
    const c = await analyst('globex', true);
    try {
      const all = (await c.query<{ oid: number; name: string; args: string[]; types: string[]; sets: boolean; pure: boolean; src: string }>(`
        SELECT p.oid, format('%I.%I', n.nspname, p.proname) AS name, coalesce(p.proargnames, '{}') AS args,
          ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) AS types, p.proretset AS sets,
          p.provolatile = 'i' AS pure, coalesce(p.prosrc, '') || coalesce(pg_get_function_sqlbody(p.oid), '') AS src
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('runledger', 'compat') AND p.prokind = 'f' AND has_function_privilege(p.oid, 'EXECUTE') ORDER BY 2`)).rows;
      expect(all.length).toBeGreaterThan(15);
      // immutable functions compute from their arguments alone (they echo A's names given them): none reads a table
      for (const f of all.filter((x) => x.pure)) expect(f.src, f.name).not.toMatch(/\b(from|join)\s+(runledger|compat)\./i);
      const fns = all.filter((x) => !x.pure);
      expect(fns.map((f) => f.name)).toEqual(expect.arrayContaining(['runledger.log_content', 'runledger.node_content', 'runledger.node_tree', 'compat.node_ancestors']));
      const out: string[] = [];
      let calls = 0;
      for (const f of fns) {
        const fn: Fn = { name: f.name, args: f.types.map((type, i) => ({ name: f.args[i] ?? '', type })), sets: f.sets };
        const casts = fn.args.map((a, i) => `$${i + 1}::${a.type}`).join(', ');
        for (const values of await argumentSets(fn)) {
          calls++;
          await c.query('SAVEPOINT f').catch(() => {});
          const r = await c.query(`SELECT to_jsonb(x)::text AS v FROM ${f.name}(${casts}) x`, values).then(
            (q) => q.rows.map((x) => x.v).join('\n'), (e: Error & { detail?: string; hint?: string }) => `${e.message} ${e.detail ?? ''} ${e.hint ?? ''}`);
          out.push(`${f.name}(${values.join(', ')}) = ${r}`);
        }
      }
      expect(calls).toBeGreaterThan(100);
      // the results, without the arguments passed (they name acme)
      const results = out.map((o) => o.slice(o.indexOf(') = ') + 4)).join('\n').toLowerCase();
      for (const s of ['acme-', '7919311']) expect(results, s).not.toContain(s);
      expect(out.find((o) => o.startsWith('runledger.analyst_tenant_ids()'))).toContain('globex');
    } finally {
      await c.end();
    }
  });

  it('runs only the reviewed function and view with their owner\'s rights; every other view with the caller\'s', async () => {
    const definers = (await gw.db.pool.query(`SELECT format('%I.%I', n.nspname, p.proname) AS f FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN ('runledger', 'compat') AND p.prosecdef ORDER BY 1`)).rows.map((r) => r.f);
    expect(definers).toEqual(['runledger.analyst_tenant_ids']);
    const ownerViews = (await gw.db.pool.query(`SELECT format('%I.%I', n.nspname, c.relname) AS v FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('runledger', 'compat') AND c.relkind IN ('v', 'm')
        AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false) ORDER BY 1`)).rows.map((r) => r.v);
    // daily_usage filters by the caller's tenants itself (sql/006) and is a security barrier
    expect(ownerViews).toEqual(['runledger.daily_usage']);
    // every table an analyst may read has row-level security, but rollup_refreshes (no tenant's data: refresh times)
    const open = (await gw.db.pool.query(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('runledger', 'compat') AND c.relkind IN ('r', 'p', 'f')
        AND NOT c.relispartition AND has_table_privilege('runledger_analyst', c.oid, 'SELECT') AND NOT c.relrowsecurity ORDER BY 1`)).rows.map((r) => r.t);
    expect(open).toEqual(['runledger.rollup_refreshes']);
  });
});
