/**
 * OTLP/JSON value readers shared by the trace and logs decoders: the OTLP/JSON rules (hex ids, lowerCamelCase
 * names, int64 as string or number, unknown fields ignored), lenient where protobuf JSON parsers are (original
 * snake_case names, enum names). A value of the wrong JSON type makes the request malformed (OtlpDecodeError).
 */
import { OtlpDecodeError } from './errors.js';
import type { AttrValue, Attributes } from './types.js';
import {
  DEPTH_LIMIT_VALUE, MAX_ATTR_DEPTH, doubleValue, enumIndex, int64FromDecimal, int64FromNumber, sanitize, setAttr,
  usFromDecimalNanos,
} from './values.js';
import type { IdCodec } from './values.js';

export type Json = Record<string, unknown>;

const NO_ITEMS: readonly unknown[] = [];
const HEX = /^[0-9a-fA-F]*$/;

export function malformed(field: string, expected: string): never {
  throw new OtlpDecodeError(`"${field}" must be ${expected}`);
}

/** A field by its lowerCamelCase name, else by its original proto name. */
export function get(o: Json, camel: string, snake: string): unknown {
  const v = o[camel];
  return v === undefined || v === null ? o[snake] : v;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asObject(v: unknown, field: string): Json | null {
  if (v === undefined || v === null) return null;
  return isObject(v) ? v : malformed(field, 'an object');
}

export function asList(v: unknown, field: string): readonly unknown[] {
  if (v === undefined || v === null) return NO_ITEMS;
  if (!Array.isArray(v)) malformed(field, 'an array');
  return v;
}

export function asString(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return malformed(field, 'a string');
}

/** Elements of a repeated message field. */
export function objects(o: Json, camel: string, snake: string): Json[] {
  const list = asList(get(o, camel, snake), camel);
  for (const item of list) if (!isObject(item)) malformed(camel, 'an array of objects');
  return list as Json[];
}

export function int64Of(v: unknown, field: string): AttrValue {
  const out = typeof v === 'string' ? int64FromDecimal(v) : typeof v === 'number' ? int64FromNumber(v) : undefined;
  return out === undefined ? malformed(field, 'an int64 (decimal string or integer)') : out;
}

export function usOf(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string') {
    const us = usFromDecimalNanos(v);
    if (us !== undefined) return us;
  } else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
    return Math.floor(v / 1000); // JSON numbers above 2^53 ns are already inexact
  }
  return malformed(field, 'unsigned nanoseconds (decimal string or integer)');
}

export function doubleOf(v: unknown, field: string): AttrValue {
  if (typeof v === 'number') return doubleValue(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v); // "NaN", "Infinity", "-Infinity" and numeric strings (proto3 JSON mapping)
    if (!Number.isNaN(n) || v === 'NaN') return doubleValue(n);
  }
  return malformed(field, 'a number');
}

/** Enums as integers or, leniently, by name ("SPAN_KIND_SERVER"); unknown values → 0. */
export function enumOf(v: unknown, prefix: string, names: readonly string[], field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return enumIndex(v, names.length);
  if (typeof v === 'string') return v.startsWith(prefix) ? Math.max(0, names.indexOf(v.slice(prefix.length))) : 0;
  return malformed(field, 'an enum number or name');
}

/** A JSON id as hex text (absent → "", i.e. zero bytes), or null when it is not hex. */
export function hexText(raw: unknown): string | null {
  if (raw === undefined || raw === null) return '';
  return typeof raw === 'string' && raw.length % 2 === 0 && HEX.test(raw) ? raw : null;
}

/** Ids are case-insensitive hex strings in OTLP/JSON; anything else only rejects the span. */
export const hexIds: IdCodec<unknown> = {
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

export function attributesOf(list: readonly unknown[], depth: number): Attributes {
  const out: Attributes = {};
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    if (!isObject(kv)) malformed('attributes', 'an array of KeyValue objects');
    setAttr(out, asString(kv.key, 'key'), valueOf(kv.value, depth));
  }
  return out;
}

export function valueOf(raw: unknown, depth: number): AttrValue {
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

export function attributesField(o: Json): Attributes {
  return attributesOf(asList(o.attributes, 'attributes'), 0);
}

export function parseJson(text: string | Uint8Array): unknown {
  let src = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  if (src.charCodeAt(0) === 0xfeff) src = src.slice(1); // UTF-8 BOM
  try {
    return JSON.parse(src);
  } catch (err) {
    throw new OtlpDecodeError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}

