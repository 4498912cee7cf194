/**
 * OTLP conformance of the receivers against the specification (opentelemetry-proto docs/specification.md) and
 * what real exporters send (OTel JS, the Collector's otlp / otlphttp exporters): the OTLP/JSON rules, response
 * encodings and codes, compressions, paths and methods. Each case names the rule it checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { decodeExportResponse, decodeStatus, miniSpans, protoRequest } from './helpers/otlp.js';
import { hex } from './helpers/spans.js';
import { EXPORT_PATH } from '../src/receiver/grpc.js';
import { snappyEncodeBlock, snappyEncodeFramed } from './helpers/snappy.js';
import {
  OTLPTraceExporterGrpc as GrpcExporter, OTLPTraceExporterJson as JsonExporter, OTLPTraceExporterProto as ProtoExporter,
} from './clients/exporters.js';
import { diag, DiagLogLevel, SpanKind, TraceFlags } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway(); });
afterAll(async () => { await gw?.close(); });

const NOW = 1_700_000_000_000_000_000n;
const post = (body: BodyInit | Uint8Array, headers: Record<string, string>, path = '/v1/traces', method = 'POST') =>
  fetch(gw.httpUrl + path, { method, headers, body: body as BodyInit });
const row = async (traceId: string, spanId: string) => (await gw.db.pool.query(
  'SELECT span_id, parent_span_id, kind, status_code, attributes FROM runledger.spans WHERE trace_id = $1 AND span_id = $2',
  [traceId, spanId])).rows[0];
const count = async (traceId: string) =>
  (await gw.db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [traceId])).rows[0].n;

/** One OTLP/JSON request of the spans given as raw JSON objects (anything the test wants on the wire). */
function jsonBody(spans: object[], extra: object = {}): string {
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'conformance' } }], droppedAttributesCount: 3 },
      scopeSpans: [{ scope: { name: 'test', droppedAttributesCount: '2' }, spans }],
    }],
    ...extra,
  });
}
const times = { startTimeUnixNano: NOW.toString(), endTimeUnixNano: (NOW + 1_000_000n).toString() };

/** A raw gRPC unary call with the message as given (flag 1 = compressed) and grpc-encoding. */
function grpcRaw(message: Uint8Array, encoding: string | null, compressed: boolean): Promise<{ status: number; message: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://${gw.grpcAddress}`);
    client.on('error', reject);
    const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers' };
    if (encoding) headers['grpc-encoding'] = encoding;
    const req = client.request(headers);
    const chunks: Buffer[] = [];
    let status = -1;
    let msg = '';
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) {
        status = Number(h['grpc-status']);
        msg = decodeURIComponent(String(h['grpc-message'] ?? ''));
      }
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => { client.close(); resolve({ status, message: msg, body: Buffer.concat(chunks) }); });
    req.on('error', reject);
    const prefix = Buffer.alloc(5);
    prefix[0] = compressed ? 1 : 0;
    prefix.writeUInt32BE(message.length, 1);
    req.end(Buffer.concat([prefix, message]));
  });
}

describe('OTLP/JSON decoding rules (HTTP JSON)', () => {
  it('takes case-insensitive hex ids and stores them lowercase; an empty parentSpanId is a root', async () => {
    const traceId = hex(16);
    const spanId = hex(8);
    const child = hex(8);
    const res = await post(jsonBody([
      { traceId: traceId.toUpperCase(), spanId: spanId.toUpperCase(), parentSpanId: '', name: 'root', kind: 2, ...times },
      { traceId: traceId.toUpperCase(), spanId: child, parentSpanId: spanId.toUpperCase(), name: 'child', kind: 3, ...times },
    ]), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect(await row(traceId, spanId)).toMatchObject({ parent_span_id: null, kind: 'SERVER' });
    expect(await row(traceId, child)).toMatchObject({ parent_span_id: spanId, kind: 'CLIENT' });
  });

  it('rejects a span whose traceId or spanId is the empty string (zero-length id) through partial_success', async () => {
    const traceId = hex(16);
    const res = await post(jsonBody([
      { traceId, spanId: hex(8), name: 'ok', ...times },
      { traceId: '', spanId: hex(8), name: 'no trace id', ...times },
      { traceId, spanId: '', name: 'no span id', ...times },
    ]), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.partialSuccess.rejectedSpans).toBe('2'); // int64 → decimal string (proto3 JSON)
    expect(body.partialSuccess.errorMessage).toMatch(/invalid traceId .*invalid spanId/s);
    expect(await count(traceId)).toBe(1);
  });

  it('takes int64 and fixed64 as strings or numbers, enums as integers, nested arrays / kvlists, base64 bytes; ignores unknown fields, droppedAttributesCount and flags', async () => {
    const traceId = hex(16);
    const spanId = hex(8);
    const res = await post(jsonBody([{
      traceId, spanId, name: 'typed', kind: 1, flags: 257, droppedAttributesCount: 4, droppedEventsCount: '1', droppedLinksCount: 0,
      startTimeUnixNano: Number(NOW), endTimeUnixNano: (NOW + 1_000_000n).toString(),
      status: { code: 2, message: 'boom', futureField: { x: 1 } },
      someFutureField: [1, 'two', { three: 3 }],
      attributes: [
        { key: 'i.str', value: { intValue: '9007199254740993' } },
        { key: 'i.num', value: { intValue: 42 } },
        { key: 'd.str', value: { doubleValue: '1.5' } },
        { key: 'b', value: { boolValue: true } },
        { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 254, 255]).toString('base64') } },
        { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }, { arrayValue: { values: [{ boolValue: false }] } }] } } },
        { key: 'kv', value: { kvlistValue: { values: [{ key: 'inner', value: { kvlistValue: { values: [{ key: 'deep', value: { doubleValue: 2 } }] } } }] } } },
        { key: 'empty', value: {} },
        { key: 'unknown.member', value: { stringValue: 's', futureValue: 1 } },
      ],
      events: [{ timeUnixNano: (NOW + 10n).toString(), name: 'e', droppedAttributesCount: 1 }],
      links: [{ traceId: hex(16).toUpperCase(), spanId: hex(8), flags: 256, droppedAttributesCount: 0 }],
    }], { futureTopLevel: true }), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const r = await row(traceId, spanId);
    expect(r).toMatchObject({ kind: 'INTERNAL', status_code: 'ERROR' });
    expect(r.attributes).toMatchObject({
      'i.str': '9007199254740993', 'i.num': 42, 'd.str': 1.5, b: true, bytes: 'AAEC/v8=',
      arr: ['a', 2, [false]], kv: { inner: { deep: 2 } }, empty: null, 'unknown.member': 's',
    });
  });

  it('takes enum names and original snake_case field names too (lenient, as protobuf JSON parsers are)', async () => {
    const traceId = hex(16);
    const spanId = hex(8);
    const res = await post(JSON.stringify({ resource_spans: [{ scope_spans: [{ spans: [{
      trace_id: traceId, span_id: spanId, name: 'snake', kind: 'SPAN_KIND_PRODUCER',
      start_time_unix_nano: NOW.toString(), end_time_unix_nano: (NOW + 1n).toString(),
    }] }] }] }), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(await row(traceId, spanId)).toMatchObject({ kind: 'PRODUCER' });
  });
});

describe('protobuf strings that are not valid UTF-8 (HTTP protobuf)', () => {
  it('stores the span with U+FFFD in place of the invalid bytes (proto3 strings must be UTF-8; PostgreSQL text must be too)', async () => {
    const traceId = hex(16);
    const spanId = hex(8);
    const name = 'nameXX';
    const body = Buffer.from(protoRequest([{ traceId, spanId, name }]));
    const at = body.indexOf(Buffer.from(name));
    body[at + 4] = 0xff; // lone continuation / invalid lead bytes
    body[at + 5] = 0xc3;
    const res = await post(body, { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(200);
    expect(decodeExportResponse(new Uint8Array(await res.arrayBuffer())).partialSuccess ?? null).toBeNull();
    const stored = (await gw.db.pool.query('SELECT name FROM runledger.spans WHERE trace_id = $1', [traceId])).rows[0];
    expect(stored.name).toBe('name\uFFFD\uFFFD');
  });
});

describe('ids in protobuf (HTTP protobuf and gRPC)', () => {
  it('rejects spans with zero-length or wrongly sized trace / span ids through partial_success; an empty parent is a root', async () => {
    for (const transport of ['http', 'grpc'] as const) {
      const traceId = hex(16);
      const root = hex(8);
      const body = protoRequest([
        { traceId, spanId: root, name: 'root' },
        { traceId: '', spanId: hex(8), name: 'empty trace id' },
        { traceId, spanId: '', name: 'empty span id' },
        { traceId: traceId.slice(2), spanId: hex(8), name: '15-byte trace id' },
      ]);
      let rejected: number;
      let message: string;
      if (transport === 'http') {
        const res = await post(body, { 'content-type': 'application/x-protobuf' });
        expect(res.status).toBe(200);
        const out = decodeExportResponse(new Uint8Array(await res.arrayBuffer()));
        rejected = Number(out.partialSuccess?.rejectedSpans);
        message = out.partialSuccess?.errorMessage ?? '';
      } else {
        const r = await grpcRaw(body, null, false);
        expect(r.status).toBe(0);
        const out = decodeExportResponse(r.body.subarray(5));
        rejected = Number(out.partialSuccess?.rejectedSpans);
        message = out.partialSuccess?.errorMessage ?? '';
      }
      expect(rejected, transport).toBe(3);
      expect(message).toMatch(/0 bytes, expected 16/);
      expect(message).toMatch(/15 bytes, expected 16/);
      expect(await row(traceId, root)).toMatchObject({ parent_span_id: null });
    }
  });
});

describe('responses: encoding and codes', () => {
  it('answers 404 for an unknown path with a google.rpc.Status in the request\'s encoding (protobuf for protobuf)', async () => {
    const res = await post(protoRequest(miniSpans(1)), { 'content-type': 'application/x-protobuf' }, '/v1/trace');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    const status = decodeStatus(new Uint8Array(await res.arrayBuffer()));
    expect(status.message).toMatch(/no route for POST \/v1\/trace/);
    const j = await post('{}', { 'content-type': 'application/json' }, '/v1/trace');
    expect(j.status).toBe(404);
    expect(j.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await j.json()).message).toMatch(/no route/);
  });

  it('answers 405 with Allow: POST to GET, HEAD, PUT and OPTIONS (CORS preflight is not served)', async () => {
    for (const method of ['GET', 'HEAD', 'PUT', 'OPTIONS']) {
      const res = await fetch(gw.httpUrl + '/v1/traces', {
        method, headers: method === 'OPTIONS' ? { origin: 'http://app.example', 'access-control-request-method': 'POST' } : {},
      });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('ignores query strings; a trailing slash is another path (404, as the Collector\'s receiver)', async () => {
    const spans = miniSpans(1);
    const q = await post(protoRequest(spans), { 'content-type': 'application/x-protobuf' }, '/v1/traces?tenant=x');
    expect(q.status).toBe(200);
    expect(await count(spans[0]!.traceId)).toBe(1);
    const slash = await post(protoRequest(miniSpans(1)), { 'content-type': 'application/x-protobuf' }, '/v1/traces/');
    expect(slash.status).toBe(404);
  });

  it('answers an empty request (no spans) with success', async () => {
    for (const [ct, body] of [['application/x-protobuf', new Uint8Array(0)], ['application/json', '{}']] as const) {
      const res = await post(body, { 'content-type': ct });
      expect(res.status, ct).toBe(200);
      expect(res.headers.get('content-type')).toBe(ct);
    }
  });

  it('partial success carries rejected_spans and error_message in both encodings; JSON uses lowerCamelCase and an int64 string', async () => {
    const traceId = hex(16);
    const bad = { traceId: '00000000000000000000000000000000', spanId: hex(8), name: 'zero' };
    const j = await post(jsonBody([{ traceId, spanId: hex(8), name: 'ok', ...times }, { ...bad, ...times }]), { 'content-type': 'application/json' });
    expect(await j.json()).toEqual({ partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringMatching(/all zero/) } });
    const p = await post(protoRequest([{ traceId, spanId: hex(8), name: 'ok' }, bad]), { 'content-type': 'application/x-protobuf' });
    const out = decodeExportResponse(new Uint8Array(await p.arrayBuffer()));
    expect(Number(out.partialSuccess?.rejectedSpans)).toBe(1);
    expect(out.partialSuccess?.errorMessage).toMatch(/all zero/);
  });
});

describe('compression', () => {
  it('takes Content-Encoding zlib (the Collector\'s otlphttp exporter with compression: zlib sends that name)', async () => {
    const spans = miniSpans(2);
    const res = await post(zlib.deflateSync(protoRequest(spans)), { 'content-type': 'application/x-protobuf', 'content-encoding': 'zlib' });
    expect(res.status).toBe(200);
    expect(await count(spans[0]!.traceId)).toBe(2);
  });

  it('takes grpc-encoding zstd (the Collector\'s otlp exporter with compression: zstd)', async () => {
    const spans = miniSpans(3);
    const r = await grpcRaw(execFileSync('zstd', ['-q', '-c'], { input: protoRequest(spans) }), 'zstd', true);
    expect(r).toMatchObject({ status: 0 });
    expect(await count(spans[0]!.traceId)).toBe(3);
  });

  it('takes snappy as every Collector sends it: block format (snappy, v0.125+), framing format (snappy before, x-snappy-framed), gRPC snappy (framed)', async () => {
    const cases: [string, (b: Uint8Array) => Uint8Array][] = [
      ['snappy', snappyEncodeBlock], ['snappy', (b) => snappyEncodeFramed(b)], ['x-snappy-framed', (b) => snappyEncodeFramed(b)],
    ];
    for (const [enc, compress] of cases) {
      const spans = miniSpans(3);
      const res = await post(compress(protoRequest(spans)), { 'content-type': 'application/x-protobuf', 'content-encoding': enc });
      expect(res.status, enc).toBe(200);
      expect(await count(spans[0]!.traceId)).toBe(3);
    }
    const spans = miniSpans(2);
    const r = await grpcRaw(snappyEncodeFramed(protoRequest(spans)), 'snappy', true);
    expect(r).toMatchObject({ status: 0 });
    expect(await count(spans[0]!.traceId)).toBe(2);
  });

  it('takes Content-Encoding lz4 (the Collector\'s otlphttp exporter with compression: lz4: the LZ4 frame format)', async () => {
    const spans = miniSpans(3);
    const res = await post(execFileSync('lz4', ['-q', '-c'], { input: protoRequest(spans) }), { 'content-type': 'application/x-protobuf', 'content-encoding': 'lz4' });
    expect(res.status).toBe(200);
    expect(await count(spans[0]!.traceId)).toBe(3);
  });

  it('answers an encoding it does not take with a final error naming the ones it does (415 / UNIMPLEMENTED), never a retryable one', async () => {
    const res = await post(protoRequest(miniSpans(1)), { 'content-type': 'application/x-protobuf', 'content-encoding': 'br' });
    expect(res.status).toBe(415);
    expect(decodeStatus(new Uint8Array(await res.arrayBuffer())).message).toMatch(/supported: .*gzip/);
    const g = await grpcRaw(new Uint8Array([1, 2, 3]), 'br', true);
    expect(g.status).toBe(12);
    expect(g.message).toMatch(/supported: .*gzip/);
  });
});

describe('what exporters do with our failures', () => {
  // OTLP/HTTP clients retry 429, 502, 503 and 504 only ("all other 4xx or 5xx ... MUST NOT be retried"): the
  // Collector's otlphttp exporter and @opentelemetry/otlp-exporter-base drop the data on anything else.
  const OTLP_HTTP_RETRYABLE = [429, 502, 503, 504];

  it('a body cut for arriving too slowly is answered with a code exporters retry (the gRPC answer, DEADLINE_EXCEEDED, is retried too)', async () => {
    const { rawUpload } = await import('./helpers/hostile.js');
    const small = await startTestGateway({ bodyGraceSeconds: 1, bodyMinBytesPerSecond: 1024 }, gw.db);
    try {
      const r = await rawUpload({ url: small.httpUrl, declared: 1000, bytes: 1000, bytesPerSecond: 1, maxMs: 10_000 });
      expect(r.closed).toBe(true);
      expect(OTLP_HTTP_RETRYABLE).toContain(r.status);
    } finally {
      await small.stop();
    }
  });
});

describe('partial success as the real OTel JS exporters read it', () => {
  /** A finished span as the SDK hands it to an exporter, with the ids given. */
  function readable(traceId: string, spanId: string): ReadableSpan {
    return {
      name: 'exported', kind: SpanKind.CLIENT, spanContext: () => ({ traceId, spanId, traceFlags: TraceFlags.SAMPLED }),
      startTime: [1_700_000_000, 0], endTime: [1_700_000_001, 0], duration: [1, 0], ended: true,
      status: { code: 0 }, attributes: {}, links: [], events: [],
      resource: resourceFromAttributes({ 'service.name': 'partial' }), instrumentationScope: { name: 'test' },
      droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
    } as unknown as ReadableSpan;
  }

  it.each([
    ['http/json', () => new JsonExporter({ url: `${gw.httpUrl}/v1/traces` })],
    ['http/protobuf', () => new ProtoExporter({ url: `${gw.httpUrl}/v1/traces` })],
    ['grpc', () => new GrpcExporter({ url: `http://${gw.grpcAddress}` })],
  ] as [string, () => SpanExporter][])('%s: the export succeeds (no retry) and the exporter reports the rejected span and why', async (_label, make) => {
    const warnings: string[] = [];
    diag.setLogger({
      error: () => {}, info: () => {}, debug: () => {}, verbose: () => {},
      warn: (...args: unknown[]) => { warnings.push(args.map(String).join(' ')); },
    }, DiagLogLevel.WARN);
    try {
      const traceId = hex(16);
      const exporter = make();
      const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
        exporter.export([readable(traceId, hex(8)), readable('0'.repeat(32), hex(8))], resolve));
      await exporter.shutdown();
      expect(result.code).toBe(ExportResultCode.SUCCESS);
      expect(await count(traceId)).toBe(1);
      const partial = warnings.find((w) => /Partial Success/i.test(w));
      expect(partial).toBeDefined();
      expect(partial).toMatch(/"rejectedSpans":"?1"?/);
      expect(partial).toMatch(/all zero/);
    } finally {
      diag.disable();
    }
  });
});
