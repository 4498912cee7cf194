/** OTLP/HTTP conformance: content types, methods, encodings, limits, partial success, back-pressure. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import http from 'node:http';
import type { Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { decodeExportResponse, decodeStatus, jsonRequest, miniSpans, protoRequest } from './helpers/otlp.js';
import { hex } from './helpers/spans.js';
import { holdRun } from './helpers/locks.js';
import { freePort } from '../src/db/embedded.js';
import { rawUpload } from './helpers/hostile.js';

let gw: TestGateway;
const LIMIT = 256 * 1024;
beforeAll(async () => { gw = await startTestGateway({ maxBodyBytes: LIMIT }); });
afterAll(async () => { await gw?.close(); });

const post = (body: BodyInit | Uint8Array, headers: Record<string, string>, path = '/v1/traces', method = 'POST') =>
  fetch(gw.httpUrl + path, { method, headers, body: body as BodyInit });
const stored = async (traceId: string) =>
  (await gw.db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [traceId])).rows[0].n;

describe('OTLP/HTTP receiver', () => {
  it('accepts protobuf and answers an empty protobuf ExportTraceServiceResponse', async () => {
    const spans = miniSpans(3);
    const res = await post(protoRequest(spans), { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    const body = decodeExportResponse(new Uint8Array(await res.arrayBuffer()));
    expect(body.partialSuccess ?? null).toBeNull();
    expect(await stored(spans[0]!.traceId)).toBe(3);
  });

  it('accepts JSON with charset parameters and answers JSON', async () => {
    const spans = miniSpans(2);
    const res = await post(jsonRequest(spans), { 'content-type': 'application/json; charset=utf-8' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({});
    expect(await stored(spans[0]!.traceId)).toBe(2);
  });

  it('rejects unsupported media types with 415 and a google.rpc.Status body', async () => {
    const res = await post('hello', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    const body = await res.json();
    expect(body.code).toBeGreaterThan(0);
    expect(body.message).toMatch(/Content-Type/);
  });

  it('rejects other methods with 405 and Allow: POST', async () => {
    const res = await fetch(gw.httpUrl + '/v1/traces', { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await res.json()).message).toMatch(/POST/);
  });

  it('answers 404 for unknown paths', async () => {
    const res = await post(protoRequest(miniSpans(1)), { 'content-type': 'application/x-protobuf' }, '/v1/profiles');
    expect(res.status).toBe(404);
  });

  it.each([
    ['gzip', (b: Uint8Array) => zlib.gzipSync(b)],
    ['deflate', (b: Uint8Array) => zlib.deflateSync(b)],
    ['zstd', (b: Uint8Array) => execFileSync('zstd', ['-q', '-c'], { input: b })],
  ])('decompresses Content-Encoding %s', async (enc, compress) => {
    const spans = miniSpans(4);
    const res = await post(compress(protoRequest(spans)), { 'content-type': 'application/x-protobuf', 'content-encoding': enc });
    expect(res.status).toBe(200);
    expect(await stored(spans[0]!.traceId)).toBe(4);
  });

  it('rejects unknown Content-Encoding with 415', async () => {
    const res = await post(protoRequest(miniSpans(1)), { 'content-type': 'application/x-protobuf', 'content-encoding': 'br' });
    expect(res.status).toBe(415);
  });

  it('applies the body limit before and after decompression (413)', async () => {
    const big = await post(new Uint8Array(LIMIT + 1), { 'content-type': 'application/x-protobuf' });
    expect(big.status).toBe(413);
    const bomb = zlib.gzipSync(Buffer.alloc(LIMIT * 8)); // ~2 KB on the wire, 2 MiB inflated
    expect(bomb.length).toBeLessThan(LIMIT);
    const res = await post(bomb, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(decodeStatus(new Uint8Array(await res.arrayBuffer())).message).toMatch(/exceeds/);
  });

  it('refuses (413) a protobuf request carrying more spans than the queue holds, before decoding it', async () => {
    const small = await startTestGateway({ queueMaxSpans: 100, batchMaxSpans: 100 }, gw.db);
    try {
      const spans = miniSpans(150);
      const res = await fetch(small.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(spans) });
      expect(res.status).toBe(413);
      expect(decodeStatus(new Uint8Array(await res.arrayBuffer())).message).toMatch(/150 spans, more than the 100/);
      expect(await stored(spans[0]!.traceId)).toBe(0);
      const ok = miniSpans(100);
      expect((await fetch(small.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(ok) })).status).toBe(200);
    } finally {
      await small.stop();
    }
  });

  it('answers 400 with a protobuf Status for malformed protobuf, JSON Status for malformed JSON', async () => {
    const res = await post(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(400);
    const status = decodeStatus(new Uint8Array(await res.arrayBuffer()));
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/malformed/);
    const j = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
    expect(j.status).toBe(400);
    expect(await j.json()).toMatchObject({ code: 3, message: expect.stringMatching(/malformed/) });
  });

  it('rejects spans with invalid ids individually through partial_success and stores the rest', async () => {
    const spans = miniSpans(3);
    spans.push({ traceId: '00000000000000000000000000000000', spanId: hex(8), name: 'zero-trace' });
    spans.push({ traceId: spans[0]!.traceId, spanId: 'xyz', name: 'bad-span-id' });
    const res = await post(jsonRequest(spans), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.partialSuccess).toMatchObject({ errorMessage: expect.stringMatching(/2 span/) });
    expect(Number(body.partialSuccess.rejectedSpans)).toBe(2);
    expect(await stored(spans[0]!.traceId)).toBe(3);
  });

  it('rejects spans whose times cannot be stored, and ignores an absurd reported cost', async () => {
    const traceId = hex(16);
    const spanJson = (spanId: string, end: string | number, cost: number) => ({
      traceId, spanId, name: 'chat', startTimeUnixNano: '1700000000000000000', endTimeUnixNano: end,
      attributes: [
        { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
        { key: 'gen_ai.usage.cost', value: { doubleValue: cost } },
      ],
    });
    const ok = hex(8);
    const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [
      spanJson(ok, '1700000001000000000', 1e15),
      spanJson(hex(8), 1e30, 0.5), // a JSON number: an integer, but no date PostgreSQL can store
    ] }] }] });
    const res = await post(body, { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const out = await res.json();
    expect(Number(out.partialSuccess.rejectedSpans)).toBe(1);
    expect(out.partialSuccess.errorMessage).toMatch(/year 9999/);
    const node = await gw.db.pool.query('SELECT total_cost, cost_source FROM runledger.nodes WHERE run_id = $1 AND node_id = $2', [traceId, ok]);
    expect(node.rows).toEqual([{ total_cost: null, cost_source: null }]);
  });

  it('keeps a span without an end time ending at its start, says so, and rejects one without a start time', async () => {
    // What a first curl test sends: times left out. Stored as sent, the end (1970) gave the node a duration
    // of minus 56 years and its run an end before its start.
    const traceId = hex(16);
    const root = hex(8), noEnd = hex(8), backwards = hex(8), noStart = hex(8);
    const span = (spanId: string, parent: string | null, times: Record<string, string>) => ({
      traceId, spanId, ...(parent ? { parentSpanId: parent } : {}), name: parent ? 'chat gpt-4o' : 'invoke_agent', ...times,
      attributes: parent ? [
        { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
        { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
        { key: 'gen_ai.usage.input_tokens', value: { intValue: '10' } },
      ] : [{ key: 'gen_ai.operation.name', value: { stringValue: 'invoke_agent' } }],
    });
    const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [
      span(root, null, { startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000002000000000' }),
      span(noEnd, root, { startTimeUnixNano: '1700000001000000000' }),
      span(backwards, root, { startTimeUnixNano: '1700000001500000000', endTimeUnixNano: '1700000001000000000' }),
      span(noStart, root, { endTimeUnixNano: '1700000001000000000' }),
    ] }] }] });
    const res = await post(body, { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const out = await res.json();
    expect(Number(out.partialSuccess.rejectedSpans)).toBe(1);
    expect(out.partialSuccess.errorMessage).toMatch(new RegExp(`^1 span\\(s\\) rejected: span ${noStart} of trace ${traceId}: no start time`));
    expect(out.partialSuccess.errorMessage).toMatch(new RegExp(`\\. 2 span\\(s\\) stored ending at their start time: span ${noEnd} of trace ${traceId}: no end time .*; span ${backwards} of trace ${traceId}: end time before its start time$`));
    const nodes = await gw.db.pool.query(
      `SELECT node_id, duration_ms, end_time = start_time AS at_start FROM runledger.nodes WHERE run_id = $1 ORDER BY start_time`, [traceId]);
    expect(nodes.rows).toEqual([
      { node_id: root, duration_ms: 2000, at_start: false },
      { node_id: noEnd, duration_ms: 0, at_start: true },
      { node_id: backwards, duration_ms: 0, at_start: true },
    ]);
    const run = await gw.db.pool.query('SELECT span_count, input_tokens, extract(epoch FROM end_time - start_time) AS seconds FROM runledger.runs WHERE run_id = $1', [traceId]);
    expect(run.rows).toEqual([{ span_count: '3', input_tokens: '20', seconds: '2.000000' }]);

    // A request whose spans are all fine has no message; the protobuf path keeps and tells the same.
    const proto = miniSpans(1).map((s) => ({ ...s, endNs: 0n }));
    const res2 = await post(protoRequest(proto), { 'content-type': 'application/x-protobuf' });
    const body2 = decodeExportResponse(new Uint8Array(await res2.arrayBuffer()));
    expect(Number(body2.partialSuccess?.rejectedSpans ?? 0)).toBe(0);
    expect(body2.partialSuccess?.errorMessage).toMatch(/1 span\(s\) stored ending at their start time: .*no end time/);
    expect(await stored(proto[0]!.traceId)).toBe(1);
  });

  it('answers 429 with Retry-After when the queue is full, and commits what it accepted', async () => {
    const small = await startTestGateway({ queueMaxSpans: 8, batchMaxSpans: 8, writers: 1, retryAfterSeconds: 7, runLockWaitMs: 60_000 }, gw.db);
    try {
      const held = miniSpans(6);
      const hold = await holdRun(gw.db.url, 'default', held[0]!.traceId);
      const first = fetch(small.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(held) });
      await waitFor(() => small.batcher.depth === 6);
      const res = await fetch(small.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonRequest(miniSpans(4)) });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('7');
      expect((await res.json()).message).toMatch(/queue is full/);
      await hold.release();
      expect((await first).status).toBe(200);
      expect(await stored(held[0]!.traceId)).toBe(6);
    } finally {
      await small.stop();
    }
  });

  it('cuts a body arriving at 1 byte/s with 503 soon after the grace, closes the connection and frees its admission', async () => {
    const small = await startTestGateway({ bodyGraceSeconds: 1, bodyMinBytesPerSecond: 1024 }, gw.db);
    try {
      const [declared, chunked] = await Promise.all([
        rawUpload({ url: small.httpUrl, declared: 1000, bytes: 1000, bytesPerSecond: 1, maxMs: 10_000 }),
        rawUpload({ url: small.httpUrl, bytes: 1000, bytesPerSecond: 1, maxMs: 10_000 }),
      ]);
      for (const r of [declared, chunked]) {
        expect(r).toMatchObject({ status: 503, closed: true });
        expect(r.ms).toBeGreaterThanOrEqual(1000);
        expect(r.ms).toBeLessThan(3000);
      }
      expect(small.pipeline.admission.admittedBytes).toBe(0);
      // The gateway still answers at once.
      expect((await fetch(small.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(miniSpans(1)) })).status).toBe(200);
    } finally {
      await small.stop();
    }
  });

  it('refuses at once (413, connection closed) a body declaring more than one request may hold, reading none of it', async () => {
    const small = await startTestGateway({ queueMaxSpans: 4096, batchMaxSpans: 1024 }, gw.db); // 4 MiB budget, 2 MiB a request
    try {
      const r = await rawUpload({ url: small.httpUrl, declared: 3 * 1024 * 1024, bytes: 3 * 1024 * 1024, bytesPerSecond: 1, maxMs: 10_000 });
      expect(r).toMatchObject({ status: 413, closed: true });
      expect(r.ms).toBeLessThan(1000);
      expect(small.pipeline.admission.admittedBytes).toBe(0);
    } finally {
      await small.stop();
    }
  });

  it('answers 503 with Retry-After when the database is unavailable', async () => {
    const deadUrl = `postgres://postgres:x@127.0.0.1:${await freePort()}/nowhere`;
    const down = await startTestGateway({ databaseUrl: deadUrl, retryAfterSeconds: 4 }, gw.db);
    try {
      const res = await fetch(down.httpUrl + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protoRequest(miniSpans(2)) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('4');
      expect(decodeStatus(new Uint8Array(await res.arrayBuffer())).code).toBe(14);
    } finally {
      await down.stop();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('kept-alive connections', () => {
  /** One request on a fresh kept-alive socket, then ms of idleness: whether the server closed the socket meanwhile. */
  async function closedAfterIdle(url: string, ms: number): Promise<boolean> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const req = http.request(url + '/healthz', { agent }, (res) => { res.resume(); res.on('end', () => resolve(req.socket!)); });
        req.on('error', reject);
        req.end();
      });
      let closed = false;
      socket.on('close', () => { closed = true; });
      await new Promise((r) => setTimeout(r, ms));
      return closed;
    } finally { agent.destroy(); }
  }

  it('stay open while idle past Node\'s default (5 s, closed at ~6 s: a close racing a client\'s next request resets it)', async () => {
    expect(await closedAfterIdle(gw.httpUrl, 7_000)).toBe(false);
  }, 15_000);

  it('close after RUNLEDGER_HTTP_KEEP_ALIVE_SECONDS of idleness', async () => {
    const short = await startTestGateway({ httpKeepAliveSeconds: 1 }, gw.db);
    try {
      expect(await closedAfterIdle(short.httpUrl, 3_000)).toBe(true); // Node adds 1 s to the timeout
    } finally { await short.stop(); }
  }, 15_000);
});
