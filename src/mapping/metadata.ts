/**
 * OpenInference `metadata`: a JSON object (string, or a structured value) that LangChain / LangGraph runs carry
 * their run metadata in. Some facts live only there: `ls_provider` (the LangChain integration's provider id,
 * the provider of LangChain.js + OpenInference spans) and `lc_agent_name` (the LangGraph / LangChain agent).
 *
 * Parsed at most once per span and only when a reader asks for a key the text contains (a substring test
 * first: most spans never pay for JSON.parse). The parse of the last attributes object asked about is kept
 * (mapping is synchronous, one span at a time), so readers share it without a per-span allocation.
 */
import type { AttrValue, Attributes } from '../otlp/types.js';

export const METADATA_KEY = 'metadata';
/** Keys read from the metadata object, in the modules that use them. */
export const LS_PROVIDER = 'ls_provider';
export const LC_AGENT_NAME = 'lc_agent_name';

/** Longer metadata texts are not parsed (no producer puts megabytes there; bounded cost per span). */
const MAX_METADATA_CHARS = 65_536;

/** The attributes last parsed and their metadata object (null: absent or not a JSON object). */
let lastAttrs: Attributes | null = null;
let lastMeta: Record<string, AttrValue> | null = null;

function parse(v: AttrValue | undefined): Record<string, AttrValue> | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object') return Array.isArray(v) ? null : v;
  if (typeof v !== 'string' || v.length < 2 || v.length > MAX_METADATA_CHARS || v.charCodeAt(0) !== 123) return null;
  try {
    const p: unknown = JSON.parse(v);
    return p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, AttrValue>) : null;
  } catch {
    return null;
  }
}

/** A string value of the span's metadata object, or null. */
export function metadataString(a: Attributes, key: string): string | null {
  const raw = a[METADATA_KEY];
  if (raw === undefined) return null;
  if (lastAttrs !== a) {
    // Cheap rejection: a metadata text that does not mention the key cannot hold it.
    if (typeof raw === 'string' && !raw.includes(key)) return null;
    lastMeta = parse(raw);
    lastAttrs = a;
  }
  const v = lastMeta?.[key];
  return typeof v === 'string' && v !== '' ? v : null;
}
