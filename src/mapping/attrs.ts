/**
 * Attribute readers shared by the mappers. Every reader walks an ordered key list and returns the
 * value of the FIRST key holding a usable value (absent, empty or invalid values fall through).
 */
import type { AttrValue, Attributes } from '../otlp/types.js';

/** Strict decimal number syntax (int64 values may arrive as decimal strings). */
const NUMERIC = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** A string (or a finite number rendered as string); empty strings count as absent. */
export function asString(v: AttrValue | undefined): string | null {
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** A finite number from a number or a numeric string. */
export function asNumber(v: AttrValue | undefined): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && NUMERIC.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** A non-negative safe integer (token counts, max_tokens). */
export function asCount(v: AttrValue | undefined): number | null {
  const n = asNumber(v);
  return n !== null && n >= 0 && Number.isSafeInteger(n) ? n : null;
}

/** A non-negative finite number (costs). */
export function asNonNegative(v: AttrValue | undefined): number | null {
  const n = asNumber(v);
  return n !== null && n >= 0 ? n : null;
}

// Specialised loops (rather than one generic loop with a reader callback): this is the mapper's hot path.
export function firstString(attrs: Attributes, keys: readonly string[]): string | null {
  for (let i = 0; i < keys.length; i++) {
    const v = attrs[keys[i]!];
    if (v !== undefined) {
      const s = asString(v);
      if (s !== null) return s;
    }
  }
  return null;
}

export function firstNumber(attrs: Attributes, keys: readonly string[]): number | null {
  for (let i = 0; i < keys.length; i++) {
    const v = attrs[keys[i]!];
    if (v !== undefined) {
      const n = asNumber(v);
      if (n !== null) return n;
    }
  }
  return null;
}

export function firstCount(attrs: Attributes, keys: readonly string[]): number | null {
  for (let i = 0; i < keys.length; i++) {
    const v = attrs[keys[i]!];
    if (v !== undefined) {
      const n = asCount(v);
      if (n !== null) return n;
    }
  }
  return null;
}

/** True when any of the keys is present (with any value). */
export function hasAny(attrs: Attributes, keys: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) if (attrs[keys[i]!] !== undefined) return true;
  return false;
}

/** Bound on indices taken from flattened keys (protects against huge sparse arrays). */
const MAX_INDEX = 10_000;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

type Tree = { [key: string]: AttrValue | Tree | Tree[] } | Array<AttrValue | Tree>;

function indexOf(segment: string): number {
  if (segment.length === 0 || segment.length > 5) return -1;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  const n = Number(segment);
  return n < MAX_INDEX ? n : -1;
}

function setPath(root: Record<string, unknown>, path: string[], value: AttrValue): void {
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    const idx = Array.isArray(node) ? indexOf(seg) : -1;
    if (Array.isArray(node) ? idx < 0 : FORBIDDEN.has(seg)) return;
    const key: string | number = Array.isArray(node) ? idx : seg;
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[key] = value;
      return;
    }
    let next = container[key];
    if (next === null || typeof next !== 'object') {
      next = indexOf(path[i + 1]!) >= 0 ? [] : {};
      container[key] = next;
    }
    node = next as Record<string, unknown> | unknown[];
  }
}

function compact(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const item of v) if (item !== undefined) out.push(compact(item));
    return out;
  }
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) (v as Record<string, unknown>)[k] = compact((v as Record<string, unknown>)[k]);
  }
  return v;
}

/**
 * Collect flattened indexed keys into arrays of objects, one array per prefix, in ONE pass over the keys.
 * E.g. prefix `llm.input_messages.`: `llm.input_messages.0.message.role = "user"` → `[{ message: { role: "user" } }]`.
 * Numeric path segments become arrays; holes are dropped. Callers gate this behind a cheap `in`-style check of
 * a likely first key, so ordinary spans never pay for the scan.
 */
export function collectIndexed(attrs: Attributes, prefixes: readonly string[]): Tree[][] {
  const out: Record<string, unknown>[][] = prefixes.map(() => []);
  for (const key in attrs) {
    for (let p = 0; p < prefixes.length; p++) {
      const prefix = prefixes[p]!;
      if (!key.startsWith(prefix)) continue;
      const dot = key.indexOf('.', prefix.length);
      const idx = dot < 0 ? -1 : indexOf(key.slice(prefix.length, dot));
      if (idx >= 0) setPath((out[p]![idx] ??= {}), key.slice(dot + 1).split('.'), attrs[key]!);
      break;
    }
  }
  return out.map((items) => compact(items) as Tree[]);
}
