/**
 * Observability: Prometheus metrics at GET /metrics, liveness (/healthz), readiness (/readyz, also
 * while draining and with the database down), and JSON logs on stderr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { decodeExportResponse, jsonRequest, miniSpans, protoRequest } from './helpers/otlp.js';
import { EXPORT_PATH } from '../src/receiver/grpc.js';
import { freePort } from '../src/db/embedded.js';
import { packageRoot } from '../src/db/paths.js';
import { holdRun } from './helpers/locks.js';
import { createPino, wrap } from '../src/log.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { hex } from './helpers/spans.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
  await gw.db.pool.query(`ALTER TABLE runledger.spans ADD CONSTRAINT refuse_me CHECK (name <> 'refuse-me')`);
});
afterAll(async () => { await gw?.close(); });

interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parse the Prometheus text exposition format (samples only). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(url: string): Promise<(name: string, labels?: Record<string, string>) => number | undefined> {
  const res = await fetch(url + '/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = parse(await res.text());
  return (name, labels = {}) => {
    const want = JSON.stringify(Object.entries(labels).sort());
    return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
  };
}

const post = (url: string, body: BodyInit | Uint8Array, type: string) =>
  fetch(url + '/v1/traces', { method: 'POST', headers: { 'content-type': type }, body: body as BodyInit });

function grpcExport(address: string, body: Uint8Array): Promise<{ err: grpc.ServiceError | null; res: Buffer | null }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body), (err, res) => {
      client.close();
      resolve({ err: err ?? null, res: res ?? null });
    });
  });
}

describe('GET /metrics', () => {
  it('counts received, stored, duplicate and rejected spans, requests, batches and latencies', async () => {
    const own = await startTestGateway({ writers: 1, runLockWaitMs: 60_000 }, gw.db); // fresh registry: exact counts
    try {
      const first = miniSpans(3);
      expect((await post(own.httpUrl, protoRequest(first), 'application/x-protobuf')).status).toBe(200);
      expect((await post(own.httpUrl, protoRequest(first), 'application/x-protobuf')).status).toBe(200); // re-sent

      const mixed = miniSpans(2);
      mixed.push({ traceId: mixed[0]!.traceId, spanId: 'xyz', name: 'bad-span-id' });
      const partial = await post(own.httpUrl, jsonRequest(mixed), 'application/json');
      expect(partial.status).toBe(200);
      expect(Number((await partial.json()).partialSuccess.rejectedSpans)).toBe(1);

      // one span PostgreSQL refuses (a CHECK constraint of this file's database), one it stores
      const pair = miniSpans(2);
      pair[1]!.name = 'refuse-me';
      const refused = await post(own.httpUrl, protoRequest(pair), 'application/x-protobuf');
      expect(Number(decodeExportResponse(new Uint8Array(await refused.arrayBuffer())).partialSuccess?.rejectedSpans)).toBe(1);

      expect((await post(own.httpUrl, 'hello', 'text/plain')).status).toBe(415);

      const { err, res } = await grpcExport(own.grpcAddress, protoRequest(miniSpans(4)));
      expect(err).toBeNull();
      expect(decodeExportResponse(res!).partialSuccess ?? null).toBeNull();
      const { err: malformed } = await grpcExport(own.grpcAddress, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      expect(malformed?.code).toBe(grpc.status.INVALID_ARGUMENT);

      const m = await scrape(own.httpUrl);
      expect(m('runledger_spans_received_total', { transport: 'http' })).toBe(3 + 3 + 3 + 2);
      expect(m('runledger_spans_received_total', { transport: 'grpc' })).toBe(4);
      expect(m('runledger_spans_stored_total')).toBe(3 + 2 + 1 + 4);
      expect(m('runledger_spans_duplicate_total')).toBe(3);
      expect(m('runledger_spans_rejected_total', { reason: 'invalid' })).toBe(1);
      expect(m('runledger_spans_rejected_total', { reason: 'database' })).toBe(1);
      expect(m('runledger_requests_total', { transport: 'http', signal: 'traces', code: '200' })).toBe(4);
      expect(m('runledger_requests_total', { transport: 'http', signal: 'traces', code: '415' })).toBe(1);
      expect(m('runledger_requests_total', { transport: 'grpc', signal: 'traces', code: 'OK' })).toBe(1);
      expect(m('runledger_requests_total', { transport: 'grpc', signal: 'traces', code: 'INVALID_ARGUMENT' })).toBe(1);
      expect(m('runledger_queue_spans')).toBe(0);
      expect(m('runledger_database_up')).toBe(1);

      // committed transactions: 3, 3 (re-send), 2, then the refused request bisected down to its
      // storable span (1), and 4 via gRPC
      expect(m('runledger_batch_spans_count')).toBe(5);
      expect(m('runledger_batch_spans_sum')).toBe(3 + 3 + 2 + 1 + 4);
      expect(m('runledger_batch_spans_bucket', { le: '1' })).toBe(1);
      expect(m('runledger_batch_spans_bucket', { le: '4' })).toBe(5);
      expect(m('runledger_write_seconds_count')).toBe(5);
      expect(m('runledger_write_seconds_sum')).toBeGreaterThan(0);
      expect(m('runledger_write_seconds_bucket', { le: '+Inf' })).toBe(5);
      expect(m('runledger_request_seconds_count', { transport: 'http' })).toBe(5);
      expect(m('runledger_request_seconds_count', { transport: 'grpc' })).toBe(2);
      expect(m('runledger_request_seconds_sum', { transport: 'http' })).toBeGreaterThan(0);
      expect(m('process_cpu_user_seconds_total')).toBeGreaterThan(0); // default process metrics
    } finally {
      await own.stop();
    }
  });

  it('keeps one registry per gateway and shows the queue depth while spans wait', async () => {
    const own = await startTestGateway({ writers: 1, runLockWaitMs: 60_000 }, gw.db);
    try {
      const held = miniSpans(6);
      const hold = await holdRun(gw.db.url, 'default', held[0]!.traceId);
      const pending = post(own.httpUrl, protoRequest(held), 'application/x-protobuf');
      while (own.batcher.depth < 6) await new Promise((r) => setTimeout(r, 5));
      const during = await scrape(own.httpUrl);
      expect(during('runledger_queue_spans')).toBe(6);
      expect(during('runledger_spans_received_total', { transport: 'http' })).toBe(6);
      expect(during('runledger_spans_stored_total')).toBe(0);
      await hold.release();
      expect((await pending).status).toBe(200);
      const after = await scrape(own.httpUrl);
      expect(after('runledger_queue_spans')).toBe(0);
      expect(after('runledger_spans_stored_total')).toBe(6);
      // the shared gateway's registry saw none of this
      expect((await scrape(gw.httpUrl))('runledger_spans_received_total', { transport: 'http' })).toBe(0);
    } finally {
      await own.stop();
    }
  });
});

/** An OTLP/JSON request of chat spans: [model, input tokens or null] each, started now. */
function chatRequest(calls: [string, number | null][]): string {
  const traceId = hex(16);
  const now = BigInt(Date.now()) * 1_000_000n;
  const attr = (key: string, value: string | number) =>
    ({ key, value: typeof value === 'string' ? { stringValue: value } : { intValue: String(value) } });
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [attr('service.name', 'prices')] }, scopeSpans: [{ spans: calls.map(([model, tokens]) => ({
    traceId, spanId: hex(8), name: `chat ${model}`, kind: 3, startTimeUnixNano: now.toString(), endTimeUnixNano: (now + 1000n).toString(),
    attributes: [attr('gen_ai.operation.name', 'chat'), attr('gen_ai.provider.name', 'openai'), attr('gen_ai.request.model', model),
      ...(tokens === null ? [] : [attr('gen_ai.usage.input_tokens', tokens), attr('gen_ai.usage.output_tokens', 10)])],
  })) }] }] });
}

describe('unpriced calls', () => {
  it('are counted by model (priced, reported and token-less calls are not), in the worker thread path too', async () => {
    const own = await startTestGateway({ writers: 1, prepareWorkers: 1 }, gw.db);
    try {
      const body = chatRequest([['my-local-llama', 100], ['my-local-llama', 200], ['gpt-4o-mini', 100], ['my-local-llama', null], ['other-local', 5]]);
      expect((await post(own.httpUrl, body, 'application/json')).status).toBe(200);
      const m = await scrape(own.httpUrl);
      expect(m('runledger_unpriced_calls_total', { model: 'my-local-llama' })).toBe(2);
      expect(m('runledger_unpriced_calls_total', { model: 'other-local' })).toBe(1);
      expect(m('runledger_unpriced_calls_total', { model: 'gpt-4o-mini' })).toBeUndefined();
    } finally {
      await own.stop();
    }
  });

  it('stop once RUNLEDGER_PRICES_FILE prices the model; the node records where its price came from', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'runledger-prices-')), 'prices.json');
    writeFileSync(file, JSON.stringify({ models: [{ match: '^my-local-llama$', input: 1, output: 2 }] }));
    const own = await startTestGateway({ writers: 1, prepareWorkers: 1, pricesFile: file }, gw.db);
    try {
      const body = chatRequest([['my-local-llama', 1_000_000]]);
      expect((await post(own.httpUrl, body, 'application/json')).status).toBe(200);
      expect((await scrape(own.httpUrl))('runledger_unpriced_calls_total', { model: 'my-local-llama' })).toBeUndefined();
      const traceId = (JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: { traceId: string }[] }[] }[] }).resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId;
      const row = (await gw.db.pool.query(`SELECT total_cost::text, cost_source, price_ref FROM runledger.nodes WHERE run_id = $1`, [traceId])).rows[0];
      expect(row).toMatchObject({ total_cost: '1.0000200000', cost_source: 'price_table' });
      expect(row.price_ref).toMatch(/^prices-file@[0-9a-f]{12}:\^my-local-llama\$$/);
    } finally {
      await own.stop();
    }
  });
});

describe('health endpoints', () => {
  it('/healthz answers 200 {"status":"ok"}; /readyz 200 when the database answers', async () => {
    const live = await fetch(gw.httpUrl + '/healthz');
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(gw.httpUrl + '/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });

  it('/readyz answers 503 when the database is down, /healthz still 200, database_up 0', async () => {
    const down = await startTestGateway({ databaseUrl: `postgres://postgres:x@127.0.0.1:${await freePort()}/nowhere` }, gw.db);
    try {
      expect((await fetch(down.httpUrl + '/healthz')).status).toBe(200);
      const ready = await fetch(down.httpUrl + '/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/^database: /) });
      expect((await post(down.httpUrl, protoRequest(miniSpans(2)), 'application/x-protobuf')).status).toBe(503);
      const m = await scrape(down.httpUrl);
      expect(m('runledger_database_up')).toBe(0);
      expect(m('runledger_requests_total', { transport: 'http', signal: 'traces', code: '503' })).toBe(1);
      expect(m('runledger_spans_stored_total')).toBe(0);
      expect(m('runledger_write_seconds_count')).toBe(0);
    } finally {
      await down.stop();
    }
  });

  it('/readyz answers 503 while the gateway drains, on a connection still open', async () => {
    const own = await startTestGateway({ writers: 1, runLockWaitMs: 60_000 }, gw.db);
    const socket = net.connect(Number(new URL(own.httpUrl).port), '127.0.0.1');
    let received = '';
    socket.on('data', (d) => { received += d; });
    const closed = new Promise((r) => socket.once('close', r));
    try {
      const held = miniSpans(2);
      const hold = await holdRun(gw.db.url, 'default', held[0]!.traceId);
      const body = Buffer.from(protoRequest(held));
      socket.write(`POST /v1/traces HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
      while (own.batcher.depth < 2) await new Promise((r) => setTimeout(r, 5));
      const stopped = own.stop(); // SIGTERM does this
      socket.write('GET /readyz HTTP/1.1\r\nHost: gw\r\n\r\n'); // behind the request being drained
      await new Promise((r) => setTimeout(r, 100));
      await hold.release();
      await stopped;
      await closed;
      const statuses = [...received.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => Number(m[1]));
      expect(statuses).toEqual([200, 503]);
      expect(received).toMatch(/"reason":"draining/);
    } finally {
      socket.destroy();
      await own.stop();
    }
  });
});

describe('logs', () => {
  it('are JSON lines with level, time and msg, and respect the level', () => {
    const lines: string[] = [];
    const log = wrap(createPino('info', { write: (s: string) => { lines.push(s); } }));
    log.debug('hidden');
    log.warn('batch failed', { spans: 3 });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'warn', msg: 'batch failed', spans: 3 });
    expect(new Date(entry.time).toISOString()).toBe(entry.time);
  });

  it('go to stderr at RUNLEDGER_LOG_LEVEL', () => {
    const script = `import(${JSON.stringify(join(packageRoot(), 'dist/src/log.js'))}).then(({ createLogger }) => { const l = createLogger(); l.debug('dbg', { a: 1 }); l.info('inf'); })`;
    const run = (level: string) => spawnSync(process.execPath, ['-e', script], { env: { ...process.env, RUNLEDGER_LOG_LEVEL: level }, encoding: 'utf8' });
    const debug = run('debug');
    expect(debug.stdout).toBe('');
    const lines = debug.stderr.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['debug', 'dbg'], ['info', 'inf']]);
    expect(lines[0]).toMatchObject({ a: 1, time: expect.any(String) });
    expect(run('warn').stderr).toBe('');
  });
});
