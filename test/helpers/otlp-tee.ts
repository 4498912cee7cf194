/**
 * A recording OTLP/HTTP proxy for the client end-to-end tests: every export request a real SDK sends is kept
 * (path, content type, body) with the answer it got, and forwarded to the gateway — or, with no upstream,
 * answered 200 with an empty response (fixture capture). The recorded answers show whether anything was
 * refused (status, partial_success) without relying on the SDK's error logging, which swallows failures.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { opentelemetry } from '../../src/otlp/gen/otlp.js';

export interface TeeRecord {
  path: string;
  contentType: string;
  body: Buffer;
  status: number;
  response: Buffer;
}

export interface OtlpTee {
  /** http://127.0.0.1:PORT — an OTEL_EXPORTER_OTLP_ENDPOINT */
  url: string;
  records: TeeRecord[];
  close(): Promise<void>;
}

export async function startOtlpTee(upstream: string | null): Promise<OtlpTee> {
  const records: TeeRecord[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const path = req.url ?? '';
      const contentType = String(req.headers['content-type'] ?? '');
      const done = (status: number, headers: http.OutgoingHttpHeaders, response: Buffer) => {
        records.push({ path, contentType, body, status, response });
        res.writeHead(status, headers).end(response);
      };
      if (upstream === null) {
        const json = contentType.includes('json');
        done(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }, Buffer.from(json ? '{}' : ''));
        return;
      }
      const { 'transfer-encoding': _t, connection: _c, ...h } = req.headers;
      const headers = { ...h, host: new URL(upstream).host, 'content-length': String(body.length) };
      const fwd = http.request(upstream + path, { method: req.method, headers }, (up) => {
        const out: Buffer[] = [];
        up.on('data', (c: Buffer) => out.push(c));
        up.on('end', () => {
          const { 'transfer-encoding': _te, connection: _c, ...h } = up.headers;
          done(up.statusCode ?? 502, h, Buffer.concat(out));
        });
      });
      fwd.on('error', (e) => done(502, { 'content-type': 'text/plain' }, Buffer.from(String(e))));
      fwd.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    records,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    }),
  };
}

/** Answers that refused something: a non-200 status, or a partial_success with rejected items or a message. */
export function refusals(records: TeeRecord[]): { path: string; status: number; response: string }[] {
  return records.filter((r) => r.status !== 200 || partialSuccess(r) !== null)
    .map((r) => ({ path: r.path, status: r.status, response: r.response.toString('utf8').slice(0, 300) }));
}

/**
 * The partial_success of a 200 answer, or null when it is empty. Protobuf answers are decoded as an
 * ExportTraceServiceResponse: the logs and metrics responses have the same field numbers (1: partial_success
 * { 1: rejected count, 2: error_message }).
 */
function partialSuccess(r: TeeRecord): unknown {
  if (r.status !== 200 || r.response.length === 0) return null;
  let ps: { rejectedSpans?: unknown; rejectedLogRecords?: unknown; rejectedDataPoints?: unknown; errorMessage?: string } | null | undefined;
  if (r.contentType.includes('json')) {
    const o = JSON.parse(r.response.toString('utf8')) as { partialSuccess?: typeof ps };
    ps = o.partialSuccess;
  } else {
    ps = opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse.decode(r.response).partialSuccess;
  }
  if (!ps) return null;
  const n = Number(ps.rejectedSpans ?? ps.rejectedLogRecords ?? ps.rejectedDataPoints ?? 0);
  return n > 0 || (ps.errorMessage ?? '') !== '' ? ps : null;
}

// ---- OTLP/JSON of a recorded request (fixtures) -------------------------------------------------------------

const HEX_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** A decoded protobuf message as OTLP/JSON: Long → decimal string, ids → hex, other bytes → base64. */
function plain(v: unknown, key = ''): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString(HEX_KEYS.has(key) ? 'hex' : 'base64');
  if (Array.isArray(v)) return v.map((x) => plain(x));
  if (v === null || typeof v !== 'object') return v;
  if ('low' in v && 'high' in v && 'unsigned' in v) return String(v);
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) out[k] = plain(val, k);
  return out;
}

/**
 * The request as OTLP/JSON (hex ids, int64 as decimal strings, enums as numbers): JSON bodies as sent,
 * protobuf trace requests decoded with the vendored trace protos. Other protobuf bodies (logs, metrics:
 * their protos are not vendored here) are returned as `{ protobufBase64 }`.
 */
export function requestAsOtlpJson(r: TeeRecord): unknown {
  if (r.contentType.includes('json')) return JSON.parse(r.body.toString('utf8'));
  if (!r.path.endsWith('/v1/traces')) return { protobufBase64: r.body.toString('base64') };
  const T = opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
  return plain(T.decode(r.body));
}
