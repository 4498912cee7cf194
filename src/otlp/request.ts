/**
 * Building binary OTLP requests (tests, benchmarks, load generators): encode the generated
 * protobuf object model, or convert an OTLP/JSON document into it first.
 */
import protobuf from 'protobufjs/minimal.js';
import { opentelemetry } from './gen/otlp.js';
import { SPAN_KINDS, STATUS_CODES } from './types.js';

export type IExportTraceServiceRequest = opentelemetry.proto.collector.trace.v1.IExportTraceServiceRequest;

const { ExportTraceServiceRequest } = opentelemetry.proto.collector.trace.v1;

/** Encodes a request given as plain objects shaped like the generated interfaces. */
export function encodeTraceRequestProto(request: IExportTraceServiceRequest): Uint8Array {
  return ExportTraceServiceRequest.encode(request).finish();
}

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
const UNSIGNED_64 = new Set(['startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano', 'observedTimeUnixNano']);
const SIGNED_64 = new Set(['intValue']);
const ENUMS: Record<string, { prefix: string; names: readonly string[] }> = {
  kind: { prefix: 'SPAN_KIND_', names: SPAN_KINDS },
  code: { prefix: 'STATUS_CODE_', names: STATUS_CODES },
};

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function toLong(v: unknown, unsigned: boolean): unknown {
  if (typeof v !== 'string' && typeof v !== 'number') return v;
  return protobuf.util.LongBits.from(typeof v === 'number' ? v : v.trim()).toLong(unsigned);
}

function convertField(key: string, v: unknown): unknown {
  if (ID_FIELDS.has(key)) return typeof v === 'string' ? Buffer.from(v, 'hex') : v;
  if (UNSIGNED_64.has(key)) return toLong(v, true);
  if (SIGNED_64.has(key)) return toLong(v, false);
  if (key === 'bytesValue') return typeof v === 'string' ? Buffer.from(v, 'base64') : v;
  if (key === 'doubleValue') return typeof v === 'string' ? Number(v) : v;
  const e = ENUMS[key];
  if (e && typeof v === 'string') return Math.max(0, e.names.indexOf(v.replace(e.prefix, '')));
  return convert(v);
}

function convert(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(convert);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const key = camel(k);
    out[key] = convertField(key, val);
  }
  return out;
}

/**
 * Converts a parsed OTLP/JSON request into the protobuf object model: hex ids → bytes, int64
 * strings/numbers → Long, base64 → bytes, enum names → numbers, snake_case → camelCase.
 * Unknown fields are carried along and ignored by the encoder. No validation (test/bench helper).
 */
export function otlpJsonToProtoRequest(json: unknown): IExportTraceServiceRequest {
  return convert(json) as IExportTraceServiceRequest;
}
