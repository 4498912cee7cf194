/**
 * Acceptance: re-sending every request twice and shuffling batch order leaves runs/nodes identical.
 *
 * A realistic workload (OTel GenAI agent runs, Vercel AI SDK telemetry with its generateText aggregates,
 * OpenAI client spans from two instrumentations) is split into many small OTLP/HTTP requests, protobuf
 * and JSON mixed, so the spans of one trace — children and parents — land in different requests.
 * Gateway A gets every request once, in export order. Gateway B (its own database) gets every request
 * twice, in a seeded shuffled order, four in flight at once. Both ledgers must be identical, and right.
 * GenAI events of the OpenAI calls' spans come as OTLP log records (as instrumentation-openai sends content)
 * in requests of their own, mixed in: the content they give the nodes is the same whichever came first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { encodeTraceRequestProto, otlpJsonToProtoRequest } from '../src/otlp/request.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { emitAgentRun } from './helpers/otel.js';
import { chunks, rng, shuffle } from './helpers/spans.js';
import { decodeExportResponse } from './helpers/otlp.js';
import { chatEvents, logsJson, logsProto, type Rec } from './helpers/logs.js';
import {
  createSpanCapture, runOpenInferenceOpenAIScenarios, runOtelOpenAIScenarios, runVercelAiScenarios, startMockOpenAI,
  type SpanCapture,
} from './helpers/genai-fixtures.js';
import { ledgerSnapshot, miniCost, OPENAI_CHAT, OTEL_OPENAI, VERCEL } from './helpers/genai-ledger.js';

const SEED = 20_260_417;
const AGENT_RUNS = 6;

interface OtlpRequest { path: '/v1/traces' | '/v1/logs'; contentType: string; body: Uint8Array }

/** Every span of the workload, in the order the SDK finished (and would export) them. */
async function workload(): Promise<ReadableSpan[]> {
  const server = await startMockOpenAI();
  const out: ReadableSpan[] = [];
  const capture = async (service: string, run: (c: SpanCapture) => Promise<void> | void) => {
    const c = createSpanCapture({ 'service.name': service, 'deployment.environment.name': 'idem' });
    await run(c);
    out.push(...c.exporter.getFinishedSpans());
    await c.shutdown();
  };
  try {
    await capture('agents', (c) => { for (let i = 0; i < AGENT_RUNS; i++) emitAgentRun(c.tracer(), { failTool: i === 3 }); });
    await capture('vercel', runVercelAiScenarios);
    await capture('otel-openai', (c) => runOtelOpenAIScenarios(c, server.baseURL));
    await capture('openinference', (c) => runOpenInferenceOpenAIScenarios(c, server.baseURL));
  } finally {
    await server.close();
  }
  return out;
}

/** 1–2 spans per request; each request JSON (the OTel serializer's bytes) or protobuf (generated code). */
function toRequests(parts: ReadableSpan[][], rand: () => number): OtlpRequest[] {
  return parts.map((part) => {
    const json = JsonTraceSerializer.serializeRequest(part)!;
    return rand() < 0.5
      ? { path: '/v1/traces', contentType: 'application/json', body: json }
      : {
        path: '/v1/traces', contentType: 'application/x-protobuf',
        body: encodeTraceRequestProto(otlpJsonToProtoRequest(JSON.parse(new TextDecoder().decode(json)))),
      };
  });
}

/** The chat events of every chat span of `service` as log records, 1–3 per request, JSON or protobuf. */
function logRequests(spans: ReadableSpan[], service: string, rand: () => number): OtlpRequest[] {
  const records: Rec[] = spans
    .filter((s) => s.resource.attributes['service.name'] === service && s.name.startsWith('chat'))
    .flatMap((s) => chatEvents(s.spanContext().traceId, s.spanContext().spanId, BigInt(s.startTime[0]) * 1_000_000_000n + BigInt(s.startTime[1])));
  return chunks(records, 3, rand).map((part) => (rand() < 0.5
    ? { path: '/v1/logs', contentType: 'application/json', body: new TextEncoder().encode(JSON.stringify(logsJson(part, service))) }
    : { path: '/v1/logs', contentType: 'application/x-protobuf', body: logsProto(part, service) }));
}

async function send(gw: TestGateway, r: OtlpRequest): Promise<void> {
  const res = await fetch(`${gw.httpUrl}${r.path}`, { method: 'POST', headers: { 'content-type': r.contentType }, body: r.body as BodyInit });
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(res.status, new TextDecoder().decode(bytes)).toBe(200);
  // full success: no partial_success (nothing rejected), in either encoding
  if (r.contentType === 'application/json') expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual({});
  else expect(decodeExportResponse(bytes).partialSuccess ?? null).toBeNull();
}

/** Sends `requests` in order with `inFlight` requests outstanding at any time. */
async function sendAll(gw: TestGateway, requests: OtlpRequest[], inFlight: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < requests.length) await send(gw, requests[next++]!);
  }));
}

let a: TestGateway;
let b: TestGateway;
let requests: OtlpRequest[];
let spanTotal: number;
let logTotal: number;
let splitFromParent: number;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestGateway(), startTestGateway({ writers: 4 })]);
  const spans = await workload();
  spanTotal = spans.length;
  const rand = rng(SEED);
  const parts = chunks(spans, 2, rand);
  const logs = logRequests(spans, 'otel-openai', rand);
  logTotal = logs.length;
  requests = [...toRequests(parts, rand), ...logs]; // in order: the records after their spans
  const requestOf = new Map(parts.flatMap((p, i) => p.map((s) => [s.spanContext().spanId, i] as const)));
  splitFromParent = spans.filter((s) => {
    const parent = s.parentSpanContext?.spanId;
    return parent !== undefined && requestOf.get(parent) !== requestOf.get(s.spanContext().spanId);
  }).length;
});
afterAll(async () => { await Promise.all([a?.close(), b?.close()]); });

/** Whole-ledger figures, to check the result is right and not just the same twice. */
async function totals(gw: TestGateway) {
  const { rows } = await gw.db.pool.query(`SELECT count(*)::int AS runs, sum(span_count)::int AS spans,
    sum(total_nodes)::int AS nodes, sum(llm_calls)::int AS llm_calls, sum(tool_calls)::int AS tool_calls,
    sum(error_count)::int AS errors, sum(input_tokens)::int AS input, sum(output_tokens)::int AS output,
    sum(cache_read_tokens)::int AS cache_read, sum(total_cost)::float8 AS cost,
    count(*) FILTER (WHERE status = 'RUNNING')::int AS running FROM runledger.runs`);
  return rows[0] as Record<string, number>;
}

/** Runs whose token/cost totals differ from the sum over their usage-counted nodes. */
async function rollupMismatches(gw: TestGateway): Promise<unknown[]> {
  const { rows } = await gw.db.pool.query(`SELECT r.run_id, r.input_tokens, n.input, r.output_tokens, n.output, r.total_cost, n.cost
    FROM runledger.runs r LEFT JOIN (
      SELECT run_id, sum(input_tokens) FILTER (WHERE usage_counted) AS input,
             sum(output_tokens) FILTER (WHERE usage_counted) AS output, sum(total_cost) FILTER (WHERE usage_counted) AS cost
      FROM runledger.nodes GROUP BY run_id) n USING (run_id)
    WHERE r.input_tokens <> coalesce(n.input, 0) OR r.output_tokens <> coalesce(n.output, 0)
       OR r.total_cost <> coalesce(n.cost, 0)`);
  return rows;
}

describe('idempotent, order-independent ingestion', () => {
  it('re-sending every request twice in shuffled order gives the same ledger as sending once in order', async () => {
    expect(requests.length).toBeGreaterThan(25);
    expect(splitFromParent).toBeGreaterThan(15); // children and their parents in different requests
    await sendAll(a, requests, 1);
    const twice = shuffle([...requests, ...requests], rng(SEED + 1));
    await sendAll(b, twice, 4);

    const [snapA, snapB] = await Promise.all([ledgerSnapshot(a.db.pool), ledgerSnapshot(b.db.pool)]);
    expect(snapA.spans).toHaveLength(spanTotal);
    expect(snapB.spans).toHaveLength(spanTotal);
    expect(snapB.runs).toEqual(snapA.runs);
    expect(snapB.nodes).toEqual(snapA.nodes);
    expect(snapB.spans).toEqual(snapA.spans);
    expect(logTotal).toBeGreaterThan(1);
    expect(snapA.logs).toHaveLength(2 * 3); // the two chat calls' system, user and choice events
    expect(snapB.logs).toEqual(snapA.logs);
    // the log records gave the chat nodes their content
    const chats = snapA.nodes.filter((n) => n.content_source === 'logs');
    expect(chats).toHaveLength(2);
    for (const n of chats) expect(n).toMatchObject({ input: [{ role: 'system' }, { role: 'user' }], output: [{ message: { content: 'Sunny, 21°C.' } }] });

    // The expected absolute figures (the same wrong answer twice must still fail):
    //   agents: 6 runs × (150 in, 70 out, 2 LLM + 1 TOOL), one with a failed tool
    //   vercel: my-fn 10/20, stream 12/8, weather-agent 30/10 + 10/20, embed 5 (aggregates not counted),
    //           failing-fn: generateText + doGenerate both ERROR, no usage
    //   otel-openai: 2 chats 120/30 (no cache detail reported), embeddings 8
    //   openinference: chat 120/30 of which 100 cached; the streamed chat and embeddings carry no usage
    const { textStep, toolStep, stream, embedTokens } = VERCEL;
    const chat = OPENAI_CHAT;
    const expected = {
      runs: AGENT_RUNS + 5 + 3 + 3,
      spans: spanTotal,
      nodes: spanTotal, // every span of this workload is a GenAI node
      llm_calls: AGENT_RUNS * 2 + 5 + 2 + 2,
      tool_calls: AGENT_RUNS + 1,
      errors: 1 + 2,
      input: AGENT_RUNS * 150 + (textStep.input * 2 + stream.input + toolStep.input + embedTokens) + (2 * chat.input + OTEL_OPENAI.embedTokens) + chat.input,
      output: AGENT_RUNS * 70 + (textStep.output * 2 + stream.output + toolStep.output) + 2 * chat.output + chat.output,
      cache_read: 2 * textStep.cached + chat.cached,
      running: 0,
    };
    expect(expected).toMatchObject({ input: 1335, output: 568, cache_read: 108 });
    const cost = AGENT_RUNS * miniCost(150, 0, 70)
      + 2 * miniCost(textStep.input, textStep.cached, textStep.output) + miniCost(stream.input, 0, stream.output)
      + miniCost(toolStep.input, 0, toolStep.output) + (embedTokens * 0.02) / 1e6
      + 2 * miniCost(chat.input, 0, chat.output) + (OTEL_OPENAI.embedTokens * 0.02) / 1e6
      + miniCost(chat.input, chat.cached, chat.output);
    expect(cost).toBeCloseTo(531.26e-6, 12);
    for (const gw of [a, b]) {
      const t = await totals(gw);
      expect(t).toMatchObject(expected);
      expect(t.cost).toBeCloseTo(cost, 12);
      expect(await rollupMismatches(gw)).toEqual([]);
    }
  });
});
