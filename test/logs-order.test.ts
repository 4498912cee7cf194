/**
 * One run's spans and GenAI log records, sent in every order, split over requests differently, re-sent, in
 * OTLP/JSON or protobuf, with their attributes and their resource's listed in another order: the whole ledger (runs, nodes with their
 * content, spans, log records as raw_logs gives them, pending content, resources) comes out identical.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { chunks, rng, shuffle } from './helpers/spans.js';
import { STALE_RUN_INPUTS_SQL } from './helpers/run-input.js';
import { createHash } from 'node:crypto';
import { anyValue, chatEvents, logsJson, logsProto, responsesEvents, type Rec } from './helpers/logs.js';
import { dayOfUs, resourceRef, upsertResources } from '../src/sink/resources.js';
import { opentelemetry } from '../src/otlp/gen/otlp.js';
import { otlpJsonToProtoRequest } from '../src/otlp/request.js';

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway(); });
afterAll(async () => { await gw?.close(); });

const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const [ROOT, CHAT_A, CHAT_B, CHAT_C, GHOST] = ['00f067aa0ba902b7', '1111111111111111', '2222222222222222', '3333333333333333', '4444444444444444'];
const RESOURCE: [string, unknown][] = [['service.name', 'svc'], ['service.version', '1.2.3'], ['host.name', 'h1'], ['process.pid', 42],
  ['telemetry.sdk.language', 'nodejs'], ['deployment', { env: 'prod', region: 'eu' }]];

/** The resource's attributes in an order of `rand` (nested key-value lists too). */
function resourceAttrs(rand: (() => number) | null) {
  const order = (kv: [string, unknown][]) => (rand ? shuffle(kv, rand) : kv);
  const value = (v: unknown): unknown => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? { kvlistValue: { values: order(Object.entries(v)).map(([key, x]) => ({ key, value: value(x) })) } } : anyValue(v));
  return order(RESOURCE).map(([key, v]) => ({ key, value: value(v) }));
}

type SpanName = 'root' | 'a' | 'b' | 'c';
function spanJson(which: SpanName) {
  const chat = (id: string, extra: { key: string; value: unknown }[] = []) => ({
    traceId: TRACE, spanId: id, parentSpanId: ROOT, name: `chat ${id}`, kind: 3,
    startTimeUnixNano: String(T0 - 1_000_000n), endTimeUnixNano: String(T0 + 2_000_000n),
    attributes: [{ key: 'gen_ai.operation.name', value: { stringValue: 'chat' } }, { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
      { key: 'gen_ai.usage.input_tokens', value: { intValue: '20' } }, { key: 'gen_ai.usage.output_tokens', value: { intValue: '5' } }, ...extra],
  });
  switch (which) {
    case 'root': return { traceId: TRACE, spanId: ROOT, name: 'agent', kind: 1, startTimeUnixNano: String(T0 - 10_000_000n), endTimeUnixNano: String(T0 + 10_000_000n) };
    case 'a': return chat(CHAT_A);
    case 'b': return chat(CHAT_B, [{ key: 'gen_ai.system_instructions', value: { stringValue: 'Be brief.' } }]);
    case 'c': return chat(CHAT_C, [{ key: 'gen_ai.input.messages', value: { stringValue: '[{"role":"user","content":"from the span"}]' } }]);
  }
}

const spansBody = (names: SpanName[], rand: (() => number) | null) => Buffer.from(JSON.stringify({
  resourceSpans: [{ resource: { attributes: resourceAttrs(rand) }, scopeSpans: [{ scope: { name: 'test' }, spans: names.map(spanJson) }] }],
}));

/** Key-value lists (attributes, kvlist values) of a record in an order of `rand`, recursively. */
function reorder(v: unknown, rand: () => number): unknown {
  if (Array.isArray(v)) {
    const kv = v.length > 0 && v.every((x) => x !== null && typeof x === 'object' && 'key' in x);
    return (kv ? shuffle(v, rand) : v).map((x) => reorder(x, rand));
  }
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reorder(x, rand)]));
  return v;
}

function logsBody(records: Rec[], rand: (() => number) | null): Buffer {
  const b = logsJson(records) as { resourceLogs: { resource: unknown; scopeLogs: { logRecords: unknown[] }[] }[] };
  b.resourceLogs[0]!.resource = { attributes: resourceAttrs(rand) };
  if (rand) b.resourceLogs[0]!.scopeLogs[0]!.logRecords = b.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((r) => reorder(r, rand));
  return Buffer.from(JSON.stringify(b));
}

/** Every record of the run: GenAI events of three chat spans and of a span that never arrives, and plain records. */
function allRecords(): Rec[] {
  return [
    ...chatEvents(TRACE, CHAT_A, T0), ...responsesEvents(TRACE, CHAT_B, T0), ...chatEvents(TRACE, CHAT_C, T0),
    ...chatEvents(TRACE, GHOST, T0),
    { traceId: TRACE, timeNs: T0 + 5n * 1000n, body: { message: 'no span' }, attributes: { k: 1, 'a.b': [1, 'x'] } },
    { traceId: TRACE, spanId: ROOT, timeNs: T0 + 6n * 1000n, body: { message: 'root', nested: { z: 1, a: 2, m: [{ y: 1, b: 2 }] } },
      attributes: { z: true, a: 'y', '10': 1, '2': 2 } },
    { timeNs: T0, body: { message: 'untraced' } },
  ];
}

type Step = { kind: 'spans'; names: SpanName[] } | { kind: 'logs'; records: Rec[] };

/** OTLP/JSON, or (half the time when `rand`) the same request in protobuf */
function encoded(json: Buffer, kind: Step['kind'], rand: (() => number) | null): [Uint8Array, 'json' | 'proto'] {
  if (!rand || rand() < 0.5) return [json, 'json'];
  const req = otlpJsonToProtoRequest(JSON.parse(json.toString()));
  return kind === 'spans'
    ? [opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.encode(req).finish(), 'proto']
    : [opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest.encode(req as never).finish(), 'proto'];
}

async function send(tenant: string, s: Step, rand: (() => number) | null): Promise<void> {
  const out = s.kind === 'spans'
    ? await gw.pipeline.exportBody(...encoded(spansBody(s.names, rand), s.kind, rand), tenant)
    : await gw.pipeline.exportLogsBody(...encoded(logsBody(s.records, rand), s.kind, rand), tenant);
  expect(out).toEqual({ rejected: 0, message: '' });
}

/** send, again after a 503 / UNAVAILABLE (as an exporter does: the promise is the same ledger, not no 503s) */
async function sendRetrying(tenant: string, s: Step, rand: () => number): Promise<void> {
  for (;;) {
    try {
      return await send(tenant, s, rand);
    } catch (e) {
      if ((e as { kind?: string }).kind !== 'unavailable') throw e;
    }
  }
}

/** The tenant's whole ledger, without the tenant and the times of writing. */
async function ledger(tenant: string) {
  const rows = async (sql: string) => (await gw.db.pool.query(sql, [tenant])).rows.map((r) => r.j);
  const strip = `- 'tenant_id' - 'created_at' - 'updated_at' - 'ingested_at'`;
  return {
    runs: await rows(`SELECT to_jsonb(r) ${strip} AS j FROM runledger.runs r WHERE tenant_id = $1`),
    nodes: await rows(`SELECT to_jsonb(n) ${strip} AS j FROM runledger.nodes_full n WHERE tenant_id = $1 ORDER BY node_id`),
    spans: await rows(`SELECT to_jsonb(s) ${strip} AS j FROM runledger.raw_spans s WHERE tenant_id = $1 ORDER BY span_id`),
    logs: await rows(`SELECT to_jsonb(l) ${strip} AS j FROM runledger.raw_logs l WHERE tenant_id = $1 ORDER BY time, record_hash`),
    logRefs: await rows(`SELECT jsonb_build_object('n', count(*), 'inline', count(resource), 'keys', count(DISTINCT resource_hash)) AS j
      FROM runledger.logs WHERE tenant_id = $1`),
    pending: await rows(`SELECT to_jsonb(p) ${strip} AS j FROM runledger.pending_content p WHERE tenant_id = $1 ORDER BY span_id`),
    resources: await rows(`SELECT to_jsonb(r) ${strip} AS j FROM runledger.resources r WHERE tenant_id = $1 ORDER BY resource_hash`),
    frontier: await rows(`SELECT to_jsonb(f) ${strip} AS j FROM runledger.usage_frontier f WHERE tenant_id = $1 ORDER BY span_id`),
    // the run's stored input (sql/029) is what it resolves to once log records filled its nodes' content
    staleInputs: (await gw.db.pool.query(STALE_RUN_INPUTS_SQL, [tenant])).rows.map((r) => r.n),
  };
}

/** The reference ledger: everything at once, spans first, attributes as listed. */
let reference: Promise<Awaited<ReturnType<typeof ledger>>> | undefined;
function ledgerOnce() {
  return (reference ??= (async () => {
    await send('ref', { kind: 'spans', names: ['root', 'a', 'b', 'c'] }, null);
    await send('ref', { kind: 'logs', records: allRecords() }, null);
    return ledger('ref');
  })());
}

describe('a run\'s spans and log records in any order, split and re-sent', () => {
  it('give the same whole ledger, also when a re-send lists the resource\'s attributes in another order', async () => {
    const want = await ledgerOnce();
    expect(want.logs).toHaveLength(13);
    expect(want.logRefs).toEqual([{ n: 13, inline: 0, keys: 1 }]);
    expect(want.resources).toHaveLength(1);
    expect(want.staleInputs).toEqual([0]);
    expect(want.runs.map((r: { run_input: unknown }) => r.run_input)).not.toContain(null);
    expect(want.pending.map((p: { span_id: string }) => p.span_id)).toEqual([GHOST]);
    expect(want.nodes.find((n: { node_id: string }) => n.node_id === CHAT_A)).toMatchObject({ content_source: 'logs' });
    expect(want.nodes.find((n: { node_id: string }) => n.node_id === CHAT_C)).toMatchObject({ content_source: 'span' });

    for (let seed = 1; seed <= 16; seed++) {
      const rand = rng(seed);
      const tenant = `seed-${seed}`;
      const steps: Step[] = [
        ...chunks(shuffle(['root', 'a', 'b', 'c'] as SpanName[], rand), 3, rand).map((names): Step => ({ kind: 'spans', names })),
        ...chunks(shuffle(allRecords(), rand), 5, rand).map((records): Step => ({ kind: 'logs', records })),
      ];
      const order = shuffle(steps, rand);
      // re-sends of some requests, with the resource's attributes in another order
      for (let i = 0; i < 3; i++) order.splice(Math.floor(rand() * (order.length + 1)), 0, order[Math.floor(rand() * order.length)]!);
      for (const s of order) await send(tenant, s, rand);
      expect(await ledger(tenant), `seed ${seed}`).toEqual(want);
    }
  });
});

describe('a run\'s spans and log records sent concurrently', () => {
  it('give the same whole ledger as sent one after the other', async () => {
    const want = await ledgerOnce();
    for (let seed = 101; seed <= 112; seed++) {
      const rand = rng(seed);
      const tenant = `conc-${seed}`;
      const steps: Step[] = [
        ...chunks(shuffle(['root', 'a', 'b', 'c'] as SpanName[], rand), 2, rand).map((names): Step => ({ kind: 'spans', names })),
        ...chunks(shuffle(allRecords(), rand), 4, rand).map((records): Step => ({ kind: 'logs', records })),
      ];
      const all = [...steps, ...steps.filter(() => rand() < 0.4)]; // some sent twice at once
      await Promise.all(shuffle(all, rand).map(async (s, i) => {
        await new Promise((r) => setTimeout(r, i % 3));
        await sendRetrying(tenant, s, rand);
      }));
      expect(await ledger(tenant), `seed ${seed}`).toEqual(want);
    }
  });
});

describe('a logs write and a span write that both store a new resource', () => {
  it('do not deadlock: the logs writer holds no run while it waits for the resource', async () => {
    // a span writer's transaction (writer.ts): the batch's resources first, then the rows of its new runs
    const tenant = 'lockorder';
    const trace = '5bf92f3577b34da6a3ce929d0e0e4736';
    const records = chatEvents(trace, CHAT_A, T0);
    const ref = resourceRef({ 'service.name': 'svc' });
    const spans = await gw.db.pool.connect();
    let logs: Promise<unknown> | undefined;
    try {
      await spans.query('BEGIN');
      await spans.query(`SET LOCAL deadlock_timeout = '20ms'`); // the span writer is the victim of a deadlock, if any
      await upsertResources(spans, [{ tenantId: tenant, hash: ref.hash, json: ref.json, day: dayOfUs(Number(T0 / 1000n)) }]);
      logs = gw.pipeline.exportLogsBody(logsProto(records), 'proto', tenant);
      // the logs write waits for the resource row
      for (let i = 0; ; i++) {
        const w = await gw.db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`);
        if (w.rows[0].n > 0) break;
        if (i > 200) throw new Error('the logs write never waited');
        await new Promise((r) => setTimeout(r, 10));
      }
      await spans.query(`SELECT * FROM runledger.create_runs($1::text[], $2::uuid[])`, [[tenant], [trace]]);
      await spans.query('ROLLBACK');
    } finally {
      await spans.query('ROLLBACK').catch(() => {});
      spans.release();
    }
    expect(await logs).toEqual({ rejected: 0, message: '' });
    expect((await gw.db.pool.query(`SELECT count(*)::int AS n FROM runledger.logs WHERE tenant_id = $1`, [tenant])).rows[0].n).toBe(3);
  });
});

describe('a log record stored by a gateway that hashed its attributes as listed', () => {
  it('meets its re-send: one row, and its node\'s content is unchanged', async () => {
    const tenant = 'legacy';
    const records = chatEvents(TRACE, CHAT_A, T0);
    await send(tenant, { kind: 'spans', names: ['root', 'a'] }, null);
    await send(tenant, { kind: 'logs', records }, null);
    const before = await ledger(tenant);
    // the identity an earlier gateway gave them: sha256 of the fields, then body, attributes and resource as listed
    const resource = Object.fromEntries(RESOURCE);
    for (const rec of records) {
      const listed = { ...(rec.eventAttr ? { 'event.name': rec.eventAttr } : {}), ...rec.attributes };
      const head = JSON.stringify([TRACE, CHAT_A, Number(rec.timeNs / 1000n), Number(rec.timeNs / 1000n), 9, '', rec.eventAttr,
        '@opentelemetry/instrumentation-openai', '0.21.0']);
      const legacy = createHash('sha256').update(head + JSON.stringify(rec.body) + JSON.stringify(listed) + JSON.stringify(resource))
        .digest('hex').slice(0, 32);
      const r = await gw.db.pool.query(`UPDATE runledger.logs SET record_hash = $2 WHERE tenant_id = $1 AND event_name = $3 AND record_hash <> $2`,
        [tenant, legacy, rec.eventAttr]);
      expect(r.rowCount).toBe(1); // the canonical hash differs: the resource is not listed in key order
    }
    await send(tenant, { kind: 'logs', records }, null);
    await send(tenant, { kind: 'spans', names: ['a'] }, null);
    const after = await ledger(tenant);
    expect(after.logs).toHaveLength(3);
    expect({ ...after, logs: undefined }).toEqual({ ...before, logs: undefined });
  });
});
