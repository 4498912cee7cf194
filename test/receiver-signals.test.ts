/**
 * The logs and metrics signals at the receivers: POST /v1/logs and /v1/metrics (protobuf and JSON) and the
 * gRPC LogsService / MetricsService Export methods. Log records with trace context are stored once, however
 * often they are sent; metrics are answered 200 / OK as a partial success rejecting every data point, with a
 * message saying why (runledger keeps no metrics), so exporters drop them instead of retrying.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { gzipSync } from 'node:zlib';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { decodeExportResponse, decodeStatus } from './helpers/otlp.js';
import { chatEvents, logsJson, logsProto } from './helpers/logs.js';
import { hex } from './helpers/spans.js';
import { LOGS_EXPORT_PATH, METRICS_EXPORT_PATH } from '../src/receiver/grpc.js';

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway(); });
afterAll(async () => { await gw?.close(); });

const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;

const post = (path: string, body: BodyInit | Uint8Array, type: string) =>
  fetch(gw.httpUrl + path, { method: 'POST', headers: { 'content-type': type }, body: body as BodyInit });

function call(path: string, body: Uint8Array): Promise<{ err: grpc.ServiceError | null; res: Buffer | null }> {
  const client = new grpc.Client(gw.grpcAddress, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body), (err, res) => {
      client.close();
      resolve({ err: err ?? null, res: res ?? null });
    });
  });
}

const storedLogs = async (traceId: string) =>
  (await gw.db.pool.query(`SELECT count(*)::int AS n FROM runledger.logs WHERE run_id = $1`, [traceId])).rows[0].n;

/** An OTLP metrics request: a sum with `sum` data points and a histogram with `hist`, in OTLP/JSON. */
function metricsJson(sum: number, hist: number) {
  const point = (i: number) => ({ timeUnixNano: String(T0 + BigInt(i)), asInt: String(i) });
  return {
    resourceMetrics: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeMetrics: [{
        scope: { name: 'test' },
        metrics: [
          { name: 'gen_ai.client.token.usage', sum: { dataPoints: Array.from({ length: sum }, (_, i) => point(i)), aggregationTemporality: 2, isMonotonic: true } },
          { name: 'gen_ai.client.operation.duration', histogram: { dataPoints: Array.from({ length: hist }, (_, i) => ({ ...point(i), count: '1' })), aggregationTemporality: 2 } },
        ],
      }],
    }],
  };
}

/** The same request in protobuf (hand-encoded: the gateway vendors no metrics protos, it only counts). */
function metricsProto(sum: number, hist: number): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).fork(); // resource_metrics
  w.uint32((2 << 3) | 2).fork(); // scope_metrics
  const metric = (name: string, field: number, points: number) => {
    w.uint32((2 << 3) | 2).fork(); // metrics
    w.uint32((1 << 3) | 2).string(name);
    w.uint32((field << 3) | 2).fork(); // sum (7) / histogram (9)
    for (let i = 0; i < points; i++) w.uint32((1 << 3) | 2).fork().uint32((3 << 3) | 1).fixed64(Number(T0) + i).ldelim();
    w.ldelim().ldelim();
  };
  metric('gen_ai.client.token.usage', 7, sum);
  metric('gen_ai.client.operation.duration', 9, hist);
  w.ldelim().ldelim();
  return w.finish();
}

describe('OTLP logs at the receivers', () => {
  it('POST /v1/logs (JSON and protobuf) stores records once; re-sends change nothing', async () => {
    const traceId = hex(16);
    const records = chatEvents(traceId, hex(8), T0);
    const json = await post('/v1/logs', JSON.stringify(logsJson(records)), 'application/json');
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({});
    const proto = await post('/v1/logs', logsProto(records), 'application/x-protobuf');
    expect(proto.status).toBe(200);
    expect(decodeExportResponse(new Uint8Array(await proto.arrayBuffer())).partialSuccess ?? null).toBeNull();
    expect(await storedLogs(traceId)).toBe(3);
  });

  it('gRPC LogsService/Export stores records and answers OK', async () => {
    const traceId = hex(16);
    const { err, res } = await call(LOGS_EXPORT_PATH, logsProto(chatEvents(traceId, hex(8), T0)));
    expect(err).toBeNull();
    expect(decodeExportResponse(res!).partialSuccess ?? null).toBeNull();
    expect(await storedLogs(traceId)).toBe(3);
  });

  it('a record with a malformed trace id is rejected alone (rejectedLogRecords), the others stored', async () => {
    const traceId = hex(16);
    const records = [...chatEvents(traceId, hex(8), T0), { traceId: 'zz', spanId: hex(8), timeNs: T0, eventAttr: 'gen_ai.user.message' }];
    const res = await post('/v1/logs', JSON.stringify(logsJson(records)), 'application/json');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.partialSuccess.rejectedLogRecords).toBe('1');
    expect(body.partialSuccess.errorMessage).toMatch(/log record/);
    expect(await storedLogs(traceId)).toBe(3);
  });

  it('a malformed body is 400 with a google.rpc.Status; a GET is 405', async () => {
    const bad = await post('/v1/logs', '{"resourceLogs": 7', 'application/json');
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toMatch(/malformed JSON ExportLogsServiceRequest/);
    const badProto = await post('/v1/logs', new Uint8Array([0x0a, 0xff, 0xff]), 'application/x-protobuf');
    expect(badProto.status).toBe(400);
    expect(decodeStatus(new Uint8Array(await badProto.arrayBuffer())).message).toMatch(/ExportLogsServiceRequest/);
    expect((await fetch(gw.httpUrl + '/v1/logs')).status).toBe(405);
  });
});

describe('OTLP metrics at the receivers', () => {
  it('POST /v1/metrics (JSON): 200, every data point rejected with the reason', async () => {
    const res = await post('/v1/metrics', JSON.stringify(metricsJson(3, 2)), 'application/json');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.partialSuccess.rejectedDataPoints).toBe('5');
    expect(body.partialSuccess.errorMessage).toMatch(/not metrics.*OTEL_METRICS_EXPORTER=none/);
  });

  it('POST /v1/metrics (protobuf) and gRPC MetricsService/Export: the same answer', async () => {
    const res = await post('/v1/metrics', metricsProto(4, 1), 'application/x-protobuf');
    expect(res.status).toBe(200);
    // (the three Export responses share their field numbers: rejected_data_points decodes as rejected_spans)
    const partial = (b: Uint8Array) => {
      const p = decodeExportResponse(b).partialSuccess!;
      return { rejected: Number(p.rejectedSpans), message: p.errorMessage };
    };
    expect(partial(new Uint8Array(await res.arrayBuffer()))).toEqual({ rejected: 5, message: expect.stringMatching(/not metrics/) });
    const { err, res: grpcRes } = await call(METRICS_EXPORT_PATH, metricsProto(2, 2));
    expect(err).toBeNull();
    expect(partial(grpcRes!)).toEqual({ rejected: 4, message: expect.stringMatching(/not metrics/) });
  });

  it('an empty request is a plain success; a malformed JSON one is 400', async () => {
    const empty = await post('/v1/metrics', '{}', 'application/json');
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual({});
    expect((await post('/v1/metrics', '[1,2', 'application/json')).status).toBe(400);
  });

  it('counts the dropped points and the requests per signal', async () => {
    const text = (await gw.metrics.expose()).body;
    const n = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    expect(n(/runledger_metric_points_dropped_total\{transport="http"\} (\d+)/)).toBeGreaterThanOrEqual(10);
    expect(n(/runledger_metric_points_dropped_total\{transport="grpc"\} (\d+)/)).toBeGreaterThanOrEqual(4);
    expect(n(/runledger_requests_total\{transport="http",signal="metrics",code="200"\} (\d+)/)).toBeGreaterThanOrEqual(3);
    expect(n(/runledger_requests_total\{transport="grpc",signal="logs",code="OK"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  });
});

describe('OTLP logs go through the same API keys, compression and limits as traces', () => {
  const KEY = 'rl_logs_acme_4c1e9a';
  let keyed: TestGateway;
  beforeAll(async () => { keyed = await startTestGateway({ apiKeys: { [KEY]: 'acme' }, maxBodyBytes: 64 * 1024 }); });
  afterAll(async () => { await keyed?.close(); });

  const send = (body: Uint8Array, headers: Record<string, string>) => fetch(keyed.httpUrl + '/v1/logs', {
    method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...headers }, body: body as BodyInit,
  });
  const tenantsOf = async (traceId: string) => (await keyed.db.pool.query(
    'SELECT tenant_id, count(*)::int AS n FROM runledger.logs WHERE run_id = $1 GROUP BY 1', [traceId])).rows;
  function grpcLogs(body: Uint8Array, md: Record<string, string>): Promise<grpc.ServiceError | null> {
    const client = new grpc.Client(keyed.grpcAddress, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(md)) metadata.set(k, v);
    return new Promise((resolve) => {
      client.makeUnaryRequest(LOGS_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body), metadata, (err) => {
        client.close();
        resolve(err ?? null);
      });
    });
  }

  it('a request without a key is 401 / UNAUTHENTICATED and stores nothing; a keyed one is stored under its tenant', async () => {
    const traceId = hex(16);
    const body = logsProto(chatEvents(traceId, hex(8), T0));
    expect((await send(body, {})).status).toBe(401);
    expect((await grpcLogs(body, {}))?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await tenantsOf(traceId)).toEqual([]);
    expect((await send(body, { authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect(await grpcLogs(body, { 'x-api-key': KEY })).toBeNull();
    expect(await tenantsOf(traceId)).toEqual([{ tenant_id: 'acme', n: 3 }]);
  });

  it('a gzip body is decompressed; a body over RUNLEDGER_MAX_BODY_BYTES (declared or after decompression) is 413', async () => {
    const traceId = hex(16);
    const body = logsProto(chatEvents(traceId, hex(8), T0));
    const gz = await send(gzipSync(body), { authorization: `Bearer ${KEY}`, 'content-encoding': 'gzip' });
    expect(gz.status).toBe(200);
    expect(await tenantsOf(traceId)).toEqual([{ tenant_id: 'acme', n: 3 }]);
    const big = new Uint8Array(128 * 1024);
    expect((await send(big, { authorization: `Bearer ${KEY}` })).status).toBe(413);
    const bomb = await send(gzipSync(big), { authorization: `Bearer ${KEY}`, 'content-encoding': 'gzip' });
    expect(bomb.status).toBe(413);
  });
});
