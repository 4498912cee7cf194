/**
 * Money and counters cannot poison shared rollups (issue 9): a tenant's absurd but per-call-plausible values
 * ($900,000 and 10^12 tokens per call, thousands of calls in one run) add up exactly, never make PostgreSQL
 * refuse a batch (no bisection that other tenants' requests would wait on), and never stop any tenant's daily
 * usage refresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex } from './helpers/spans.js';

const KEY_BIG = 'rl_bigspender_0f2c';
const KEY_SMALL = 'rl_small_9a41';
const NOW_NS = BigInt(Date.now() - 60_000) * 1_000_000n;
const CALLS = 11_200; // × $900,000 = $10.08e9: past numeric(20,10), where the runs total used to overflow
const PER_REQUEST = 2_800;

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway({ apiKeys: { [KEY_BIG]: 'big', [KEY_SMALL]: 'small' }, rollupRefreshSeconds: 0 }); });
afterAll(async () => { await gw?.close(); });

function request(traceId: string, n: number, cost: number, tokens: number): string {
  const span = () => ({
    traceId, spanId: hex(8), name: 'chat', kind: 3,
    startTimeUnixNano: String(NOW_NS), endTimeUnixNano: String(NOW_NS + 1_000_000n),
    attributes: [
      { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
      { key: 'gen_ai.usage.input_tokens', value: { intValue: String(tokens) } },
      { key: 'gen_ai.usage.output_tokens', value: { intValue: '1' } },
      { key: 'gen_ai.usage.cost', value: { doubleValue: cost } },
    ],
  });
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: n }, span) }] }] });
}

const post = (key: string, body: string) => fetch(gw.httpUrl + '/v1/traces', {
  method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body,
});

describe('a tenant reporting $900,000 and 10^12 tokens per call, thousands of calls in one run', () => {
  const big = hex(16);
  const small: string[] = [];
  const smallAnswers: number[] = [];

  beforeAll(async () => {
    // the other tenant's one-span requests go on meanwhile
    let sending = true;
    const others = (async () => {
      while (sending) {
        const t = hex(16);
        small.push(t);
        smallAnswers.push((await post(KEY_SMALL, request(t, 1, 0.01, 100))).status);
      }
    })();
    const answers: number[] = [];
    for (let i = 0; i < CALLS / PER_REQUEST; i++) answers.push((await post(KEY_BIG, request(big, PER_REQUEST, 900_000, 1e12))).status);
    sending = false;
    await others;
    expect(answers).toEqual(answers.map(() => 200));
  });

  it('adds the run up exactly, past every former limit', async () => {
    const run = (await gw.db.pool.query(`SELECT span_count::int, llm_calls::int, input_tokens::text, total_tokens::text,
      total_cost::text FROM runledger.runs WHERE tenant_id = 'big' AND run_id = $1`, [big])).rows;
    expect(run).toEqual([{
      span_count: CALLS, llm_calls: CALLS, input_tokens: String(BigInt(CALLS) * 10n ** 12n),
      total_tokens: String(BigInt(CALLS) * (10n ** 12n + 1n)), total_cost: `${CALLS * 900_000}.0000000000`,
    }]);
  });

  it('answers the other tenant\'s requests meanwhile, every one stored', async () => {
    expect(smallAnswers.length).toBeGreaterThan(0);
    expect(smallAnswers).toEqual(smallAnswers.map(() => 200));
    const n = (await gw.db.pool.query(`SELECT count(*)::int AS n FROM runledger.runs WHERE tenant_id = 'small'`)).rows[0].n;
    expect(n).toBe(small.length);
    const refused = (await gw.metrics.expose()).body.match(/runledger_spans_rejected_total\{reason="database"\} (\d+)/)?.[1];
    expect(refused).toBe('0'); // nothing PostgreSQL refused, so no batch was bisected
  });

  it('refreshes every tenant\'s daily usage', async () => {
    await gw.db.pool.query(`SELECT runledger.refresh_daily_usage('-infinity', 'infinity')`);
    const usage = (await gw.db.pool.query(`SELECT tenant_id, sum(calls)::int AS calls, sum(total_cost)::text AS cost
      FROM runledger.daily_usage GROUP BY 1 ORDER BY 1`)).rows;
    expect(usage).toEqual([
      { tenant_id: 'big', calls: CALLS, cost: `${CALLS * 900_000}.0000000000` },
      { tenant_id: 'small', calls: small.length, cost: (small.length * 0.01).toFixed(10) },
    ]);
  });
});
