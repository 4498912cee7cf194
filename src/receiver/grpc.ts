/**
 * OTLP/gRPC receiver: the Export methods of opentelemetry.proto.collector.{trace,logs,metrics}.v1's
 * TraceService, LogsService and MetricsService, served on node:http2.
 * Not @grpc/grpc-js's server: it buffers a whole message (up to its max_receive_message_length) before any
 * handler or interceptor sees a byte, so 16 concurrent 48 MB messages took ~770 MB before one could be
 * refused. Here a message is admitted once its 5-byte prefix is in, each DATA chunk is counted as it
 * arrives (src/sink/admission.ts), and a message arriving too slowly is cut with DEADLINE_EXCEEDED.
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { GatewayError } from '../errors.js';
import { defaults } from '../config.js';
import type { Pipeline } from '../pipeline.js';
import type { Admission } from '../sink/admission.js';
import { encodeExportResponse, encodeRpcStatus, type OtlpSignal } from '../otlp/response.js';
import { decompress } from './decompress.js';
import { tooLarge, watchRate, type BodyLimits } from './body.js';
import { stillTenant } from '../auth.js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
export const LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
export const METRICS_EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
/** The methods served and the signal of each. */
const METHODS: Record<string, OtlpSignal> = { [EXPORT_PATH]: 'traces', [LOGS_EXPORT_PATH]: 'logs', [METRICS_EXPORT_PATH]: 'metrics' };

/**
 * gRPC message encodings taken (grpc-encoding); gRPC's "deflate" is zlib-wrapped. zstd and snappy are what the
 * Collector's otlp exporter sends with `compression: zstd` / `snappy` (go-grpc-compression: zstd with 512 KiB
 * windows, within decompress.ts's bounds; snappy in the framing format).
 */
const ACCEPT_ENCODING = 'identity,gzip,deflate,zstd,snappy';

export interface GrpcReceiverOptions {
  pipeline: Pipeline;
  maxBodyBytes: number;
  /** a message must average this many bytes/s once bodyGraceSeconds are over (DEADLINE_EXCEEDED otherwise); 0: no check */
  bodyMinBytesPerSecond?: number;
  bodyGraceSeconds?: number;
  /** who a message counts against in the admission's shares (default: the tenant; see the HTTP receiver) */
  holder?: (tenantId: string, connection: string) => string;
  /** resolves the tenant from call metadata (API keys); null → UNAUTHENTICATED */
  tenant: (md: grpc.Metadata) => string | null;
  onError?: (e: unknown) => void;
  /** called once per Export call with its status code name (OK, UNAVAILABLE, ...), duration and signal (metrics) */
  onRequest?: (code: string, seconds: number, signal: OtlpSignal) => void;
  /** calls in progress per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS) */
  maxConcurrentStreams?: number;
}

export interface GrpcServer {
  /** listen; resolves with the bound port */
  bind(host: string, port: number): Promise<number>;
  /** take no new connections or calls (GOAWAY), let the calls in progress finish, then call back */
  tryShutdown(callback: (err?: Error) => void): void;
  forceShutdown(): void;
}

interface Status { code: number; details: string; metadata: Record<string, string> }

function statusOf(e: unknown): Status {
  const err = e instanceof GatewayError ? e : new GatewayError('internal', (e as Error)?.message ?? String(e));
  const metadata: Record<string, string> = {};
  if (err.retryable && err.retryAfterSeconds !== undefined) {
    // google.rpc.RetryInfo in the status details, as the OTLP spec asks for throttling.
    const status = encodeRpcStatus(err.grpcCode, err.message, 'proto', err.retryAfterSeconds) as Uint8Array;
    metadata['grpc-status-details-bin'] = Buffer.from(status).toString('base64');
  }
  return { code: err.grpcCode, details: err.message, metadata };
}

/** One length-prefixed gRPC message (uncompressed). */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

export function createGrpcServer(opts: GrpcReceiverOptions): GrpcServer {
  const limits: BodyLimits = {
    maxBodyBytes: opts.maxBodyBytes,
    graceSeconds: opts.bodyGraceSeconds ?? defaults.bodyGraceSeconds,
    minBytesPerSecond: opts.bodyMinBytesPerSecond ?? defaults.bodyMinBytesPerSecond,
  };
  const server = http2.createServer({ settings: { maxConcurrentStreams: opts.maxConcurrentStreams ?? 100 } });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => {}); // a broken connection fails its own calls only
  });
  server.on('stream', (stream, headers) => serveCall(stream, headers, opts, limits));
  server.on('sessionError', () => {});

  return {
    bind: (host, port) => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    }),
    tryShutdown(callback) {
      if (!server.listening) return void process.nextTick(callback);
      server.close(() => callback());
      for (const s of sessions) s.close(); // GOAWAY: calls in progress finish, no new ones
    },
    forceShutdown() {
      for (const s of sessions) s.destroy();
      server.close();
    },
  };
}

export function bindGrpc(server: GrpcServer, host: string, port: number): Promise<number> {
  return server.bind(host, port);
}

/** One Export call (of the signal its path names): admission, the message read and counted chunk by chunk, decode, store, answer. */
function serveCall(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, opts: GrpcReceiverOptions, limits: BodyLimits): void {
  const t0 = performance.now();
  const signal: OtlpSignal = METHODS[String(headers[':path'])] ?? 'traces';
  stream.on('error', () => {});
  let answered = false;
  let admission: Admission | null = null;
  let decoding = false; // the message is with the pipeline, which releases the admission when done with it
  let stopWatch = () => {};
  const finish = (code: number) => {
    answered = true;
    stopWatch();
    if (!decoding) admission?.release();
    opts.onRequest?.(grpc.status[code] ?? String(code), (performance.now() - t0) / 1000, signal);
  };
  const answer = (e: unknown, response?: Uint8Array) => {
    if (answered) return;
    if (e && !(e instanceof GatewayError)) opts.onError?.(e);
    const s: Status = e ? statusOf(e) : { code: grpc.status.OK, details: '', metadata: {} };
    finish(s.code);
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    const head = { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-accept-encoding': ACCEPT_ENCODING };
    if (response) {
      stream.respond(head, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
      stream.end(frame(response));
      return;
    }
    stream.respond({ ...head, 'grpc-status': String(s.code), 'grpc-message': encodeURI(s.details), ...s.metadata }, { endStream: true });
    // Answered before the whole request arrived: ask the client to stop sending (RST_STREAM NO_ERROR, RFC 9113 §8.1).
    if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  };
  stream.once('close', () => { if (!answered) finish(grpc.status.CANCELLED); });

  if (headers[':method'] !== 'POST' || !String(headers['content-type'] ?? '').startsWith('application/grpc')) {
    finish(grpc.status.UNIMPLEMENTED);
    stream.respond({ ':status': 415 }, { endStream: true });
    return void stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }
  if (METHODS[String(headers[':path'])] === undefined) {
    return answer(new GatewayError('method_not_allowed',
      `unknown method ${headers[':path']}; this server serves ${Object.keys(METHODS).join(', ')}`));
  }
  const encoding = String(headers['grpc-encoding'] ?? 'identity').trim().toLowerCase();
  if (!ACCEPT_ENCODING.split(',').includes(encoding)) {
    return answer(new GatewayError('unsupported_media_type', `unsupported grpc-encoding "${encoding}"; supported: ${ACCEPT_ENCODING}`));
  }
  let tenantId: string | null;
  try {
    tenantId = opts.tenant(grpc.Metadata.fromHttp2Headers(headers)); // API keys not loaded yet: UNAVAILABLE
  } catch (e) {
    return answer(e);
  }
  if (tenantId === null) return answer(new GatewayError('unauthenticated', 'missing or invalid API key'));
  const tenant = tenantId;
  const socket = stream.session?.socket;
  const holder = opts.holder?.(tenant, `${socket?.remoteAddress}:${socket?.remotePort}`) ?? tenant;

  const prefix = Buffer.alloc(5);
  let prefixGot = 0;
  let message: Buffer | null = null;
  let got = 0; // message bytes
  let received = 0; // all bytes, for the rate
  stopWatch = watchRate(limits, () => received, (e) => answer(e));
  stream.on('data', (d: Buffer) => {
    if (answered) return;
    received += d.length;
    let at = 0;
    if (prefixGot < 5) {
      at = Math.min(5 - prefixGot, d.length);
      d.copy(prefix, prefixGot, 0, at);
      prefixGot += at;
      if (prefixGot < 5) return;
      // The declared length refuses early (413-like, or 429 when it does not fit now); it reserves nothing.
      const declared = prefix.readUInt32BE(1);
      try {
        if (declared > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes, 'gRPC message');
        admission = opts.pipeline.admit(holder, declared);
      } catch (e) {
        return answer(e);
      }
      message = Buffer.allocUnsafe(declared);
    }
    const n = d.length - at;
    if (n === 0) return;
    if (got + n > message!.length) return answer(new GatewayError('invalid_argument', 'more than one message in a unary call'));
    try {
      admission!.grow(n);
    } catch (e) {
      return answer(e);
    }
    d.copy(message!, got, at);
    got += n;
  });
  stream.once('end', () => {
    if (answered) return;
    stopWatch();
    if (prefixGot < 5 || got < message!.length) {
      return answer(new GatewayError('invalid_argument', prefixGot === 0 ? 'no request message' : `request message ended after ${got} of its ${message?.length ?? '?'} bytes`));
    }
    const compressed = prefix[0] === 1;
    if (compressed && encoding === 'identity') return answer(new GatewayError('invalid_argument', 'compressed message without grpc-encoding'));
    const admitted = admission!;
    const body = message!;
    message = null;
    decoding = true;
    (compressed ? decompress(body, encoding, limits.maxBodyBytes, (k) => admitted.grow(k)) : Promise.resolve(body))
      .then((b) => {
        stillTenant(opts.tenant(grpc.Metadata.fromHttp2Headers(headers)), tenant); // the key, again (auth.ts)
        return opts.pipeline.export(signal, b, 'proto', tenant, 'grpc', admitted);
      })
      .finally(() => admitted.release())
      .then((out) => answer(null, encodeExportResponse(out.rejected, out.message, 'proto', signal) as Uint8Array), (e) => answer(e));
  });
}
