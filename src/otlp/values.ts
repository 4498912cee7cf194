/**
 * Conversion rules shared by the OTLP/protobuf and OTLP/JSON decoders, so both produce identical
 * SpanRecords: NUL sanitising, id validation, int64/double/time conversion, attribute maps,
 * enum ranges and the collection of rejected spans.
 *
 * AnyValue precedence (when a malformed AnyValue sets several members) is the field order of
 * common.proto in both decoders: string, bool, int, double, array, kvlist, bytes.
 */
import type { AttrValue, Attributes, DecodeResult, SpanRecord } from './types.js';
import { MAX_ERRORS } from '../constants.js';

/** Containers nested deeper than this inside one attribute value are replaced by DEPTH_LIMIT_VALUE. */
export const MAX_ATTR_DEPTH = 32;
export const DEPTH_LIMIT_VALUE = '[depth limit]';
export const TRACE_ID_BYTES = 16;
export const SPAN_ID_BYTES = 8;

const ZERO_TRACE_ID = '0'.repeat(TRACE_ID_BYTES * 2);
const ZERO_SPAN_ID = '0'.repeat(SPAN_ID_BYTES * 2);
const TWO_POW_32 = 4294967296;

/** String.prototype.isWellFormed / toWellFormed (ES2024; Node >= 20). */
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };

/**
 * PostgreSQL text/jsonb reject NUL, and jsonb rejects the `\udXXX` escapes JSON.stringify writes for lone
 * surrogates (OTLP/JSON `"\ud800"` decodes to one): replace both with U+FFFD. Cheap when absent, the
 * usual case (isWellFormed returns at once for one-byte strings).
 */
export function sanitize(s: string): string {
  if (s.indexOf('\u0000') !== -1) s = s.replaceAll('\u0000', '\uFFFD');
  return (s as unknown as WellFormed).isWellFormed() ? s : (s as unknown as WellFormed).toWellFormed();
}

/** Scope name/version: empty → null. */
export function optionalString(s: string | null | undefined): string | null {
  return s ? sanitize(s) : null;
}

/** Sets an attribute (sanitised key, last key wins); `__proto__` becomes an ordinary own property. */
export function setAttr(target: Attributes, key: string, value: AttrValue): void {
  const k = sanitize(key);
  if (k === '__proto__') {
    Object.defineProperty(target, k, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[k] = value;
  }
}

/** The resource attribute service.name when it is a string. */
export function serviceNameOf(resource: Attributes): string | null {
  const v = Object.prototype.hasOwnProperty.call(resource, 'service.name') ? resource['service.name'] : undefined;
  return typeof v === 'string' ? v : null;
}

/** An enum value as stored: known values 0..count-1, anything else 0. */
export function enumIndex(n: number, count: number): number {
  return Number.isInteger(n) && n >= 0 && n < count ? n : 0;
}

/** double → number; NaN/±Infinity → "NaN"/"Infinity"/"-Infinity" (JSON has no such numbers); -0 → 0. */
export function doubleValue(n: number): AttrValue {
  if (Number.isFinite(n)) return n === 0 ? 0 : n;
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

/** 64-bit halves as decoded by protobufjs (Long: low/high are int32). */
export interface Int64Parts {
  low: number;
  high: number;
}

/** Signed int64 → number when Number.isSafeInteger, else its exact decimal string. */
export function int64Value(v: number | Int64Parts): AttrValue {
  if (typeof v === 'number') return v === 0 ? 0 : v;
  const n = v.high * TWO_POW_32 + (v.low >>> 0); // exact whenever the result is a safe integer
  if (Number.isSafeInteger(n)) return n === 0 ? 0 : n;
  return BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)).toString();
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL_INT = /^-?\d+$/;

/** Signed int64 given as a decimal string (OTLP/JSON); undefined when not a valid int64. */
export function int64FromDecimal(s: string): AttrValue | undefined {
  if (!DECIMAL_INT.test(s)) return undefined;
  const n = Number(s);
  if (Number.isSafeInteger(n)) return n === 0 ? 0 : n;
  const b = BigInt(s);
  return b < INT64_MIN || b > INT64_MAX ? undefined : b.toString();
}

/** Signed int64 given as a JSON number; undefined when not an integer in int64 range. */
export function int64FromNumber(n: number): AttrValue | undefined {
  if (Number.isSafeInteger(n)) return n === 0 ? 0 : n;
  if (!Number.isInteger(n) || n < -(2 ** 63) || n >= 2 ** 63) return undefined;
  return BigInt(n).toString();
}

/**
 * Unsigned fixed64 nanoseconds → integer microseconds (floor), exact without BigInt:
 * 2^32 = 4294967 * 1000 + 296, so ns / 1000 = high * 4294967 + (high * 296 + low) / 1000.
 */
export function usFromNanos(v: number | Int64Parts): number {
  if (typeof v === 'number') return Math.floor(v / 1000);
  const high = v.high >>> 0;
  return high * 4294967 + Math.floor((high * 296 + (v.low >>> 0)) / 1000);
}

const DECIMAL_UINT = /^\d+$/;
const UINT64_MAX = '18446744073709551615';

/** Unsigned nanoseconds as a decimal string → microseconds (exact: drop 3 digits); undefined if invalid. */
export function usFromDecimalNanos(s: string): number | undefined {
  if (!DECIMAL_UINT.test(s)) return undefined;
  let digits = s;
  if (digits.length >= 20) {
    digits = digits.replace(/^0+(?=\d)/, '');
    if (digits.length > 20 || (digits.length === 20 && digits > UINT64_MAX)) return undefined;
  }
  return digits.length <= 3 ? 0 : Number(digits.slice(0, -3));
}

/** How one wire format represents an id (bytes in protobuf, hex text in JSON). */
export interface IdCodec<T> {
  /** lowercase hex of a well-formed id of `bytes` bytes (all-zero included), else null */
  hex(raw: T, bytes: number): string | null;
  /** why `raw` is malformed (called only when hex() returned null) */
  problem(raw: T, bytes: number): string;
  isEmpty(raw: T): boolean;
}

export interface SpanIds {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
}

/** Validates a span's ids: the SpanIds, or the reason the span must be rejected. */
export function checkSpanIds<T>(codec: IdCodec<T>, trace: T, span: T, parent: T): SpanIds | string {
  const traceId = codec.hex(trace, TRACE_ID_BYTES);
  if (traceId === null) return `invalid traceId (${codec.problem(trace, TRACE_ID_BYTES)})`;
  if (traceId === ZERO_TRACE_ID) return 'invalid traceId (all zero)';
  const spanId = codec.hex(span, SPAN_ID_BYTES);
  if (spanId === null) return `invalid spanId (${codec.problem(span, SPAN_ID_BYTES)})`;
  if (spanId === ZERO_SPAN_ID) return 'invalid spanId (all zero)';
  let parentSpanId: string | null = null;
  if (!codec.isEmpty(parent)) {
    parentSpanId = codec.hex(parent, SPAN_ID_BYTES);
    if (parentSpanId === null) return `invalid parentSpanId (${codec.problem(parent, SPAN_ID_BYTES)})`;
    if (parentSpanId === ZERO_SPAN_ID) parentSpanId = null;
  }
  return { traceId, spanId, parentSpanId };
}

/** A link's ids, or null when either is malformed or all zero (such links are dropped). */
export function checkLinkIds<T>(codec: IdCodec<T>, trace: T, span: T): { traceId: string; spanId: string } | null {
  const traceId = codec.hex(trace, TRACE_ID_BYTES);
  const spanId = codec.hex(span, SPAN_ID_BYTES);
  if (traceId === null || spanId === null || traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return null;
  return { traceId, spanId };
}

/** Location of a span in the request, for rejection messages. */
export function spanPath(resourceIndex: number, scopeIndex: number, spanIndex: number): string {
  return `resourceSpans[${resourceIndex}].scopeSpans[${scopeIndex}].spans[${spanIndex}]`;
}

/** The latest time the ledger stores: 9999-12-31T23:59:59.999999Z, in microseconds. */
export const MAX_TIME_US = 253_402_300_799_999_999;

/**
 * What a span's times allow: OTLP calls start and end "semantically required", with end >= start. A span
 * without a start time (0: a hand-written JSON span missing startTimeUnixNano) cannot be placed in time:
 * it is rejected with that reason. A span ending at 0 or before its start (unfinished, or a clock set back)
 * still carries its call and its usage, so it is kept, ending at its start: stored as it came it gave its node
 * a duration of minus 56 years and its run an end in 1970. The decoders keep times as sent; the consumer
 * path applies this (src/worker/prepare.ts), for every receiver and the in-process exporter alike.
 */
export type SpanTimes = { kind: 'ok' } | { kind: 'reject'; reason: string } | { kind: 'end_at_start'; warning: string };

/** Why a span whose times PostgreSQL cannot store is rejected (the decoders check it too), or null. */
function beyondStorable(startUs: number, endUs: number): string | null {
  return startUs <= MAX_TIME_US && endUs <= MAX_TIME_US ? null : 'start or end time beyond year 9999';
}

export function spanTimes(startUs: number, endUs: number): SpanTimes {
  const beyond = beyondStorable(startUs, endUs);
  if (beyond !== null) return { kind: 'reject', reason: beyond };
  if (startUs === 0) return { kind: 'reject', reason: 'no start time (startTimeUnixNano missing, 0, or under 1 µs)' };
  if (endUs < startUs) {
    return { kind: 'end_at_start', warning: endUs === 0 ? 'no end time (endTimeUnixNano 0 or missing)' : 'end time before its start time' };
  }
  return { kind: 'ok' };
}

/** Accumulates the decode result: kept spans, rejected count and the first MAX_ERRORS reasons. */
export class DecodeCollector {
  readonly spans: SpanRecord[] = [];
  rejected = 0;
  readonly errors: string[] = [];

  /** Keep a span, or reject it when its times cannot be stored. */
  add(path: string, span: SpanRecord): void {
    const beyond = beyondStorable(span.startUs, span.endUs);
    if (beyond !== null) return this.reject(path, beyond);
    this.spans.push(span);
  }

  reject(path: string, reason: string): void {
    this.rejected++;
    if (this.errors.length < MAX_ERRORS) this.errors.push(`${path}: ${reason}`);
  }

  result(): DecodeResult {
    return { spans: this.spans, rejected: this.rejected, errors: this.errors };
  }
}
