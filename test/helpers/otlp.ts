/** Minimal OTLP requests for receiver tests, in both encodings. */
import { opentelemetry, google } from '../../src/otlp/gen/otlp.js';
import { hex } from './spans.js';

const v1 = opentelemetry.proto.collector.trace.v1;

/** endNs: the end time sent (default 1 ms after the start; 0n sends none) */
export interface MiniSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; endNs?: bigint }

export function miniSpans(n: number, traceId = hex(16)): MiniSpan[] {
  return Array.from({ length: n }, (_, i) => ({ traceId, spanId: hex(8), name: `span-${i}` }));
}

const NOW = 1_700_000_000_000_000_000n;

/** OTLP/JSON request body (hex ids, int64 as strings). */
export function jsonRequest(spans: MiniSpan[], service = 'conformance'): string {
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        scope: { name: 'test' },
        spans: spans.map((s) => ({
          traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: 1,
          startTimeUnixNano: NOW.toString(), endTimeUnixNano: (NOW + 1_000_000n).toString(),
          attributes: [{ key: 'gen_ai.operation.name', value: { stringValue: 'chat' } }],
        })),
      }],
    }],
  });
}

/** OTLP/protobuf request body. */
export function protoRequest(spans: MiniSpan[], service = 'conformance'): Uint8Array {
  const req = v1.ExportTraceServiceRequest.create({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        scope: { name: 'test' },
        spans: spans.map((s) => ({
          traceId: Buffer.from(s.traceId, 'hex'), spanId: Buffer.from(s.spanId, 'hex'),
          parentSpanId: s.parentSpanId ? Buffer.from(s.parentSpanId, 'hex') : undefined, name: s.name, kind: 1,
          startTimeUnixNano: NOW.toString(), endTimeUnixNano: (s.endNs ?? NOW + 1_000_000n).toString(),
        })),
      }],
    }],
  } as never);
  return v1.ExportTraceServiceRequest.encode(req).finish();
}

export function decodeExportResponse(buf: Uint8Array) {
  return v1.ExportTraceServiceResponse.decode(buf);
}

export function decodeStatus(buf: Uint8Array) {
  return google.rpc.Status.decode(buf);
}
