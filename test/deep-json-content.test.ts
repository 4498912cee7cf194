/**
 * GenAI event content sent as JSON text nested past any message's depth (100k brackets in 200 KB): the gateway
 * answers 200 and keeps the text, on each path that reads a JSON text as messages (operation.details
 * attributes, Semantic Kernel's gen_ai.event.content and its string log bodies). Before: 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';
import { anyValue } from './helpers/logs.js';

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway({}); });
afterAll(async () => { await gw?.close(); });

const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
const kv = (o: Record<string, unknown>) => Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));
const post = (path: string, body: unknown) => fetch(`${gw.httpUrl}${path}`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const resource = { attributes: kv({ 'service.name': 'svc' }) };
const DEEP = '{"role":"user","content":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';

function chat(traceId: string, spanId: string, events: unknown[] = []) {
  return post('/v1/traces', { resourceSpans: [{ resource, scopeSpans: [{ spans: [{
    traceId, spanId, name: 'chat gpt-4o', kind: 3, startTimeUnixNano: String(T0), endTimeUnixNano: String(T0 + 1_000_000n),
    attributes: kv({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 }),
    events }] }] }] });
}
const input = async (traceId: string) =>
  (await gw.db.pool.query(`SELECT input::text AS input FROM runledger.nodes_full WHERE run_id = $1`, [traceId])).rows.map((r) => r.input as string | null);

describe('deeply nested JSON text as event content', () => {
  it('operation.details gen_ai.input.messages', async () => {
    const [t, s] = [hex(16), hex(8)];
    const res = await chat(t, s, [{ name: 'gen_ai.client.inference.operation.details', timeUnixNano: String(T0 + 10n),
      attributes: kv({ 'gen_ai.input.messages': '[' + DEEP + ']' }) }]);
    expect(res.status).toBe(200);
    expect(await input(t)).toHaveLength(1);
  });

  it('Semantic Kernel span event gen_ai.event.content', async () => {
    const [t, s] = [hex(16), hex(8)];
    const res = await chat(t, s, [{ name: 'gen_ai.user.message', timeUnixNano: String(T0 + 10n), attributes: kv({ 'gen_ai.event.content': DEEP }) }]);
    expect(res.status).toBe(200);
    expect((await input(t))[0]).toContain('[[[[');
  });

  it('Semantic Kernel log record with a string body', async () => {
    const [t, s] = [hex(16), hex(8)];
    expect((await chat(t, s)).status).toBe(200);
    const res = await post('/v1/logs', { resourceLogs: [{ resource, scopeLogs: [{ logRecords: [{ traceId: t, spanId: s,
      timeUnixNano: String(T0 + 10n), eventName: 'gen_ai.user.message', body: { stringValue: DEEP }, attributes: kv({ 'event.name': 'gen_ai.user.message' }) }] }] }] });
    expect(res.status).toBe(200);
    expect((await input(t))[0]).toContain('[[[[');
  });
});
