/** OTLP/gRPC conformance: status codes, partial success, retry info, gzip. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { decodeExportResponse, decodeStatus, miniSpans, protoRequest } from './helpers/otlp.js';
import { EXPORT_PATH } from '../src/receiver/grpc.js';
import { freePort } from '../src/db/embedded.js';
import { hex } from './helpers/spans.js';
import { holdRun } from './helpers/locks.js';
import { grpcRawUpload } from './helpers/hostile.js';

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway(); });
afterAll(async () => { await gw?.close(); });

function call(address: string, body: Uint8Array, options: grpc.ChannelOptions = {}): Promise<{ err: grpc.ServiceError | null; res: Buffer | null }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), options);
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body), (err, res) => {
      client.close();
      resolve({ err: err ?? null, res: res ?? null });
    });
  });
}

const stored = async (traceId: string) =>
  (await gw.db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [traceId])).rows[0].n;

describe('OTLP/gRPC receiver', () => {
  it('stores spans and answers OK with an empty response', async () => {
    const spans = miniSpans(5);
    const { err, res } = await call(gw.grpcAddress, protoRequest(spans));
    expect(err).toBeNull();
    expect(decodeExportResponse(res!).partialSuccess ?? null).toBeNull();
    expect(await stored(spans[0]!.traceId)).toBe(5);
  });

  it('accepts gzip-compressed messages', async () => {
    const spans = miniSpans(3);
    const { err } = await call(gw.grpcAddress, protoRequest(spans), { 'grpc.default_compression_algorithm': 2 });
    expect(err).toBeNull();
    expect(await stored(spans[0]!.traceId)).toBe(3);
  });

  it('answers INVALID_ARGUMENT for a malformed request', async () => {
    const { err } = await call(gw.grpcAddress, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/malformed/);
  });

  it('reports spans with invalid ids through partial_success', async () => {
    const spans = miniSpans(2);
    const body = protoRequest([...spans, { traceId: spans[0]!.traceId, spanId: '0000000000000000', name: 'zero-span-id' }]);
    const { err, res } = await call(gw.grpcAddress, body);
    expect(err).toBeNull();
    const out = decodeExportResponse(res!);
    expect(Number(out.partialSuccess?.rejectedSpans)).toBe(1);
    expect(out.partialSuccess?.errorMessage).toMatch(/1 span/);
    expect(await stored(spans[0]!.traceId)).toBe(2);
  });

  it('answers RESOURCE_EXHAUSTED with RetryInfo when the queue is full', async () => {
    const small = await startTestGateway({ queueMaxSpans: 8, batchMaxSpans: 8, writers: 1, retryAfterSeconds: 6, runLockWaitMs: 60_000 }, gw.db);
    try {
      const held = miniSpans(6);
      const hold = await holdRun(gw.db.url, 'default', held[0]!.traceId);
      const first = call(small.grpcAddress, protoRequest(held));
      while (small.batcher.depth < 6) await new Promise((r) => setTimeout(r, 5));
      const { err } = await call(small.grpcAddress, protoRequest(miniSpans(4)));
      expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      const status = decodeStatus(err?.metadata.get('grpc-status-details-bin')[0] as Buffer);
      expect(status.details[0]?.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
      await hold.release();
      expect((await first).err).toBeNull();
      expect(await stored(held[0]!.traceId)).toBe(6);
    } finally {
      await small.stop();
    }
  });

  it('answers RESOURCE_EXHAUSTED for a message over the size limit', async () => {
    const small = await startTestGateway({ maxBodyBytes: 1024 }, gw.db);
    try {
      const { err } = await call(small.grpcAddress, protoRequest(miniSpans(50)));
      expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      await small.stop();
    }
  });

  it('cuts a message arriving at 1 byte/s with DEADLINE_EXCEEDED soon after the grace, and frees its admission', async () => {
    const small = await startTestGateway({ bodyGraceSeconds: 1, bodyMinBytesPerSecond: 1024 }, gw.db);
    try {
      const r = await grpcRawUpload(small.grpcAddress, { declared: 1000, bytesPerSecond: 1, maxMs: 10_000 });
      expect(r.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(r.details).toMatch(/too slow/);
      expect(r.ms).toBeGreaterThanOrEqual(1000);
      expect(r.ms).toBeLessThan(3000);
      expect(small.pipeline.admission.admittedBytes).toBe(0);
    } finally {
      await small.stop();
    }
  });

  it('refuses a message by its declared length before reading it (limit before buffering)', async () => {
    const small = await startTestGateway({ queueMaxSpans: 4096, batchMaxSpans: 1024 }, gw.db); // 2 MiB a request
    try {
      // Only the 5-byte prefix is sent: the answer cannot have waited for the 48 MB.
      const r = await grpcRawUpload(small.grpcAddress, { declared: 48e6, bytes: 0, maxMs: 10_000 });
      expect(r.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      const over = await grpcRawUpload(small.grpcAddress, { declared: 70 * 1024 * 1024, bytes: 0, maxMs: 10_000 });
      expect(over.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(small.pipeline.admission.admittedBytes).toBe(0);
    } finally {
      await small.stop();
    }
  });

  it('answers UNIMPLEMENTED for other methods and message encodings it does not take', async () => {
    const other = new grpc.Client(gw.grpcAddress, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      other.makeUnaryRequest('/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export', (b: Buffer) => b, (b: Buffer) => b,
        Buffer.from(protoRequest(miniSpans(1))), (e) => { other.close(); resolve(e ?? null); });
    });
    expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
    const br = await grpcRawUpload(gw.grpcAddress, { declared: 10, metadata: { 'grpc-encoding': 'br' }, maxMs: 10_000 });
    expect(br.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('accepts deflate-compressed messages', async () => {
    const spans = miniSpans(2);
    const { err } = await call(gw.grpcAddress, protoRequest(spans), { 'grpc.default_compression_algorithm': 1 });
    expect(err).toBeNull();
    expect(await stored(spans[0]!.traceId)).toBe(2);
  });

  it('answers UNAVAILABLE with RetryInfo when the database is down', async () => {
    const down = await startTestGateway({ databaseUrl: `postgres://postgres:x@127.0.0.1:${await freePort()}/none`, retryAfterSeconds: 3 }, gw.db);
    try {
      const { err } = await call(down.grpcAddress, protoRequest(miniSpans(1, hex(16))));
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      const details = err?.metadata.get('grpc-status-details-bin')[0] as Buffer;
      const status = decodeStatus(details);
      expect(status.code).toBe(14);
      expect(status.details[0]?.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
    } finally {
      await down.stop();
    }
  });
});
