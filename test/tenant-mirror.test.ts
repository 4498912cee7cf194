/**
 * Idempotency is per tenant: tenant B sends exactly what tenant A sends (a collector exporting the same spans
 * and log records under two keys, or B replaying A's requests): the same trace id, span ids, resource and
 * records, in other splits and orders, A's and B's requests at once. Neither is dropped as a re-send of the
 * other: each tenant's ledger (runs, nodes with content, spans, records, pending content, frontier, daily usage)
 * is what that tenant alone gives on a gateway of its own, and stays so through repair, reprice and remap.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';
import { logsJson, type Rec } from './helpers/logs.js';
import { repair } from '../src/maintenance/repair.js';
import { reprice } from '../src/maintenance/reprice.js';
import { loadPriceTable } from '../src/mapping/prices.js';
import { createMapper } from '../src/mapping/index.js';

const KA = 'key_a_mirror', KB = 'key_b_mirror';
const T0 = BigInt(Math.floor((Date.now() - 3_600_000) / 1000) * 1000) * 1_000_000n;
const ns = (ms: number) => String(T0 + BigInt(ms) * 1_000_000n);
type Attr = { key: string; value: Record<string, unknown> };
const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): Attr => ({ key, value: { intValue: String(v) } });
const traceId = hex(16);
const ids = { root: hex(8), byRef: hex(8), byLogs: hex(8), tool: hex(8), inner: hex(8) };
/** Some of the run's spans, as one request: an agent, an LLM call with content by reference over its SDK's own span, one whose content comes from log records, a failed tool. */
function spans(which: string[]) {
  const all: Record<string, unknown> = {
    root: { traceId, spanId: ids.root, name: 'invoke_agent x', kind: 1, startTimeUnixNano: ns(0), endTimeUnixNano: ns(3000),
      attributes: [str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'x-agent'), str('gen_ai.workflow.name', 'wf'), str('user.id', 'u1')], status: { code: 1 } },
    byRef: { traceId, spanId: ids.byRef, parentSpanId: ids.root, name: 'chat gpt-4o', kind: 3, startTimeUnixNano: ns(100), endTimeUnixNano: ns(900),
      attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', 'gpt-4o'), str('gen_ai.provider.name', 'openai'), int('gen_ai.usage.input_tokens', 7), int('gen_ai.usage.output_tokens', 3),
        str('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'prompt-by-ref' }] }])),
        str('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'answer-by-ref' }] }]))], status: { code: 1 } },
    inner: { traceId, spanId: ids.inner, parentSpanId: ids.byRef, name: 'openai.chat', kind: 3, startTimeUnixNano: ns(150), endTimeUnixNano: ns(850),
      attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', 'gpt-4o'), str('gen_ai.provider.name', 'openai'), int('gen_ai.usage.input_tokens', 7), int('gen_ai.usage.output_tokens', 3)], status: { code: 1 } },
    byLogs: { traceId, spanId: ids.byLogs, parentSpanId: ids.root, name: 'chat gpt-4o', kind: 3, startTimeUnixNano: ns(1000), endTimeUnixNano: ns(2000),
      attributes: [str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', 'gpt-4o'), str('gen_ai.provider.name', 'openai'), int('gen_ai.usage.input_tokens', 9)], status: { code: 1 } },
    tool: { traceId, spanId: ids.tool, parentSpanId: ids.root, name: 'execute_tool s', kind: 1, startTimeUnixNano: ns(2100), endTimeUnixNano: ns(2500),
      attributes: [str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 's')], status: { code: 2, message: 'boom' } },
  };
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [str('service.name', 'svc'), str('host.name', 'h1')] },
    scopeSpans: [{ scope: { name: 'm' }, spans: which.map((k) => all[k]) }] }] });
}
const ev = (spanId: string, prompt: string, answer: string, atMs: number): Rec[] => [
  { traceId, spanId, timeNs: T0 + BigInt(atMs) * 1_000_000n, eventAttr: 'gen_ai.user.message', attributes: { 'gen_ai.system': 'openai' }, body: { content: prompt } },
  { traceId, spanId, timeNs: T0 + BigInt(atMs + 500) * 1_000_000n, eventAttr: 'gen_ai.choice', attributes: { 'gen_ai.system': 'openai' }, body: { index: 0, finish_reason: 'stop', message: { content: answer } } },
];
const logs = JSON.stringify(logsJson([...ev(ids.byLogs, 'p-logs', 'a-logs', 1100), ...ev(ids.root, 'p-root', 'a-root', 10)], 'svc'));

async function send(g: TestGateway, key: string, path: string, body: string) {
  const res = await fetch(g.httpUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(await res.json()).toEqual({});
}
/** A tenant's stored rows (bookkeeping times left out), after a daily usage refresh. */
async function ledger(g: TestGateway, tenant: string) {
  const q = async (sql: string) => (await g.db.pool.query(sql, [tenant])).rows;
  await g.db.pool.query(`SELECT runledger.refresh_daily_usage('-infinity', 'infinity')`);
  return {
    runs: await q(`SELECT to_jsonb(r) - 'created_at' - 'updated_at' AS r FROM runledger.runs r WHERE tenant_id = $1`),
    nodes: await q(`SELECT to_jsonb(n) AS n FROM runledger.nodes_full n WHERE tenant_id = $1 ORDER BY node_id`),
    spans: await q(`SELECT to_jsonb(s) - 'ingested_at' AS s FROM runledger.spans s WHERE tenant_id = $1 ORDER BY span_id`),
    logs: await q(`SELECT to_jsonb(s) - 'ingested_at' AS s FROM runledger.logs s WHERE tenant_id = $1 ORDER BY time, record_hash`),
    pending: await q(`SELECT to_jsonb(s) AS s FROM runledger.pending_content s WHERE tenant_id = $1 ORDER BY 1`),
    frontier: await q(`SELECT to_jsonb(s) AS s FROM runledger.usage_frontier s WHERE tenant_id = $1 ORDER BY 1`),
    usage: await q(`SELECT to_jsonb(u) - 'refreshed_at' AS u FROM runledger.daily_usage_rollup u WHERE tenant_id = $1 ORDER BY 1`),
  };
}
let gw: TestGateway, refA: TestGateway, refB: TestGateway;
beforeAll(async () => {
  const apiKeys = { [KA]: 'acme', [KB]: 'globex' };
  [gw, refA, refB] = await Promise.all([startTestGateway({ apiKeys }), startTestGateway({ apiKeys }), startTestGateway({ apiKeys })]);
});
afterAll(async () => { await Promise.all([gw?.close(), refA?.close(), refB?.close()]); });

it('stores each tenant\'s copy as that tenant alone would have it, through repair, reprice and remap', async () => {
  // A: its records first, then its spans in three requests; B: its spans in one request, then its records;
  // one request of each at the same time
  await send(gw, KA, '/v1/logs', logs);
  await send(gw, KA, '/v1/traces', spans(['inner', 'tool']));
  await Promise.all([send(gw, KB, '/v1/traces', spans(['root', 'byRef', 'inner', 'byLogs', 'tool'])), send(gw, KA, '/v1/traces', spans(['root', 'byRef', 'byLogs']))]);
  await send(gw, KB, '/v1/logs', logs);
  await send(gw, KA, '/v1/traces', spans(['root']));
  for (const [g, k] of [[refA, KA], [refB, KB]] as const) {
    await send(g, k, '/v1/traces', spans(['root', 'byRef', 'inner', 'byLogs', 'tool']));
    await send(g, k, '/v1/logs', logs);
  }
  const a = await ledger(gw, 'acme'), b = await ledger(gw, 'globex');
  expect(a.spans).toHaveLength(5);
  expect(a.logs).toHaveLength(4);
  expect(a.nodes.map((n) => JSON.stringify(n.n.input))).toEqual(b.nodes.map((n) => JSON.stringify(n.n.input)));
  expect(JSON.stringify(a.nodes)).toContain('p-logs');
  // each resource is stored once per tenant (the references' resource cache is the process's, shared by the
  // gateways of this file: their rows are compared by key, in the spans, not here)
  const resources = (await gw.db.pool.query(`SELECT tenant_id, count(*)::int AS n FROM runledger.resources GROUP BY 1 ORDER BY 1`)).rows;
  expect(resources).toEqual([{ tenant_id: 'acme', n: 2 }, { tenant_id: 'globex', n: 2 }]); // the spans' and the records'
  expect(a).toEqual(await ledger(refA, 'acme'));
  expect(b).toEqual(await ledger(refB, 'globex'));
  const prices = loadPriceTable();
  for (const g of [gw, refA, refB]) { await repair(g.db.pool, { runIds: [traceId] }); await reprice(g.db.pool, { prices, force: true }); }
  expect(await ledger(gw, 'acme')).toEqual(await ledger(refA, 'acme'));
  expect(await ledger(gw, 'globex')).toEqual(await ledger(refB, 'globex'));
  // repair --remap: the run's nodes mapped again from its stored spans, then every run
  const mapper = createMapper({ prices, maxContentChars: 16384, captureContent: true });
  for (const g of [gw, refA, refB]) await repair(g.db.pool, { runIds: [traceId], remap: { mapper, logContentChars: 16384 } });
  expect(await ledger(gw, 'acme')).toEqual(await ledger(refA, 'acme'));
  expect(await ledger(gw, 'globex')).toEqual(await ledger(refB, 'globex'));
  for (const g of [gw, refA, refB]) await repair(g.db.pool, { remap: { mapper, logContentChars: 16384 } });
  expect(await ledger(gw, 'acme')).toEqual(await ledger(refA, 'acme'));
  expect(await ledger(gw, 'globex')).toEqual(await ledger(refB, 'globex'));
});
