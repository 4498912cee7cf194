/**
 * OTLP logs into the ledger (issue 10): records with trace context are stored once, and GenAI events fill
 * the content of the node of their span whatever arrives first — the records before the span, after it, or
 * mixed, split over requests, re-sent — with the same result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { hex, rng, shuffle } from './helpers/spans.js';
import { chatEvents, logsJson, logsProto, responsesEvents, type Rec } from './helpers/logs.js';

let gw: TestGateway;
let off: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
  off = await startTestGateway({ captureContent: false }, gw.db);
});
afterAll(async () => { await off?.stop(); await gw?.close(); });

const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;

/** One chat span (no content attributes of its own unless `content`) under a root span. */
function spansJson(traceId: string, root: string, chat: string, content: boolean | 'instructions' = false) {
  const attrs = [
    { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } }, { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
    { key: 'gen_ai.usage.input_tokens', value: { intValue: '20' } }, { key: 'gen_ai.usage.output_tokens', value: { intValue: '5' } },
    ...(content === true ? [{ key: 'gen_ai.input.messages', value: { stringValue: '[{"role":"user","content":"from the span"}]' } }] : []),
    ...(content === 'instructions' ? [{ key: 'gen_ai.system_instructions', value: { stringValue: 'Be brief.' } }] : []),
  ];
  return (which: 'root' | 'chat' | 'both') => JSON.stringify({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans: [
      ...(which !== 'chat' ? [{ traceId, spanId: root, name: 'agent', kind: 1, startTimeUnixNano: String(T0 - 10_000_000n), endTimeUnixNano: String(T0 + 10_000_000n) }] : []),
      ...(which !== 'root' ? [{ traceId, spanId: chat, parentSpanId: root, name: 'chat gpt-4o-mini', kind: 3, startTimeUnixNano: String(T0 - 1_000_000n),
        endTimeUnixNano: String(T0 + 2_000_000n), attributes: attrs }] : []),
    ] }] }],
  });
}

type Step = { kind: 'spans'; body: string } | { kind: 'logs'; records: Rec[] };

async function run(g: TestGateway, steps: Step[], tenant = 'default') {
  for (const s of steps) {
    const out = s.kind === 'spans'
      ? await g.pipeline.exportBody(Buffer.from(s.body), 'json', tenant)
      : await g.pipeline.exportLogsBody(logsProto(s.records), 'proto', tenant);
    expect(out).toEqual({ rejected: 0, message: '' });
  }
}

async function ledger(traceId: string) {
  const nodes = await gw.db.pool.query(`SELECT name, input, output, prompt_hash, content_source FROM runledger.nodes_full WHERE run_id = $1 ORDER BY name`, [traceId]);
  const logs = await gw.db.pool.query(`SELECT count(*)::int AS n, count(DISTINCT record_hash)::int AS d FROM runledger.logs WHERE run_id = $1`, [traceId]);
  const pending = await gw.db.pool.query(`SELECT count(*)::int AS n FROM runledger.pending_content WHERE run_id = $1`, [traceId]);
  const runs = await gw.db.pool.query(`SELECT span_count::int, llm_calls::int FROM runledger.runs WHERE run_id = $1`, [traceId]);
  return { nodes: nodes.rows, logs: logs.rows[0], pending: pending.rows[0].n, runs: runs.rows };
}

describe('GenAI log records fill the content of their span\'s node', () => {
  it('whether they arrive before the span, after it, or mixed, split and re-sent: the same ledger', async () => {
    const results: unknown[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const rand = rng(seed);
      const [traceId, root, chat] = [hex(16), hex(8), hex(8)];
      const spans = spansJson(traceId, root, chat);
      const records = shuffle(chatEvents(traceId, chat, T0), rand);
      const steps: Step[] = shuffle([
        { kind: 'spans', body: spans('chat') }, { kind: 'spans', body: spans('root') },
        { kind: 'logs', records: records.slice(0, 1) }, { kind: 'logs', records: records.slice(1) },
      ], rand);
      if (rand() < 0.5) steps.push(steps[Math.floor(rand() * steps.length)]!); // a retry
      await run(gw, steps);
      const l = await ledger(traceId);
      expect(l.logs, `seed ${seed}`).toEqual({ n: 3, d: 3 });
      expect(l.pending).toBe(0);
      results.push({ ...l, logs: undefined });
    }
    for (const r of results) expect(r).toEqual(results[0]);
    const chatNode = (results[0] as { nodes: { name: string; input: unknown; output: unknown; content_source: string }[] }).nodes
      .find((n) => n.name === 'chat gpt-4o-mini')!;
    expect(chatNode).toMatchObject({
      content_source: 'logs',
      input: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Weather in Paris?' }],
      output: [{ index: 0, finish_reason: 'stop', message: { content: 'Sunny, 21°C.' } }],
    });
    expect((results[0] as { runs: unknown }).runs).toEqual([{ span_count: 2, llm_calls: 1 }]);
  });

  it('keep a history logged at one instant in the order it was logged (observed times), in any order and split', async () => {
    // instrumentation-openai 0.21 stamps every input message of a call with one time; the SDK gives each record
    // its own observed time as it is emitted. By role alone the history would read system, Q1, Q2, A1.
    const history = (traceId: string, chat: string): Rec[] => [
      ['gen_ai.system.message', 'You are terse.'], ['gen_ai.user.message', 'Q1'], ['gen_ai.assistant.message', 'A1'],
      ['gen_ai.user.message', 'Q2'], ['gen_ai.assistant.message', 'A1'], ['gen_ai.user.message', 'Q1'],
    ].map(([event, text], i) => ({ traceId, spanId: chat, timeNs: T0, observedNs: T0 + BigInt(i + 1) * 7_000n, eventAttr: event!,
      attributes: { 'gen_ai.system': 'openai' }, body: { content: text } }));
    const inputs: unknown[] = [];
    for (let seed = 1; seed <= 4; seed++) {
      const rand = rng(seed);
      const [traceId, root, chat] = [hex(16), hex(8), hex(8)];
      const records = shuffle(history(traceId, chat), rand);
      const cut = 1 + Math.floor(rand() * (records.length - 1));
      await run(gw, shuffle<Step>([{ kind: 'spans', body: spansJson(traceId, root, chat)('both') },
        { kind: 'logs', records: records.slice(0, cut) }, { kind: 'logs', records: records.slice(cut) }], rand));
      inputs.push((await ledger(traceId)).nodes.find((x) => x.name === 'chat gpt-4o-mini')!.input);
    }
    expect(inputs[0]).toEqual([
      { role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' },
      { role: 'user', content: 'Q2' }, { role: 'assistant', content: 'A1' }, { role: 'user', content: 'Q1' },
    ]);
    for (const x of inputs) expect(x).toEqual(inputs[0]);
  });

  it('take the whole content of operation.details records (the Responses path)', async () => {
    const [traceId, root, chat] = [hex(16), hex(8), hex(8)];
    await run(gw, [{ kind: 'logs', records: responsesEvents(traceId, chat, T0) }, { kind: 'spans', body: spansJson(traceId, root, chat)('both') }]);
    const n = (await ledger(traceId)).nodes.find((x) => x.name === 'chat gpt-4o-mini');
    expect(n).toMatchObject({
      content_source: 'logs',
      input: [{ role: 'system', parts: 'Be brief.' }, { role: 'user', parts: [{ type: 'text', content: 'Say hi' }] }],
      output: [{ role: 'assistant', parts: [{ type: 'text', content: 'hi' }], finish_reason: 'stop' }],
    });
    expect(n!.prompt_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leave the content a span carries itself, in either order', async () => {
    for (const logsFirst of [true, false]) {
      const [traceId, root, chat] = [hex(16), hex(8), hex(8)];
      const spans: Step = { kind: 'spans', body: spansJson(traceId, root, chat, true)('both') };
      const logs: Step = { kind: 'logs', records: chatEvents(traceId, chat, T0) };
      await run(gw, logsFirst ? [logs, spans] : [spans, logs]);
      const l = await ledger(traceId);
      expect(l.nodes.find((x) => x.name === 'chat gpt-4o-mini')).toMatchObject({ content_source: 'span', input: [{ role: 'user', content: 'from the span' }] });
      expect(l.logs).toEqual({ n: 3, d: 3 });
      expect(l.pending).toBe(0);
    }
  });

  it('fill a span whose only content is its system instructions (the Responses path), in any order', async () => {
    const finals: unknown[] = [];
    for (const order of ['logs first', 'span first', 'output, span, input'] as const) {
      const [traceId, root, chat] = [hex(16), hex(8), hex(8)];
      const spans: Step = { kind: 'spans', body: spansJson(traceId, root, chat, 'instructions')('both') };
      const [input, output] = responsesEvents(traceId, chat, T0);
      const steps: Step[] = order === 'logs first' ? [{ kind: 'logs', records: [input!, output!] }, spans]
        : order === 'span first' ? [spans, { kind: 'logs', records: [input!, output!] }]
        : [{ kind: 'logs', records: [output!] }, spans, { kind: 'logs', records: [input!] }];
      await run(gw, steps);
      const l = await ledger(traceId);
      expect(l.pending, order).toBe(0);
      finals.push(l.nodes.find((x) => x.name === 'chat gpt-4o-mini'));
    }
    expect(finals[0]).toMatchObject({
      content_source: 'logs',
      input: [{ role: 'system', parts: 'Be brief.' }, { role: 'user', parts: [{ type: 'text', content: 'Say hi' }] }],
      output: [{ role: 'assistant', parts: [{ type: 'text', content: 'hi' }], finish_reason: 'stop' }],
    });
    expect(finals[1]).toEqual(finals[0]);
    expect(finals[2]).toEqual(finals[0]);
    // only the output record: the span's instructions stay the node's input
    const [traceId, root, chat] = [hex(16), hex(8), hex(8)];
    await run(gw, [{ kind: 'logs', records: [responsesEvents(traceId, chat, T0)[1]!] }, { kind: 'spans', body: spansJson(traceId, root, chat, 'instructions')('both') }]);
    expect((await ledger(traceId)).nodes.find((x) => x.name === 'chat gpt-4o-mini')).toMatchObject({
      content_source: 'logs', input: [{ role: 'system', parts: 'Be brief.' }], output: [{ role: 'assistant', parts: [{ type: 'text', content: 'hi' }], finish_reason: 'stop' }],
    });
  });

  it('store the records but no node content with content capture off', async () => {
    const [traceId, root, chat] = [hex(16), hex(8), hex(8)];
    await run(off, [{ kind: 'logs', records: chatEvents(traceId, chat, T0) }, { kind: 'spans', body: spansJson(traceId, root, chat)('both') }]);
    const l = await ledger(traceId);
    expect(l.nodes.find((x) => x.name === 'chat gpt-4o-mini')).toMatchObject({ input: null, output: null, content_source: null });
    expect(l.logs).toEqual({ n: 3, d: 3 });
  });

  it('acknowledge records without trace context and count them; keep each tenant\'s records apart', async () => {
    const [traceId, chat] = [hex(16), hex(8)];
    const out = await gw.pipeline.exportLogsBody(Buffer.from(JSON.stringify(logsJson([
      { timeNs: T0, body: { message: 'started' } }, ...chatEvents(traceId, chat, T0),
    ]))), 'json', 'acme', 'http');
    expect(out).toEqual({ rejected: 0, message: '' });
    await gw.pipeline.exportLogsBody(logsProto(chatEvents(traceId, chat, T0)), 'proto', 'globex', 'grpc');
    const m = (await gw.metrics.expose()).body;
    expect(m).toMatch(/runledger_log_records_untraced_total \d+/);
    expect(Number(/runledger_log_records_untraced_total (\d+)/.exec(m)![1])).toBeGreaterThanOrEqual(1);
    const per = await gw.db.pool.query(`SELECT tenant_id, count(*)::int AS n FROM runledger.logs WHERE run_id = $1 GROUP BY 1 ORDER BY 1`, [traceId]);
    expect(per.rows).toEqual([{ tenant_id: 'acme', n: 3 }, { tenant_id: 'globex', n: 3 }]);
    // no span arrived: no run is visible for them (the writer's lock row is gone), their content waits
    expect((await gw.db.pool.query(`SELECT count(*)::int AS n FROM runledger.runs WHERE run_id = $1`, [traceId])).rows[0].n).toBe(0);
    expect((await gw.db.pool.query(`SELECT count(*)::int AS n FROM runledger.pending_content WHERE run_id = $1`, [traceId])).rows[0].n).toBe(2);
  });
});

describe('a span\'s content records', () => {
  it('are found through the span\'s index (sql/021), not by reading every record of the run', async () => {
    // log_content()'s own query (sql/011), planned with the run's and span's values as the function's call plans it
    const c = await gw.db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL enable_seqscan = off'); // the test ledger is tiny: compare index paths only
      await c.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await c.query(`PREPARE content_records(text, uuid, text) AS SELECT l.content_input, l.content_output FROM runledger.logs l
        WHERE l.tenant_id = $1 AND l.run_id = $2 AND l.span_id = $3 AND (l.content_input IS NOT NULL OR l.content_output IS NOT NULL)`);
      const plan = (await c.query(`EXPLAIN (COSTS OFF) EXECUTE content_records('default', '${'1'.repeat(32)}', 'abc')`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/logs_span_content|_tenant_id_run_id_span_id_idx/);
      expect(plan).not.toMatch(/pkey/);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });
});
