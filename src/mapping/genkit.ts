/**
 * Genkit (firebase/genkit) spans, read as the OTel GenAI keys they stand for. Genkit marks its actions with
 * `genkit:type = action` and `genkit:metadata:subtype` (model, tool, embedder, flow, ...; node-type.ts types
 * them), names the action in `genkit:name` ("googleai/gemini-2.5-flash": plugin / model) and records the
 * action's input and output as JSON in `genkit:input` / `genkit:output`, the model's usage inside the output.
 *
 * genkitView adds the equivalent keys to a copy of a Genkit action's attributes (keys the span already has
 * win), so every other module reads Genkit like any other convention:
 * - model actions: gen_ai.request.model ← genkit:name after the plugin prefix; gen_ai.provider.name ← the
 *   plugin (googleai → gcp.gemini, vertexai → gcp.vertex_ai, ... in provider.ts); from genkit:output
 *   `usage` {inputTokens, outputTokens, totalTokens, thoughtsTokens, cachedContentTokens} the gen_ai.usage.*
 *   counts (Gemini's outputTokens exclude thoughtsTokens: usage.ts normalises by the total), and
 *   `finishReason` → gen_ai.response.finish_reasons;
 * - embedders and rerankers: the model from genkit:name the same way;
 * - tools: gen_ai.tool.name ← genkit:name.
 * Spans without `genkit:type = action` are returned as they are (one attribute lookup).
 */
import type { AttrValue, Attributes } from '../otlp/types.js';
import { asCount, asString } from './attrs.js';

const MODEL_SUBTYPES = new Set(['model', 'background-model', 'embedder', 'reranker']);
const TOOL_SUBTYPES = new Set(['tool', 'tool.v2']);

/** genkit:output usage field → the gen_ai key it stands for. */
const USAGE_KEYS: readonly (readonly [string, string])[] = [
  ['inputTokens', 'gen_ai.usage.input_tokens'], ['outputTokens', 'gen_ai.usage.output_tokens'],
  ['totalTokens', 'gen_ai.usage.total_tokens'], ['thoughtsTokens', 'gen_ai.usage.reasoning.output_tokens'],
  ['cachedContentTokens', 'gen_ai.usage.cache_read.input_tokens'],
];

function setIfAbsent(out: Attributes, key: string, v: AttrValue | null): void {
  if (v !== null && out[key] === undefined) out[key] = v;
}

function parseObject(v: AttrValue | undefined): Record<string, AttrValue> | null {
  let p: unknown = v;
  if (typeof v === 'string') {
    try {
      p = JSON.parse(v);
    } catch {
      return null;
    }
  }
  return p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, AttrValue>) : null;
}

function modelKeys(out: Attributes, name: string, withOutput: boolean): void {
  const slash = name.indexOf('/');
  setIfAbsent(out, 'gen_ai.request.model', slash > 0 && slash < name.length - 1 ? name.slice(slash + 1) : name);
  if (slash > 0) setIfAbsent(out, 'gen_ai.provider.name', name.slice(0, slash));
  if (!withOutput) return;
  const output = parseObject(out['genkit:output']);
  if (output === null) return;
  const usage = output['usage'];
  if (usage !== null && typeof usage === 'object' && !Array.isArray(usage)) {
    for (const [from, to] of USAGE_KEYS) setIfAbsent(out, to, asCount(usage[from]));
  }
  const finish = asString(output['finishReason']);
  if (finish !== null) setIfAbsent(out, 'gen_ai.response.finish_reasons', [finish]);
}

/** The attributes of a Genkit action with the equivalent gen_ai keys added (a copy), else `a` itself. */
export function genkitView(a: Attributes): Attributes {
  if (a['genkit:type'] !== 'action') return a;
  const sub = a['genkit:metadata:subtype'];
  const name = asString(a['genkit:name']);
  if (typeof sub !== 'string' || name === null) return a;
  if (MODEL_SUBTYPES.has(sub)) {
    const out = { ...a };
    modelKeys(out, name, sub === 'model' || sub === 'background-model');
    return out;
  }
  if (TOOL_SUBTYPES.has(sub) && a['gen_ai.tool.name'] === undefined) return { ...a, 'gen_ai.tool.name': name };
  return a;
}
