/**
 * OTLP/HTTP receiver (Hono): POST /v1/traces, /v1/logs and /v1/metrics with application/x-protobuf or
 * application/json bodies, each read the same way into the pipeline's export of its signal. The response is
 * encoded like the request; errors carry a google.rpc.Status body.
 */
import { Hono, type Context } from 'hono';
import { GatewayError } from '../errors.js';
import { defaults } from '../config.js';
import type { Encoding, ExportOutcome, Pipeline } from '../pipeline.js';
import type { Admission } from '../sink/admission.js';
import { encodeExportResponse, encodeRpcStatus, type OtlpSignal } from '../otlp/response.js';
import { decompress } from './decompress.js';
import { tooLarge, type BodyLimits, type BodyProgress } from './body.js';
import { stillTenant } from '../auth.js';
import { incomingOf, readBody, settleBody } from './http-body.js';

export interface HttpReceiverOptions {
  pipeline: Pipeline;
  maxBodyBytes: number;
  /** a body must average this many bytes/s once bodyGraceSeconds are over (503 otherwise); 0: no check */
  bodyMinBytesPerSecond?: number;
  bodyGraceSeconds?: number;
  /**
   * who a request's body counts against in the admission's shares: the tenant by default; the gateway
   * passes the connection while API keys are off (every request has the same tenant then)
   */
  holder?: (tenantId: string, connection: string) => string;
  /** resolves the tenant of a request (API keys); null → 401 */
  tenant: (c: Context) => string | null;
  /** extra routes (health, metrics) mounted beside the OTLP paths */
  extra?: (app: Hono) => void;
  onError?: (e: unknown) => void;
  /** called once per OTLP request with its HTTP status, duration and signal (metrics) */
  onRequest?: (status: number, seconds: number, signal: OtlpSignal) => void;
}

/** The OTLP/HTTP paths (the spec's defaults) and their signals. */
export const OTLP_PATHS: Record<string, OtlpSignal> = { '/v1/traces': 'traces', '/v1/logs': 'logs', '/v1/metrics': 'metrics' };

const CONTENT_TYPES: Record<string, Encoding> = {
  'application/x-protobuf': 'proto',
  'application/protobuf': 'proto',
  'application/json': 'json',
};

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The encoding of a request's answer: its own when it names one we take, else JSON. */
function requestEncoding(c: Context): Encoding {
  return CONTENT_TYPES[mediaType(c.req.header('content-type'))] ?? 'json';
}

function contentTypeOf(enc: Encoding): string {
  return enc === 'proto' ? 'application/x-protobuf' : 'application/json';
}

export function errorResponse(c: Context, e: unknown, enc: Encoding, close = false): Response {
  const err = e instanceof GatewayError ? e : new GatewayError('internal', (e as Error)?.message ?? String(e));
  const headers: Record<string, string> = { 'content-type': contentTypeOf(enc) };
  if (err.retryable && err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  if (err.kind === 'method_not_allowed') headers['allow'] = 'POST';
  if (err.kind === 'unauthenticated') headers['www-authenticate'] = 'Bearer';
  if (close || err.kind === 'deadline_exceeded') headers['connection'] = 'close'; // the rest of the body is not awaited
  const body = encodeRpcStatus(err.grpcCode, err.message, enc, err.retryable ? err.retryAfterSeconds : undefined);
  return c.body(body as never, err.httpStatus as never, headers);
}

export function createHttpApp(opts: HttpReceiverOptions): Hono {
  const app = new Hono();
  const limits: BodyLimits = {
    maxBodyBytes: opts.maxBodyBytes,
    graceSeconds: opts.bodyGraceSeconds ?? defaults.bodyGraceSeconds,
    minBytesPerSecond: opts.bodyMinBytesPerSecond ?? defaults.bodyMinBytesPerSecond,
  };

  for (const [path, signal] of Object.entries(OTLP_PATHS)) {
    if (opts.onRequest) {
      const onRequest = opts.onRequest;
      app.use(path, async (c, next) => {
        const t0 = performance.now();
        await next();
        onRequest(c.res.status, (performance.now() - t0) / 1000, signal);
      });
    }
    app.post(path, (c) => exportRequest(c, signal, opts, limits));
    app.all(path, (c) => errorResponse(c, new GatewayError('method_not_allowed', `method ${c.req.method} not allowed on ${path}; use POST`), requestEncoding(c)));
  }

  opts.extra?.(app);

  // In the request's encoding too: the Collector's otlphttp exporter decodes every error body as protobuf, and
  // a JSON body to its protobuf request lost the message naming the wrong path.
  app.notFound((c) => errorResponse(c, new GatewayError('not_found', `no route for ${c.req.method} ${c.req.path}`), requestEncoding(c)));
  return app;
}

/** One export request of `signal`: admitted, its body read and counted, decompressed, exported, answered. */
async function exportRequest(c: Context, signal: OtlpSignal, opts: HttpReceiverOptions, limits: BodyLimits): Promise<Response> {
  const enc = CONTENT_TYPES[mediaType(c.req.header('content-type'))];
  if (!enc) {
    return errorResponse(c, new GatewayError('unsupported_media_type',
      `unsupported Content-Type "${c.req.header('content-type') ?? ''}"; use application/x-protobuf or application/json`), 'json');
  }
  // Admitted before the body is read; its bytes are counted as they arrive (src/sink/admission.ts).
  // A declared length only refuses early: over the limit (413), or not fitting in what is free now (429).
  const declared = Number(c.req.header('content-length') ?? NaN);
  const progress: BodyProgress = { received: 0 };
  try {
    const tenantId = opts.tenant(c);
    if (tenantId === null) throw new GatewayError('unauthenticated', 'missing or invalid API key');
    if (declared > opts.maxBodyBytes) throw tooLarge(opts.maxBodyBytes);
    const socket = incomingOf(c)?.socket;
    const holder = opts.holder?.(tenantId, `${socket?.remoteAddress}:${socket?.remotePort}`) ?? tenantId;
    const admission = opts.pipeline.admit(holder, Number.isSafeInteger(declared) ? declared : undefined);
    let out: ExportOutcome;
    try {
      const raw = await readBody(c, admission, limits, declared, progress);
      const body = await decompress(raw, c.req.header('content-encoding'), opts.maxBodyBytes, (n) => admission.grow(n));
      stillTenant(opts.tenant(c), tenantId);
      out = await opts.pipeline.export(signal, body, enc, tenantId, 'http', admission);
    } finally {
      admission.release();
    }
    const resBody = encodeExportResponse(out.rejected, out.message, enc, signal);
    return c.body(resBody as never, 200, { 'content-type': contentTypeOf(enc) });
  } catch (e) {
    if (!(e instanceof GatewayError)) opts.onError?.(e);
    const { error, close } = await settleBody(c, e, limits, declared, progress);
    return errorResponse(c, error, enc, close);
  }
}
