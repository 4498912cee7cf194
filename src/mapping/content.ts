/**
 * Prompt / completion content.
 *
 * input  (TOOL nodes first): gen_ai.tool.call.arguments → ai.toolCall.args → ai.toolCall.input → tool_arguments
 *        (Pydantic AI v2) → gcp.vertex.agent.tool_call_args (Google ADK); then gen_ai.input.messages
 *        (+ gen_ai.system_instructions) → llm.input_messages.* → input.value → gen_ai.prompt.* / gen_ai.prompt →
 *        traceloop.entity.input → ai.prompt.messages → ai.prompt → ai.value / ai.values (embeddings) →
 *        genkit:input → gcp.vertex.agent.llm_request.
 * output (TOOL nodes first): gen_ai.tool.call.result → ai.toolCall.result → ai.toolCall.output → tool_response →
 *        gcp.vertex.agent.tool_response; then gen_ai.output.messages → llm.output_messages.* → output.value →
 *        gen_ai.completion.* / gen_ai.completion → traceloop.entity.output → genkit:output →
 *        gcp.vertex.agent.llm_response → ai.response.text → ai.response.object → ai.response.toolCalls.
 *
 * gen_ai.input.messages / gen_ai.output.messages / gen_ai.system_instructions are kept as the convention shapes
 * them (messages with role and parts: text, tool_call, tool_call_response, reasoning, blob, uri, file, ...),
 * whether they arrive as structured AnyValue or as a JSON string.
 *
 * Stored form (JSON text for a jsonb column):
 * - a string attribute that is a JSON object/array is kept verbatim; so is any valid JSON (also a scalar such
 *   as the Vercel `ai.value` '"text"') from keys whose producers JSON-encode them (gen_ai.*.messages, tool
 *   call arguments/results, ai.prompt*, ai.value(s), traceloop.entity.*, *.value with mime type
 *   application/json). Any other string becomes a JSON string literal (so plain "42" stays the text "42").
 *   Structured attribute values and flattened keys are serialised (JSON-string elements of ai.values decoded).
 * - gen_ai.system_instructions is prepended to gen_ai.input.messages as `{"role":"system","parts":[...]}`.
 * - longer than maxContentChars: `{"truncated":true,"length":L,"text":"<first maxContentChars chars>"}` where
 *   text/length refer to the source text (the raw string attribute, or the JSON serialisation).
 * - `\u0000` and lone surrogate escapes (rejected by Postgres jsonb) are replaced by `\ufffd`.
 * - content that is one attribute's string, not truncated (kept verbatim, or a plain text as a JSON string),
 *   comes with a ContentRef: the sink stores the reference instead of the copy (sql/015, docs/schema.md
 *   *Content once*), and readers get the same jsonb back from spans.attributes.
 * prompt_hash = sha256 hex of the full source text of the input (computed even when content capture is off).
 */
import * as crypto from 'node:crypto';
import type { AttrValue, Attributes, SpanEvent } from '../otlp/types.js';
import { spanEventContent } from './genai-events.js';
import type { MappingOptions } from './types.js';
import { collectIndexed } from './attrs.js';
import { bigNumberSeen, isJson } from './json-check.js';

/** A content source: `text` is what gets hashed/truncated; `json` is its JSON form when already known. */
export interface Source {
  text: string;
  json: string | null;
  /** the attribute is documented to hold JSON-encoded values: any valid JSON (also scalars) is kept */
  jsonEncoded: boolean;
  /** the attribute whose string value `text` is (null: serialised or composed content) */
  key: string | null;
  /** flattened messages the database can rebuild from the span's attributes (flatRef) */
  flat: ContentRef | null;
}

/**
 * A node's content as a reference to its span's attribute (sql/015): `ref` is what nodes.input_ref (output_ref,
 * tool_definitions_ref) stores — 'json:<key>' when the attribute's string is the stored JSON text verbatim,
 * 'text:<key>' when the stored content is that string as a JSON string —, `text` the very string the mapping read
 * (the sink checks the span's stored attribute is this string before it writes the reference).
 */
export interface ContentRef {
  ref: string;
  key: string;
  text: string;
  /** 'flat:' references: every key the database reads and the string it must find there, alternately */
  pairs?: string[];
}

export interface ContentRefs {
  input: ContentRef | null;
  output: ContentRef | null;
  toolDefinitions: ContentRef | null;
}

export interface Content {
  input: string | null;
  output: string | null;
  promptHash: string | null;
  /** 'span' when the span itself carries content (attributes or GenAI span events), else null */
  contentSource: 'span' | null;
  inputRef: ContentRef | null;
  outputRef: ContentRef | null;
}

/** A JSON-encoded string element decoded for embedding in a structure (ai.values is string[] of JSON). */
export function decodeElement(v: AttrValue): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

export function fromValue(v: AttrValue | undefined, jsonEncoded = false, key: string | null = null): Source | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v === '' ? null : { text: v, json: null, jsonEncoded, key, flat: null };
  return fromStructure(jsonEncoded && Array.isArray(v) ? v.map(decodeElement) : v);
}

export function fromStructure(v: unknown, flat: ContentRef | null = null): Source {
  const json = JSON.stringify(v);
  return { text: json, json, jsonEncoded: true, key: null, flat };
}

/** First of several plain keys. */
function fromKeys(a: Attributes, keys: readonly string[], jsonEncoded: boolean): Source | null {
  for (let i = 0; i < keys.length; i++) {
    const s = fromValue(a[keys[i]!], jsonEncoded, keys[i]!);
    if (s !== null) return s;
  }
  return null;
}

function genAiMessages(a: Attributes, key: string, systemKey: string | null): Source | null {
  const messages = a[key];
  const system = systemKey === null ? undefined : a[systemKey];
  if (system === undefined || system === null || system === '') return fromValue(messages, true, key);
  const parsed = typeof messages === 'string' ? decodeElement(messages) : messages;
  const list = Array.isArray(parsed) ? parsed : parsed === undefined || parsed === null ? [] : [parsed];
  const parts = typeof system === 'string' ? decodeElement(system) : system;
  return fromStructure([{ role: 'system', parts }, ...list]);
}

/** OpenInference namespaces each flattened level (message.*, message_content.*, tool_call.*): drop the wrappers. */
const OI_WRAPPERS = new Set(['message', 'message_content', 'tool_call']);

function unwrapOpenInference(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapOpenInference);
  if (v === null || typeof v !== 'object') return v;
  const keys = Object.keys(v);
  if (keys.length === 1 && OI_WRAPPERS.has(keys[0]!)) return unwrapOpenInference((v as Record<string, unknown>)[keys[0]!]);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = unwrapOpenInference((v as Record<string, unknown>)[k]);
  return out;
}

const OI_PREFIXES = ['llm.input_messages.', 'llm.output_messages.'] as const;
const LEGACY_PREFIXES = ['gen_ai.prompt.', 'gen_ai.completion.'] as const;
const INPUT = 0;
const OUTPUT = 1;

/** Per-span lazy results of the flattened-key scans (one key scan per convention, shared by input and output). */
interface Flattened {
  a: Attributes;
  oi: unknown[][] | null;
  legacy: unknown[][] | null;
}

/**
 * The attribute keys these lookups read, per side (INPUT, OUTPUT), written out once: a key built per span
 * (prefix + '0.message.role') is a new string that each lookup must flatten, hash and find in the string
 * table — up to 16 per span, ~1 µs of the mapping's ~10 µs per span on the bench's spans.
 */
const sideKeys = <T>(f: (side: number) => T): readonly [T, T] => [f(INPUT), f(OUTPUT)];
const OI_FIRST_KEYS = sideKeys((side) => {
  const prefix = OI_PREFIXES[side]!;
  return [prefix + '0.message.role', prefix + '0.message.content', prefix + '0.message.contents.0.message_content.type'] as const;
});
// Whole keys written as literals (not built from 'input' + '.value'): src/mapping/docs-keys.test.ts finds every
// key the mapping reads in its source text and checks docs/ names it.
const OI_VALUE_KEYS = [
  { value: 'input.value', mimeType: 'input.mime_type' }, { value: 'output.value', mimeType: 'output.mime_type' },
] as const;
const LEGACY_KEYS = sideKeys((side) => {
  const prefix = LEGACY_PREFIXES[side]!;
  return { role: prefix + '0.role', content: prefix + '0.content', plain: (['gen_ai.prompt', 'gen_ai.completion'] as const)[side]! };
});

function hasOpenInference(a: Attributes, side: number): boolean {
  const k = OI_FIRST_KEYS[side]!;
  return a[k[0]] !== undefined || a[k[1]] !== undefined || a[k[2]] !== undefined;
}

/** OpenInference messages: `llm.input_messages.N.message.*` → [{role, content, contents, tool_calls, ...}]. */
function openInferenceMessages(f: Flattened, side: number): Source | null {
  if (!hasOpenInference(f.a, side)) return null;
  f.oi ??= collectIndexed(f.a, OI_PREFIXES);
  const items = f.oi[side]!;
  if (items.length === 0) return null;
  const messages = unwrapOpenInference(items) as unknown[];
  return fromStructure(messages, flatRef(messages, OI_PREFIXES[side]!, '.message'));
}

/**
 * Flattened messages that are exactly [{role, content}, ...] (strings), read from `<head><i><tail>.role` and
 * `.content` for i = 0 .. n-1: sql/015's node_content() rebuilds the same jsonb from the span's attributes
 * ('flat:<n>:<head>:<tail>'), so the node needs no copy. Anything else (other fields, tool calls, holes in
 * the indexes, non-string values) keeps its stored copy.
 */
function flatRef(items: readonly unknown[], head: string, tail: string): ContentRef | null {
  const pairs: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it === null || typeof it !== 'object' || Array.isArray(it)) return null;
    const m = it as Record<string, unknown>;
    const role = m['role'];
    const content = m['content'];
    if (typeof role !== 'string' || typeof content !== 'string' || Object.keys(m).length !== 2) return null;
    // the sink checks the span row holds these strings under these keys (a hole in the indexes fails there)
    pairs.push(head + i + tail + '.role', role, head + i + tail + '.content', content);
  }
  return pairs.length === 0 ? null : { ref: 'flat:' + items.length + ':' + head + ':' + tail, key: pairs[0]!, text: pairs[1]!, pairs };
}

/** OpenInference input.value / output.value: JSON when the sibling mime type says so. */
function openInferenceValue(a: Attributes, key: 'input' | 'output'): Source | null {
  const k = OI_VALUE_KEYS[key === 'input' ? INPUT : OUTPUT]!;
  return fromValue(a[k.value], a[k.mimeType] === 'application/json', k.value);
}

/** Legacy flattened gen_ai.prompt.N.* / gen_ai.completion.N.*, or the plain deprecated string attribute. */
function legacyGenAi(f: Flattened, side: number): Source | null {
  const k = LEGACY_KEYS[side]!;
  if (f.a[k.role] !== undefined || f.a[k.content] !== undefined) {
    f.legacy ??= collectIndexed(f.a, LEGACY_PREFIXES);
    const items = f.legacy[side]!;
    if (items.length > 0) return fromStructure(items, flatRef(items, LEGACY_PREFIXES[side]!, ''));
  }
  return fromValue(f.a[k.plain], false, k.plain);
}

// Keys whose values are JSON-encoded by their producers.
const TOOL_INPUT = [
  'gen_ai.tool.call.arguments', 'ai.toolCall.args', 'ai.toolCall.input', 'tool_arguments', 'gcp.vertex.agent.tool_call_args',
] as const;
const TOOL_OUTPUT = [
  'gen_ai.tool.call.result', 'ai.toolCall.result', 'ai.toolCall.output', 'tool_response', 'gcp.vertex.agent.tool_response',
] as const;
const INPUT_TAIL = [
  'traceloop.entity.input', 'ai.prompt.messages', 'ai.prompt', 'ai.value', 'ai.values', 'genkit:input',
  'gcp.vertex.agent.llm_request',
] as const;
const OUTPUT_TAIL_JSON = ['traceloop.entity.output', 'genkit:output', 'gcp.vertex.agent.llm_response'] as const;
const OUTPUT_TAIL = ['ai.response.text'] as const;
const OUTPUT_TAIL_VERCEL_JSON = ['ai.response.object', 'ai.response.toolCalls'] as const;

function inputSource(f: Flattened, isTool: boolean): Source | null {
  const a = f.a;
  return (isTool ? fromKeys(a, TOOL_INPUT, true) : null) ??
    genAiMessages(a, 'gen_ai.input.messages', 'gen_ai.system_instructions') ??
    openInferenceMessages(f, INPUT) ??
    openInferenceValue(a, 'input') ??
    legacyGenAi(f, INPUT) ??
    fromKeys(a, INPUT_TAIL, true);
}

function outputSource(f: Flattened, isTool: boolean): Source | null {
  const a = f.a;
  return (isTool ? fromKeys(a, TOOL_OUTPUT, true) : null) ??
    genAiMessages(a, 'gen_ai.output.messages', null) ??
    openInferenceMessages(f, OUTPUT) ??
    openInferenceValue(a, 'output') ??
    legacyGenAi(f, OUTPUT) ??
    fromKeys(a, OUTPUT_TAIL_JSON, true) ??
    fromKeys(a, OUTPUT_TAIL, false) ??
    fromKeys(a, OUTPUT_TAIL_VERCEL_JSON, true);
}

/**
 * One JSON escape from its backslash: a surrogate pair, `\u0000`, a lone surrogate, or any other escape
 * (consumed whole, so an escaped backslash followed by the text "u0000" is not mistaken for an escape).
 */
const ESCAPE = /\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u0000|u[dD][89a-fA-F][0-9a-fA-F]{2}|[^])/g;

/** jsonb refuses `\u0000` and lone surrogate escapes (`\ud800` alone): they become `\ufffd`. */
export function jsonSafe(json: string): string {
  if (!json.includes('\\u')) return json;
  return json.replace(ESCAPE, (e) => (e.length === 6 ? '\\ufffd' : e)); // 6: \u0000 or a lone \udXXX
}

/** 'json:<key>' / 'text:<key>' strings, made once per key (the keys are the few content keys above). */
const JSON_REFS = new Map<string, string>();
const TEXT_REFS = new Map<string, string>();
function refName(cache: Map<string, string>, prefix: string, key: string): string {
  let r = cache.get(key);
  if (r === undefined) {
    r = prefix + key;
    if (cache.size < 256) cache.set(key, r);
  }
  return r;
}

/** storedForm's out parameter, reused (read it right after the call): no allocation per content value. */
export const refHolder: { ref: ContentRef | null } = { ref: null };

/** The stored JSON text of a source, truncated to maxChars (see module doc). */
export function storedJson(src: Source, maxChars: number): string {
  return storedForm(src, maxChars, null);
}

/**
 * storedJson, and in `refOut` (when given) the reference that may stand for it (sql/015): content that is one
 * attribute's string, not truncated, kept verbatim as JSON ('json:') or turned into a JSON string ('text:').
 * Not for text jsonb would refuse (a `\u0000` escape, a number PostgreSQL cannot hold): that keeps its stored
 * copy, so it fails or is mended at the write as before.
 */
export function storedForm(src: Source, maxChars: number, refOut: { ref: ContentRef | null } | null): string {
  const { text } = src;
  if (refOut !== null) refOut.ref = null;
  if (text.length > maxChars) {
    let n = Math.max(0, maxChars);
    const last = text.charCodeAt(n - 1);
    if (n > 0 && last >= 0xd800 && last <= 0xdbff) n--; // do not split a surrogate pair
    return jsonSafe('{"truncated":true,"length":' + text.length + ',"text":' + JSON.stringify(text.slice(0, n)) + '}');
  }
  if (src.json !== null) {
    const json = jsonSafe(src.json);
    if (refOut !== null && src.flat && json === src.json) refOut.ref = src.flat;
    return json;
  }
  if (isJson(text, !src.jsonEncoded)) {
    const json = jsonSafe(text);
    if (refOut !== null && src.key && json === text && !bigNumberSeen()) refOut.ref = { ref: refName(JSON_REFS, 'json:', src.key), key: src.key, text };
    return json;
  }
  const json = jsonSafe(JSON.stringify(text));
  // the decoders leave no NUL or lone surrogate in strings: jsonSafe changes nothing here
  if (refOut !== null && src.key) refOut.ref = { ref: refName(TEXT_REFS, 'text:', src.key), key: src.key, text };
  return json;
}

/** One-shot crypto.hash (Node >= 20.12) is markedly cheaper per call than createHash. */
export const sha256Hex: (text: string) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'hex')
  : (text) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * @param events the span's events: GenAI content events (genai-events.ts) are its content when no attribute
 *   gives any
 */
export function resolveContent(a: Attributes, isTool: boolean, opts: MappingOptions, events: readonly SpanEvent[] = []): Content {
  const f: Flattened = { a, oi: null, legacy: null };
  let inSrc = inputSource(f, isTool);
  let outSrc = opts.captureContent || inSrc === null ? outputSource(f, isTool) : null;
  if (inSrc === null && outSrc === null && events.length > 0) {
    const ev = spanEventContent(events);
    if (ev.input !== null) inSrc = { text: ev.input, json: ev.input, jsonEncoded: true, key: null, flat: null };
    if (ev.output !== null) outSrc = { text: ev.output, json: ev.output, jsonEncoded: true, key: null, flat: null };
  }
  const promptHash = inSrc === null ? null : sha256Hex(inSrc.text);
  // The span gave content of its own: content from log records of the span is not used (same ledger in any
  // order). Not when its only content is its system instructions (instrumentation-openai's Responses path:
  // the conversation, instructions included, comes as log records): those fill the node when they come.
  const contentSource = (inSrc !== null || outSrc !== null) && !instructionsOnly(f, isTool, outSrc) ? 'span' : null;
  if (!opts.captureContent) return { input: null, output: null, promptHash, contentSource, inputRef: null, outputRef: null };
  const input = inSrc === null ? null : storedForm(inSrc, opts.maxContentChars, refHolder);
  const inputRef = inSrc === null ? null : refHolder.ref;
  const output = outSrc === null ? null : storedForm(outSrc, opts.maxContentChars, refHolder);
  return { input, output, promptHash, contentSource, inputRef, outputRef: outSrc === null ? null : refHolder.ref };
}

/** The span's content is gen_ai.system_instructions alone: no input messages, no other input key, no output. */
function instructionsOnly(f: Flattened, isTool: boolean, outSrc: Source | null): boolean {
  const a = f.a;
  if (outSrc !== null || a['gen_ai.system_instructions'] === undefined || a['gen_ai.input.messages'] !== undefined) return false;
  const { 'gen_ai.system_instructions': _instructions, ...rest } = a;
  return inputSource({ a: rest, oi: null, legacy: null }, isTool) === null;
}
