/**
 * OTLP/JSON ExportTraceServiceRequest → SpanRecord[] (JSON.parse, then one walk).
 *
 * Follows the OTLP/JSON rules (hex ids, lowerCamelCase names, int64 as string or number, unknown
 * fields ignored) and is lenient where protobuf JSON parsers are: original snake_case names and
 * enum name strings ("SPAN_KIND_SERVER") are accepted too. A value of the wrong JSON type makes the
 * whole request malformed (OtlpDecodeError), except ids: a span with a bad id is rejected alone.
 */
import { OtlpDecodeError } from './errors.js';
import { SPAN_KINDS, STATUS_CODES } from './types.js';
import type { AttrValue, Attributes, DecodeResult, SpanEvent, SpanLink } from './types.js';
import {
  DEPTH_LIMIT_VALUE,
  DecodeCollector,
  MAX_ATTR_DEPTH,
  checkLinkIds,
  checkSpanIds,
  doubleValue,
  enumIndex,
  int64FromDecimal,
  int64FromNumber,
  optionalString,
  sanitize,
  serviceNameOf,
  setAttr,
  spanPath,
  usFromDecimalNanos,
} from './values.js';
import type { IdCodec } from './values.js';

type Json = Record<string, unknown>;

const NO_ITEMS: readonly unknown[] = [];
const HEX = /^[0-9a-fA-F]*$/;

function malformed(field: string, expected: string): never {
  throw new OtlpDecodeError(`"${field}" must be ${expected}`);
}

/** A field by its lowerCamelCase name, else by its original proto name. */
function get(o: Json, camel: string, snake: string): unknown {
  const v = o[camel];
  return v === undefined || v === null ? o[snake] : v;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asObject(v: unknown, field: string): Json | null {
  if (v === undefined || v === null) return null;
  return isObject(v) ? v : malformed(field, 'an object');
}

function asList(v: unknown, field: string): readonly unknown[] {
  if (v === undefined || v === null) return NO_ITEMS;
  if (!Array.isArray(v)) malformed(field, 'an array');
  return v;
}

function asString(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return malformed(field, 'a string');
}

/** Elements of a repeated message field. */
function objects(o: Json, camel: string, snake: string): Json[] {
  const list = asList(get(o, camel, snake), camel);
  for (const item of list) if (!isObject(item)) malformed(camel, 'an array of objects');
  return list as Json[];
}

function int64Of(v: unknown, field: string): AttrValue {
  const out = typeof v === 'string' ? int64FromDecimal(v) : typeof v === 'number' ? int64FromNumber(v) : undefined;
  return out === undefined ? malformed(field, 'an int64 (decimal string or integer)') : out;
}

function usOf(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string') {
    const us = usFromDecimalNanos(v);
    if (us !== undefined) return us;
  } else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
    return Math.floor(v / 1000); // JSON numbers above 2^53 ns are already inexact
  }
  return malformed(field, 'unsigned nanoseconds (decimal string or integer)');
}

function doubleOf(v: unknown, field: string): AttrValue {
  if (typeof v === 'number') return doubleValue(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v); // "NaN", "Infinity", "-Infinity" and numeric strings (proto3 JSON mapping)
    if (!Number.isNaN(n) || v === 'NaN') return doubleValue(n);
  }
  return malformed(field, 'a number');
}

/** Enums as integers or, leniently, by name ("SPAN_KIND_SERVER"); unknown values → 0. */
function enumOf(v: unknown, prefix: string, names: readonly string[], field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return enumIndex(v, names.length);
  if (typeof v === 'string') return v.startsWith(prefix) ? Math.max(0, names.indexOf(v.slice(prefix.length))) : 0;
  return malformed(field, 'an enum number or name');
}

/** A JSON id as hex text (absent → "", i.e. zero bytes), or null when it is not hex. */
function hexText(raw: unknown): string | null {
  if (raw === undefined || raw === null) return '';
  return typeof raw === 'string' && raw.length % 2 === 0 && HEX.test(raw) ? raw : null;
}

/** Ids are case-insensitive hex strings in OTLP/JSON; anything else only rejects the span. */
const hexIds: IdCodec<unknown> = {
  hex: (raw, bytes) => {
    const h = hexText(raw);
    return h !== null && h.length === bytes * 2 ? h.toLowerCase() : null;
  },
  problem: (raw, bytes) => {
    const h = hexText(raw);
    return h === null ? 'not a hex string' : `${h.length / 2} bytes, expected ${bytes}`;
  },
  isEmpty: (raw) => hexText(raw) === '',
};

function attributesOf(list: readonly unknown[], depth: number): Attributes {
  const out: Attributes = {};
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    if (!isObject(kv)) malformed('attributes', 'an array of KeyValue objects');
    setAttr(out, asString(kv.key, 'key'), valueOf(kv.value, depth));
  }
  return out;
}

function valueOf(raw: unknown, depth: number): AttrValue {
  const v = asObject(raw, 'value');
  if (!v) return null;
  let x: unknown;
  if ((x = get(v, 'stringValue', 'string_value')) != null) return sanitize(asString(x, 'stringValue'));
  if ((x = get(v, 'boolValue', 'bool_value')) != null) return typeof x === 'boolean' ? x : malformed('boolValue', 'a boolean');
  if ((x = get(v, 'intValue', 'int_value')) != null) return int64Of(x, 'intValue');
  if ((x = get(v, 'doubleValue', 'double_value')) != null) return doubleOf(x, 'doubleValue');
  if ((x = get(v, 'arrayValue', 'array_value')) != null) {
    if (depth >= MAX_ATTR_DEPTH) return DEPTH_LIMIT_VALUE;
    const values = asList(asObject(x, 'arrayValue')!.values, 'values');
    const out: AttrValue[] = new Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = valueOf(values[i], depth + 1);
    return out;
  }
  if ((x = get(v, 'kvlistValue', 'kvlist_value')) != null) {
    if (depth >= MAX_ATTR_DEPTH) return DEPTH_LIMIT_VALUE;
    return attributesOf(asList(asObject(x, 'kvlistValue')!.values, 'values'), depth + 1);
  }
  if ((x = get(v, 'bytesValue', 'bytes_value')) != null) {
    // base64 or base64url in; canonical base64 out (same as the protobuf decoder)
    return Buffer.from(asString(x, 'bytesValue'), 'base64').toString('base64');
  }
  return null; // empty AnyValue (or the profiles-only stringValueStrindex)
}

function attributesField(o: Json): Attributes {
  return attributesOf(asList(o.attributes, 'attributes'), 0);
}

function eventsOf(span: Json): SpanEvent[] {
  return objects(span, 'events', 'events').map((e) => ({
    name: sanitize(asString(e.name, 'name')),
    timeUs: usOf(get(e, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano'),
    attributes: attributesField(e),
  }));
}

function linksOf(span: Json): SpanLink[] {
  const out: SpanLink[] = [];
  for (const l of objects(span, 'links', 'links')) {
    const ids = checkLinkIds(hexIds, get(l, 'traceId', 'trace_id'), get(l, 'spanId', 'span_id'));
    if (!ids) continue;
    const link: SpanLink = { traceId: ids.traceId, spanId: ids.spanId, attributes: attributesField(l) };
    const traceState = asString(get(l, 'traceState', 'trace_state'), 'traceState');
    if (traceState) link.traceState = sanitize(traceState);
    out.push(link);
  }
  return out;
}

function parse(text: string | Uint8Array): unknown {
  let src = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  if (src.charCodeAt(0) === 0xfeff) src = src.slice(1); // UTF-8 BOM
  try {
    return JSON.parse(src);
  } catch (err) {
    throw new OtlpDecodeError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest. Throws OtlpDecodeError for malformed JSON or a
 * structurally invalid request; spans with invalid ids are rejected individually.
 */
export function decodeTraceRequestJson(text: string | Uint8Array, tenantId: string): DecodeResult {
  const root = parse(text);
  if (!isObject(root)) throw new OtlpDecodeError('top-level value must be an ExportTraceServiceRequest object');

  const out = new DecodeCollector();
  const resourceSpans = objects(root, 'resourceSpans', 'resource_spans');
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs = resourceSpans[r];
    const res = asObject(rs.resource, 'resource');
    const resource = res ? attributesField(res) : {};
    const serviceName = serviceNameOf(resource);
    const scopeSpans = objects(rs, 'scopeSpans', 'scope_spans');
    for (let s = 0; s < scopeSpans.length; s++) {
      const ss = scopeSpans[s];
      const scope = asObject(ss.scope, 'scope');
      const scopeName = optionalString(scope && asString(scope.name, 'name'));
      const scopeVersion = optionalString(scope && asString(scope.version, 'version'));
      const spans = objects(ss, 'spans', 'spans');
      for (let i = 0; i < spans.length; i++) {
        const span = spans[i];
        const ids = checkSpanIds(
          hexIds,
          get(span, 'traceId', 'trace_id'),
          get(span, 'spanId', 'span_id'),
          get(span, 'parentSpanId', 'parent_span_id'),
        );
        if (typeof ids === 'string') {
          out.reject(spanPath(r, s, i), ids);
          continue;
        }
        const status = asObject(span.status, 'status');
        out.add(spanPath(r, s, i), {
          traceId: ids.traceId,
          spanId: ids.spanId,
          parentSpanId: ids.parentSpanId,
          name: sanitize(asString(span.name, 'name')),
          kind: enumOf(span.kind, 'SPAN_KIND_', SPAN_KINDS, 'kind'),
          startUs: usOf(get(span, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano'),
          endUs: usOf(get(span, 'endTimeUnixNano', 'end_time_unix_nano'), 'endTimeUnixNano'),
          statusCode: status ? enumOf(status.code, 'STATUS_CODE_', STATUS_CODES, 'code') : 0,
          statusMessage: status ? sanitize(asString(status.message, 'message')) : '',
          attributes: attributesField(span),
          events: eventsOf(span),
          links: linksOf(span),
          resource,
          serviceName,
          scopeName,
          scopeVersion,
          tenantId,
        });
      }
    }
  }
  return out.result();
}
