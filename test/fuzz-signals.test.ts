/**
 * Bad input on the logs and metrics signals (issue 10 added POST /v1/logs, /v1/metrics and the gRPC
 * LogsService / MetricsService Export methods, with decoders of their own): random bytes, truncated and
 * bit-flipped valid requests, and OTLP/JSON with values of the wrong type. As README "Bad input" promises
 * for every request: a 4xx (400/413/415; gRPC INVALID_ARGUMENT / RESOURCE_EXHAUSTED) or 200 / OK, never a
 * 5xx, a hang or a crash; afterwards every valid request interleaved with the garbage is stored and the
 * gateway still serves. test/fuzz.test.ts does the same for traces. Seeded: FUZZ_SEED=<seed> replays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { Rng, flipBits, fuzzSeed, randomJson, runPool, wrongTypes, type Json } from './helpers/fuzz.js';
import { chatEvents, logsJson, logsProto, responsesEvents } from './helpers/logs.js';
import { LOGS_EXPORT_PATH, METRICS_EXPORT_PATH } from '../src/receiver/grpc.js';

const SEED = fuzzSeed();
const HTTP_OK = new Set([200, 400, 413, 415]);
const GRPC_OK = new Set([grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED]);
const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;

let gw: TestGateway;
let client: grpc.Client;
const answers: Record<string, number> = {};
const bad: string[] = [];
const validTraces: string[] = [];

beforeAll(async () => {
  console.log(`fuzz-signals seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  gw = await startTestGateway({ maxBodyBytes: 4 * 1024 * 1024 });
  client = new grpc.Client(gw.grpcAddress, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await gw?.close();
});

type Signal = 'logs' | 'metrics';

async function http(label: string, signal: Signal, body: Uint8Array | string, json: boolean, headers: Record<string, string> = {}): Promise<number> {
  let status: number;
  try {
    const res = await fetch(`${gw.httpUrl}/v1/${signal}`, {
      method: 'POST', headers: { 'content-type': json ? 'application/json' : 'application/x-protobuf', ...headers },
      body: body as BodyInit, signal: AbortSignal.timeout(20_000),
    });
    await res.arrayBuffer();
    status = res.status;
  } catch (e) {
    bad.push(`[seed ${SEED}] ${label}: HTTP request failed (${(e as Error).message})`);
    return -1;
  }
  answers[`http ${status}`] = (answers[`http ${status}`] ?? 0) + 1;
  if (!HTTP_OK.has(status)) bad.push(`[seed ${SEED}] ${label}: HTTP ${status}`);
  return status;
}

function rpc(label: string, signal: Signal, body: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(signal === 'logs' ? LOGS_EXPORT_PATH : METRICS_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b,
      Buffer.from(body), { deadline: Date.now() + 20_000 }, (err) => {
        const code = err?.code ?? grpc.status.OK;
        answers[`grpc ${grpc.status[code]}`] = (answers[`grpc ${grpc.status[code]}`] ?? 0) + 1;
        if (!GRPC_OK.has(code)) bad.push(`[seed ${SEED}] ${label}: gRPC ${grpc.status[code]} ${err?.details ?? ''}`);
        resolve(code);
      });
  });
}

const rngFor = (name: string) => {
  let h = SEED;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x9e3779b1) >>> 0;
  return new Rng(h);
};

/** A valid logs request of random GenAI events (its trace id remembered: it must be stored). */
function validLogs(r: Rng): { json: Json; proto: Uint8Array; traceId: string } {
  const traceId = r.id(16);
  const records = r.bool() ? chatEvents(traceId, r.id(8), T0) : responsesEvents(traceId, r.id(8), T0);
  return { json: logsJson(records) as Json, proto: logsProto(records), traceId };
}

/** A metrics request in OTLP/JSON (the gateway decodes only to count its data points). */
function metricsJson(r: Rng): Json {
  const points = Array.from({ length: r.range(1, 4) }, (_, i) => ({ timeUnixNano: String(T0 + BigInt(i)), asInt: String(r.int(1000)) }));
  return { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', sum: { dataPoints: points, aggregationTemporality: 2 } }] }] }] };
}

async function sendValid(r: Rng, label: string): Promise<void> {
  const v = validLogs(r);
  const how = r.int(3);
  const ok = how === 2 ? (await rpc(`${label} (valid)`, 'logs', v.proto)) === grpc.status.OK
    : (await http(`${label} (valid)`, 'logs', how === 0 ? v.proto : JSON.stringify(v.json), how === 1)) === 200;
  if (!ok) bad.push(`[seed ${SEED}] ${label}: a valid logs request was not acknowledged`);
  else validTraces.push(v.traceId);
}

function interleave(r: Rng, label: string, garbage: (() => Promise<unknown>)[]): (() => Promise<void>)[] {
  const tasks: (() => Promise<void>)[] = [];
  garbage.forEach((g, i) => {
    tasks.push(async () => { await g(); });
    if (i % 8 === 7) { const vr = new Rng(r.int(0x100000000)); tasks.push(() => sendValid(vr, `${label} #${i}`)); }
  });
  return tasks;
}

describe(`fuzz of the logs and metrics signals (seed ${SEED})`, () => {
  it('random bytes: 4xx or acknowledged, over HTTP (protobuf, JSON, gzip) and gRPC', async () => {
    const r = rngFor('signals-random');
    const garbage = Array.from({ length: 240 }, (_, i) => {
      const signal: Signal = r.pick(['logs', 'logs', 'metrics'] as const);
      let plain: Uint8Array = r.bytes(r.logSize(32 * 1024));
      if (r.bool(0.3) && plain.length > 2) plain[0] = 0x0a; // looks like resource_logs / resource_metrics
      if (r.bool(0.1)) plain = Buffer.concat([Buffer.from(signal === 'logs' ? '{"resourceLogs":[' : '{"resourceMetrics":['), plain]);
      const transport = r.pick(['http', 'http', 'grpc'] as const);
      const label = `random bytes #${i} (${signal}, ${transport}, ${plain.length} B)`;
      if (transport === 'grpc') return () => rpc(label, signal, plain);
      const gzip = r.bool(0.2);
      return () => http(label, signal, gzip ? zlib.gzipSync(plain) : plain, r.bool(), gzip ? { 'content-encoding': 'gzip' } : {});
    });
    await runPool(interleave(r, 'random bytes', garbage), 8);
    expect(bad).toEqual([]);
  });

  it('truncated and bit-flipped valid requests (protobuf and JSON)', async () => {
    const r = rngFor('signals-flips');
    const garbage: (() => Promise<unknown>)[] = [];
    const v = validLogs(r);
    const step = Math.max(1, Math.floor(v.proto.length / 60));
    for (let cut = 0; cut < v.proto.length; cut += step) {
      const body = v.proto.subarray(0, cut);
      garbage.push(() => (cut % 3 === 0 ? rpc(`logs proto cut at ${cut}`, 'logs', body) : http(`logs proto cut at ${cut}`, 'logs', body, false)));
    }
    const json = JSON.stringify(v.json);
    for (let cut = 0; cut < json.length; cut += Math.max(1, Math.floor(json.length / 40))) {
      garbage.push(() => http(`logs JSON cut at ${cut}`, 'logs', json.slice(0, cut), true));
    }
    for (let i = 0; i < 200; i++) {
      const base = validLogs(r);
      const flipped = flipBits(r, base.proto, r.range(1, 8));
      garbage.push(() => (i % 3 === 2 ? rpc(`logs proto flips #${i}`, 'logs', flipped) : http(`logs proto flips #${i}`, 'logs', flipped, false)));
      const jflipped = flipBits(r, Buffer.from(JSON.stringify(base.json)), r.range(1, 6));
      garbage.push(() => http(`logs JSON flips #${i}`, 'logs', jflipped, true));
      const mflipped = flipBits(r, Buffer.from(JSON.stringify(metricsJson(r))), r.range(1, 4));
      garbage.push(() => http(`metrics JSON flips #${i}`, 'metrics', mflipped, true));
    }
    await runPool(interleave(r, 'flips', garbage), 8);
    expect(bad).toEqual([]);
  });

  it('OTLP/JSON with values of the wrong type, and random JSON documents', async () => {
    const r = rngFor('signals-types');
    const garbage: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 200; i++) {
      const doc = i % 4 === 3 ? metricsJson(r) : validLogs(r).json;
      const signal: Signal = i % 4 === 3 ? 'metrics' : 'logs';
      garbage.push(() => http(`wrong types #${i} (${signal})`, signal, JSON.stringify(wrongTypes(r, doc)), true));
    }
    for (let i = 0; i < 60; i++) {
      const signal: Signal = r.pick(['logs', 'metrics'] as const);
      garbage.push(() => http(`random JSON #${i} (${signal})`, signal, JSON.stringify(randomJson(r)), true));
    }
    await runPool(interleave(r, 'types', garbage), 8);
    expect(bad).toEqual([]);
  });

  it('afterwards: every valid request interleaved is stored, and the gateway still serves', async () => {
    console.log(`fuzz-signals seed ${SEED}: answers ${JSON.stringify(answers)}; ${validTraces.length} valid logs requests`);
    expect(validTraces.length).toBeGreaterThan(50);
    const stored = await gw.db.pool.query(`SELECT count(DISTINCT replace(run_id::text, '-', ''))::int AS n FROM runledger.logs
      WHERE replace(run_id::text, '-', '') = ANY($1)`, [validTraces]);
    expect(stored.rows[0].n).toBe(new Set(validTraces).size);
    const t = new Rng(SEED).id(16);
    expect(await http('final', 'logs', logsProto(chatEvents(t, 'ab'.repeat(8), T0)), false)).toBe(200);
    expect((await fetch(`${gw.httpUrl}/readyz`)).status).toBe(200);
  });
});
