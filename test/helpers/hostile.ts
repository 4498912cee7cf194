/**
 * Hostile clients for fairness and memory tests: slow uploads (declared huge or chunked, a few bytes a
 * second), chunked floods held open, large gRPC messages, and a gRPC message trickled byte by byte. Each
 * resolves with what the gateway answered and when; none retries. Loopback only.
 *
 * No vitest import: the soak scripts (test/soak/) compile and run it on their own.
 */
import net from 'node:net';
import http2 from 'node:http2';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { opentelemetry } from '../../src/otlp/gen/otlp.js';
import { assertLoopback } from './load.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export interface UploadOutcome {
  /** HTTP status of the answer, 0 when the connection ended without one */
  status: number;
  /** ms from the first byte sent to the answer (or to the close) */
  ms: number;
  /** body bytes sent */
  sent: number;
  /** the server closed the connection (after answering or not) */
  closed: boolean;
  /** the answer's Retry-After header */
  retryAfter: string | null;
}

export interface UploadOptions {
  url: string;
  headers?: Record<string, string>;
  /** Content-Length to declare; undefined → Transfer-Encoding: chunked */
  declared?: number;
  /** body bytes to send in all */
  bytes: number;
  /** pace: bytes per second (undefined: as fast as the socket takes them) */
  bytesPerSecond?: number;
  /** once `bytes` are sent, keep the body open (no final chunk / fewer bytes than declared) until maxMs */
  hold?: boolean;
  /** give up (destroy the socket) after this many ms without an answer */
  maxMs: number;
}

/**
 * A POST /v1/traces written on a raw socket, so that its pace and framing are exactly as asked: a 64 MiB
 * Content-Length sent at 1 byte/s, or a chunked body streamed and then held open.
 */
export function rawUpload(opts: UploadOptions): Promise<UploadOutcome> {
  const u = assertLoopback(opts.url);
  const chunked = opts.declared === undefined;
  return new Promise((resolve) => {
    const sock = net.connect(Number(u.port), u.hostname);
    const t0 = performance.now();
    let sent = 0;
    let status = 0;
    let retryAfter: string | null = null;
    let head = '';
    let settled = false;
    let answeredAt = 0;
    const timers: NodeJS.Timeout[] = [];
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      for (const t of timers) { clearTimeout(t); clearInterval(t); }
      sock.destroy();
      resolve({ status, ms: (answeredAt || performance.now()) - t0, sent, closed, retryAfter });
    };
    sock.on('data', (d: Buffer) => {
      if (status) return;
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      answeredAt = performance.now();
      status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      retryAfter = /\r\nretry-after:\s*([^\r]*)/i.exec(head.slice(0, end))?.[1] ?? null;
      // Keep the socket a little longer to see whether the server closes it (seconds: a busy machine).
      timers.push(setTimeout(() => finish(false), 3000));
    });
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    timers.push(setTimeout(() => finish(false), opts.maxMs));
    const lines = [`POST /v1/traces HTTP/1.1`, `host: ${u.host}`, 'content-type: application/x-protobuf',
      chunked ? 'transfer-encoding: chunked' : `content-length: ${opts.declared}`,
      ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
    sock.write(lines.join('\r\n') + '\r\n\r\n');
    const frame = (b: Buffer) => (chunked ? Buffer.concat([Buffer.from(b.length.toString(16) + '\r\n'), b, Buffer.from('\r\n')]) : b);
    if (opts.bytesPerSecond !== undefined) {
      // Paced: a piece every 100 ms (at least one byte, so 1 byte/s sends one byte a second).
      const per = Math.max(1, Math.round(opts.bytesPerSecond / 10));
      const every = Math.max(100, Math.round((1000 * per) / opts.bytesPerSecond));
      const t = setInterval(() => {
        if (settled || status || sent >= opts.bytes) return;
        const n = Math.min(per, opts.bytes - sent);
        sock.write(frame(Buffer.alloc(n, 0x0a)));
        sent += n;
      }, every);
      timers.push(t);
      return;
    }
    const piece = Buffer.alloc(64 * 1024, 0x0a);
    const framed = frame(piece); // built once: the sender stays cheap next to the gateway
    const pump = () => {
      while (!settled && !status && sent < opts.bytes) {
        const n = Math.min(piece.length, opts.bytes - sent);
        sent += n;
        if (!sock.write(n === piece.length ? framed : frame(piece.subarray(0, n)))) return void sock.once('drain', pump);
      }
      if (sent >= opts.bytes && !opts.hold && chunked) sock.write('0\r\n\r\n');
    };
    sock.once('connect', pump);
  });
}

export interface GrpcOutcome {
  /** gRPC status code (0 = OK) */
  code: number;
  details: string;
  ms: number;
}

/** One Export call carrying `bytes` bytes (zeros: not a valid request once read, which does not matter here). */
export function grpcUpload(address: string, bytes: number | Buffer, metadata: Record<string, string> = {}, deadlineMs = 60_000): Promise<GrpcOutcome> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1,
  });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const body = typeof bytes === 'number' ? Buffer.alloc(bytes) : bytes;
  const t0 = performance.now();
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, body, md, { deadline: Date.now() + deadlineMs }, (err) => {
      client.close();
      resolve({ code: err?.code ?? 0, details: err?.details ?? '', ms: performance.now() - t0 });
    });
  });
}

/**
 * An Export call on a raw HTTP/2 stream (cheap for the sender: no copy of the message per call): the 5-byte
 * gRPC prefix declares `declared` bytes, then `bytes` zero bytes follow, paced at `bytesPerSecond` or as
 * fast as flow control lets them; the stream is half-closed once `bytes` ≥ `declared`. Resolves with the
 * grpc-status the server sent (-1 when the stream ended without one).
 */
export function grpcRawUpload(address: string, opts: {
  declared: number; bytes?: number; bytesPerSecond?: number; metadata?: Record<string, string>; maxMs: number;
}): Promise<GrpcOutcome> {
  const t0 = performance.now();
  const total = opts.bytes ?? opts.declared;
  return new Promise((resolve) => {
    const session = http2.connect(`http://${address}`);
    session.on('error', () => {});
    let code = -1;
    let details = '';
    let done = false;
    let sent = 0;
    const timers: NodeJS.Timeout[] = [];
    const finish = () => {
      if (done) return;
      done = true;
      for (const t of timers) { clearTimeout(t); clearInterval(t); }
      session.destroy();
      resolve({ code, details, ms: performance.now() - t0 });
    };
    const stream = session.request({
      ':method': 'POST', ':path': EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers', ...opts.metadata,
    });
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) {
        code = Number(h['grpc-status']);
        details = decodeURIComponent(String(h['grpc-message'] ?? ''));
        finish();
      }
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('close', finish);
    stream.on('error', () => {});
    stream.on('data', () => {});
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(opts.declared, 1);
    stream.write(prefix);
    const endIfDone = () => { if (sent >= total && total >= opts.declared) stream.end(); };
    if (opts.bytesPerSecond !== undefined) {
      const per = Math.max(1, Math.round(opts.bytesPerSecond / 10));
      const every = Math.max(100, Math.round((1000 * per) / opts.bytesPerSecond));
      timers.push(setInterval(() => {
        if (done || stream.destroyed || sent >= total) return;
        const n = Math.min(per, total - sent);
        stream.write(ZEROS.subarray(0, n));
        sent += n;
        endIfDone();
      }, every));
    } else {
      const pump = () => {
        while (!done && !stream.destroyed && sent < total) {
          const n = Math.min(ZEROS.length, total - sent);
          sent += n;
          if (!stream.write(ZEROS.subarray(0, n))) return void stream.once('drain', pump);
        }
        endIfDone();
      };
      pump();
    }
    timers.push(setTimeout(finish, opts.maxMs));
  });
}

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Valid OTLP requests built to cost the gateway the most per byte, about `bytes` long each, with fresh ids:
 * 'fat' is one span carrying one huge attribute (its rows as large as the body: the queue's bytes), 'tiny'
 * one span with as many small attributes as fit (each ~12 bytes on the wire, an object and a jsonb entry
 * once decoded: the decoder's amplification).
 */
export function costlyRequest(kind: 'fat' | 'tiny', bytes: number): () => Uint8Array {
  const attributes = kind === 'fat'
    ? [{ key: 'blob', value: { stringValue: 'x'.repeat(bytes - 200) } }]
    : Array.from({ length: Math.floor((bytes - 200) / 14) }, (_, i) => ({ key: i.toString(36).padStart(4, '0'), value: { intValue: i % 100 } }));
  const now = BigInt(Date.now()) * 1_000_000n;
  const traceId = randomBytes(16);
  const spanId = randomBytes(8);
  // Encoded once (130,000 attributes take a while); each copy gets fresh ids in place.
  const template = Buffer.from(opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.encode({
    resourceSpans: [{ scopeSpans: [{ spans: [{
      traceId, spanId, name: `${kind} span`, kind: 1,
      startTimeUnixNano: now.toString(), endTimeUnixNano: (now + 1_000_000n).toString(), attributes,
    }] }] }],
  } as never).finish());
  const at = (id: Buffer) => template.indexOf(id);
  const traceAt = at(traceId);
  const spanAt = at(spanId);
  return () => {
    const body = Buffer.from(template);
    randomBytes(16).copy(body, traceAt);
    randomBytes(8).copy(body, spanAt);
    return body;
  };
}

/** Percentile (0–100) of a list of numbers, NaN when empty. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
