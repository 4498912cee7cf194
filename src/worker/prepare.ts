/** decode → map → encode for one request body: the CPU-heavy part of ingestion, thread-agnostic. */
import { decodeTraceRequestProto } from '../otlp/decode-proto.js';
import { decodeTraceRequestJson } from '../otlp/decode-json.js';
import type { DecodeResult } from '../otlp/types.js';
import { mapSpans, type SpanMapper } from '../mapping/index.js';
import { prepareSpans, type PreparedSpan } from '../sink/prepare.js';
import { countProtoSpans } from '../otlp/span-count.js';
import { GatewayError } from '../errors.js';
import { checkDecodeCost } from '../otlp/decode-cost.js';
import { spanTimes } from '../otlp/values.js';
import { MAX_ERRORS } from '../constants.js';

export type Encoding = 'proto' | 'json';

export interface PreparedRequest {
  items: PreparedSpan[];
  /** the buffers the items' rows live in (transferred, not copied, between threads) */
  buffers: ArrayBuffer[];
  /** spans rejected while decoding (invalid ids, ...) */
  rejected: number;
  errors: string[];
  /** spans stored ending at their start (otlp/values.ts spanTimes), and the first few of them with why */
  adjusted: number;
  warnings: string[];
}

export function prepareDecoded(decoded: DecodeResult, mapper: SpanMapper): PreparedRequest {
  const out: PreparedRequest = { items: [], buffers: [], rejected: decoded.rejected, errors: [...decoded.errors], adjusted: 0, warnings: [] };
  const kept = decoded.spans.filter((s) => {
    const times = spanTimes(s.startUs, s.endUs);
    if (times.kind === 'ok') return true;
    const which = `span ${s.spanId} of trace ${s.traceId}`;
    if (times.kind === 'reject') {
      out.rejected++;
      if (out.errors.length < MAX_ERRORS) out.errors.push(`${which}: ${times.reason}`);
      return false;
    }
    s.endUs = s.startUs;
    out.adjusted++;
    if (out.warnings.length < MAX_ERRORS) out.warnings.push(`${which}: ${times.warning}`);
    return true;
  });
  ({ items: out.items, buffers: out.buffers } = prepareSpans(mapSpans(kept, mapper)));
  return out;
}

/**
 * Throws OtlpDecodeError on a malformed body, and payload_too_large when a protobuf body holds more
 * than maxSpans spans, or when decoding it would take more than maxDecodeBytes (both read from the
 * body before decoding: millions of tiny spans, or of tiny attributes or events, would expand far beyond
 * the body size in memory).
 */
export function prepareBody(
  body: Uint8Array, encoding: Encoding, tenantId: string, mapper: SpanMapper, maxSpans = Infinity, maxDecodeBytes = Infinity,
): PreparedRequest {
  if (encoding === 'proto' && body.length > maxSpans) { // a span takes at least 1 byte on the wire
    const n = countProtoSpans(body);
    if (n > maxSpans) {
      throw new GatewayError('payload_too_large', `request holds ${n} spans, more than the ${maxSpans} one request may carry; send smaller batches`);
    }
  }
  checkDecodeCost(body, encoding, 'traces', maxDecodeBytes);
  const decoded = encoding === 'proto' ? decodeTraceRequestProto(body, tenantId) : decodeTraceRequestJson(body, tenantId);
  return prepareDecoded(decoded, mapper);
}
