/**
 * The decoded span model shared by every stage after `otlp/`.
 * Both transports (HTTP protobuf/JSON, gRPC) and the in-process exporter produce it.
 */

/** An OTLP AnyValue as a plain JS value. int64 → number when safe, else decimal string; bytes → base64 string. */
export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

export interface SpanEvent {
  name: string;
  /** microseconds since the Unix epoch (exact for any realistic time) */
  timeUs: number;
  attributes: Attributes;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState?: string;
  attributes: Attributes;
}

/** Span kinds as stored: the OTLP enum name without the SPAN_KIND_ prefix. */
export const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
export const STATUS_CODES = ['UNSET', 'OK', 'ERROR'] as const;

export interface SpanRecord {
  /** 32 lowercase hex chars, never all zero */
  traceId: string;
  /** 16 lowercase hex chars, never all zero */
  spanId: string;
  /** 16 lowercase hex chars, or null for a root span (empty / all-zero parent) */
  parentSpanId: string | null;
  name: string;
  /** 0..5, index into SPAN_KINDS */
  kind: number;
  /** microseconds since the Unix epoch */
  startUs: number;
  endUs: number;
  /** 0 unset, 1 ok, 2 error */
  statusCode: number;
  statusMessage: string;
  attributes: Attributes;
  events: SpanEvent[];
  links: SpanLink[];
  /** resource attributes; the same object is shared by all spans of one ResourceSpans */
  resource: Attributes;
  serviceName: string | null;
  scopeName: string | null;
  scopeVersion: string | null;
  /** tenant the span belongs to; set by the consumer (from the API key), 'default' otherwise */
  tenantId: string;
}

export interface DecodeResult {
  spans: SpanRecord[];
  /** spans dropped individually (invalid ids, ...) → partial_success.rejected_spans */
  rejected: number;
  /** first few human-readable reasons for rejected spans */
  errors: string[];
}

/** A log record with trace context (records without a trace id are counted, not kept). */
export interface LogRecordData {
  /** 32 lowercase hex chars, never all zero */
  traceId: string;
  /** 16 lowercase hex chars, or null (no span id, or all zero) */
  spanId: string | null;
  /** microseconds since the Unix epoch: time_unix_nano, else observed_time_unix_nano */
  timeUs: number;
  /** observed_time_unix_nano in microseconds (0: unknown) */
  observedUs: number;
  /** 0..24 (SeverityNumber) */
  severityNumber: number;
  severityText: string;
  /** event_name, else the `event.name` attribute (older SDKs), else null */
  eventName: string | null;
  body: AttrValue;
  attributes: Attributes;
  /** shared by all records of one ResourceLogs */
  resource: Attributes;
  serviceName: string | null;
  scopeName: string | null;
  scopeVersion: string | null;
  tenantId: string;
}

export interface LogsDecodeResult {
  records: LogRecordData[];
  /** records dropped individually (malformed ids, no time) → partial_success.rejected_log_records */
  rejected: number;
  /** first few human-readable reasons for rejected records */
  errors: string[];
  /** records without trace context: acknowledged, not stored (counted in /metrics) */
  untraced: number;
}
