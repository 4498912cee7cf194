/**
 * GET /metrics answers on the OTLP port without a key, so with API keys on it names no tenant's value: the
 * unpriced calls are counted without their model names (tenant A's private fine-tune must not be read by
 * tenant B, or anyone, there); the names are in runledger.unpriced_models, per tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';

const SECRET_MODEL = 'ft:gpt-4o-mini:acme:project-nightingale:x1';
let gw: TestGateway;

beforeAll(async () => { gw = await startTestGateway({ apiKeys: { rl_metrics_acme_4c1f: 'acme' } }); });
afterAll(async () => { await gw?.close(); });

/** One LLM span of a model no price table knows, with token usage: an unpriced call. */
function unpricedCall(model: string): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  const attr = (key: string, value: Record<string, unknown>) => ({ key, value });
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'metrics' }, spans: [{
    traceId: hex(16), spanId: hex(8), name: 'chat', kind: 3, startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1_000_000n),
    attributes: [attr('gen_ai.operation.name', { stringValue: 'chat' }), attr('gen_ai.request.model', { stringValue: model }),
      attr('gen_ai.usage.input_tokens', { intValue: '10' }), attr('gen_ai.usage.output_tokens', { intValue: '10' })],
  }] }] }] });
}

describe('runledger_unpriced_calls_total with API keys on', () => {
  it('counts a tenant\'s unpriced calls without naming its model', async () => {
    const res = await fetch(gw.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'rl_metrics_acme_4c1f' },
      body: unpricedCall(SECRET_MODEL) });
    expect(res.status).toBe(200);
    const metrics = await (await fetch(gw.httpUrl + '/metrics')).text(); // no key: the scraper's request
    expect(metrics).not.toContain('nightingale');
    expect(metrics).toContain('runledger_unpriced_calls_total{model="hidden"} 1');
    // the owner (and acme's analysts) read the name from the ledger
    const named = await gw.db.pool.query(`SELECT tenant_id, model_name, calls::int FROM runledger.unpriced_models`);
    expect(named.rows).toEqual([{ tenant_id: 'acme', model_name: SECRET_MODEL, calls: 1 }]);
  });
});
