/**
 * Token usage (docs/design-mapping.md key order, first valid value wins). Values must be non-negative integers
 * up to MAX_TOKENS (numbers or decimal strings); anything else is ignored and the next key is tried.
 *
 * Per the OTel GenAI conventions input_tokens INCLUDES cache reads/writes and output_tokens INCLUDES
 * reasoning tokens; the price math (cost.ts) splits them. Counts are stored as reported, except where the
 * numbers themselves show a producer left the parts out (see normalize): then input (output) is raised to
 * include them, and the node says so (usage_normalized).
 */
import { MODALITY_PARTS, type ModalityPart, type ModalityTokens, type NodeRecord } from './types.js';
import type { AttrValue, Attributes } from '../otlp/types.js';
import { asCount } from './attrs.js';

export const INPUT_TOKEN_KEYS = [
  'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt', 'ai.usage.inputTokens',
  'ai.usage.promptTokens', 'ai.usage.tokens',
] as const;
export const OUTPUT_TOKEN_KEYS = [
  'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion',
  'ai.usage.outputTokens', 'ai.usage.completionTokens',
] as const;
export const CACHE_READ_KEYS = [
  'gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens',
  'llm.token_count.prompt_details.cache_read', 'ai.usage.inputTokenDetails.cacheReadTokens', 'ai.usage.cachedInputTokens',
  'gen_ai.usage.details.cache_read_tokens',
] as const;
export const CACHE_WRITE_KEYS = [
  'gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_write.input_tokens',
  'gen_ai.usage.cache_creation_input_tokens', 'llm.token_count.prompt_details.cache_write',
  'ai.usage.inputTokenDetails.cacheWriteTokens', 'gen_ai.usage.details.cache_write_tokens',
  'gen_ai.usage.cache_write_input_tokens', // Strands Agents (before 1.54 its only cache-write key)
] as const;
/** Google ADK 1.x: Gemini's thoughts, left out of its gen_ai.usage.output_tokens (adkThoughts) */
const ADK_REASONING_KEY = 'gen_ai.usage.experimental.reasoning_tokens';
const REASONING_KEYS_BEFORE_ADK = [
  'gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.reasoning_tokens', 'llm.usage.reasoning_tokens',
  'llm.token_count.completion_details.reasoning', 'ai.usage.outputTokenDetails.reasoningTokens',
  'ai.usage.reasoningTokens', 'gen_ai.usage.details.reasoning_tokens', 'gen_ai.usage.details.thoughts_tokens',
] as const;
export const REASONING_KEYS = [...REASONING_KEYS_BEFORE_ADK, ADK_REASONING_KEY] as const;
export const TOTAL_TOKEN_KEYS = [
  'gen_ai.usage.total_tokens', 'llm.usage.total_tokens', 'llm.token_count.total', 'ai.usage.totalTokens',
] as const;

/**
 * Modality parts of the counts (OTel GenAI `gen_ai.usage.<modality>.*`, OpenInference `*_details.audio/image`),
 * each part of its parent count: audio and image input within input (their cache reads within the cache reads),
 * audio and image output within output. Text is the rest, so its keys are not read.
 */
export const MODALITY_KEYS: Readonly<Record<ModalityPart, readonly string[]>> = {
  audio_input: ['gen_ai.usage.audio.input_tokens', 'llm.token_count.prompt_details.audio'],
  audio_cache_read: ['gen_ai.usage.audio.cache_read.input_tokens'],
  audio_output: ['gen_ai.usage.audio.output_tokens', 'llm.token_count.completion_details.audio'],
  image_input: ['gen_ai.usage.image.input_tokens', 'llm.token_count.prompt_details.image'],
  image_cache_read: ['gen_ai.usage.image.cache_read.input_tokens'],
  image_output: ['gen_ai.usage.image.output_tokens'],
};

export type Usage = Pick<NodeRecord,
  'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'reasoningTokens' | 'totalTokens' |
  'modalityTokens'>;
/** The counts as stored, and whether normalize changed them. */
export type ResolvedUsage = Usage & Pick<NodeRecord, 'usageNormalized'>;

/**
 * A token count above this (one call) is not a count but a bug in the reporter; it is ignored like an
 * invalid value. Bounded counts keep run totals exact: JS sums of the batch's nodes stay below 2^53 and the
 * bigint totals cannot overflow (which would make PostgreSQL refuse every further span of the run).
 */
export const MAX_TOKENS = 1e12;

function firstTokens(attrs: Attributes, keys: readonly string[]): number | null {
  for (let i = 0; i < keys.length; i++) {
    const v = attrs[keys[i]!];
    if (v !== undefined) {
      const n = asCount(v);
      if (n !== null && n <= MAX_TOKENS) return n;
    }
  }
  return null;
}

/**
 * Counts that evidently leave out their parts are raised to include them (OTel: input includes cache
 * reads and writes, output includes reasoning):
 * - output excludes reasoning when reasoning > output, or when the reported total is input + output +
 *   reasoning (Gemini: candidates exclude thoughts; Genkit and others pass that on);
 * - input excludes cache when cache read + write > input (Anthropic's raw input_tokens, as OpenLLMetry's
 *   Anthropic instrumentation reported it), or when the reported total is input + cache + output.
 * A total below the raised input + output is raised to it. Equal counts are consistent with inclusion
 * (everything cached) and stay as reported.
 */
function normalize(u: ResolvedUsage): void {
  const input = u.inputTokens;
  const output = u.outputTokens;
  const total = u.totalTokens;
  const reasoning = u.reasoningTokens ?? 0;
  const cache = (u.cacheReadTokens ?? 0) + (u.cacheWriteTokens ?? 0);
  const inRaw = input ?? 0;
  if (output !== null && reasoning > 0 && output + reasoning <= MAX_TOKENS && (reasoning > output ||
    (total !== null && (total === inRaw + output + reasoning || total === inRaw + cache + output + reasoning)))) {
    thoughtsIntoOutput(u);
  }
  if (input !== null && cache > 0 && input + cache <= MAX_TOKENS && (cache > input || (total !== null && total === input + cache + (u.outputTokens ?? 0)))) {
    u.inputTokens = input + cache;
    u.usageNormalized = true;
  }
  if (u.usageNormalized && total !== null) {
    const sum = (u.inputTokens ?? 0) + (u.outputTokens ?? 0);
    if (total < sum) u.totalTokens = sum;
  }
}

/**
 * The Vercel AI SDK 5's Anthropic provider (@ai-sdk/anthropic 2) reports Anthropic's raw counts: `inputTokens`
 * is `input_tokens`, which leaves out cache reads (`cachedInputTokens`) and cache writes (only in
 * `ai.response.providerMetadata`'s `anthropic.cacheCreationInputTokens`), and `totalTokens` is input + output.
 * With more uncached input than cache reads no count showed it (normalize), so a cached call was priced with
 * its reads inside its input and its writes left out: 35% under. AI SDK 6 reports totals, with
 * `ai.usage.inputTokenDetails.*`.
 */
function aiSdk5Anthropic(a: Attributes, u: ResolvedUsage): void {
  const provider = a['ai.model.provider'];
  if (typeof provider !== 'string' || !provider.startsWith('anthropic.') || u.inputTokens === null) return;
  if (a['ai.usage.inputTokenDetails.noCacheTokens'] !== undefined || a['ai.usage.inputTokenDetails.cacheReadTokens'] !== undefined) return;
  const reads = u.cacheReadTokens ?? 0;
  const writes = u.cacheWriteTokens ?? cacheCreationOf(a['ai.response.providerMetadata']) ?? 0;
  if (reads + writes === 0 || u.inputTokens + reads + writes > MAX_TOKENS) return;
  u.inputTokens += reads + writes;
  if (writes > 0) u.cacheWriteTokens = writes;
  if (u.totalTokens !== null && u.outputTokens !== null) u.totalTokens = u.inputTokens + u.outputTokens;
  u.usageNormalized = true;
}

/** `anthropic.cacheCreationInputTokens` of the AI SDK's JSON provider metadata; null when absent or not a count. */
function cacheCreationOf(v: AttrValue | undefined): number | null {
  if (typeof v !== 'string' || !v.includes('cacheCreationInputTokens')) return null;
  try {
    const m = JSON.parse(v) as { anthropic?: { cacheCreationInputTokens?: unknown } } | null;
    const n = asCount(m?.anthropic?.cacheCreationInputTokens as AttrValue);
    return n !== null && n <= MAX_TOKENS ? n : null;
  } catch {
    return null;
  }
}

/**
 * Google ADK 1.x (`trace_call_llm`) reports Gemini's `candidates_token_count` as `gen_ai.usage.output_tokens`,
 * which leaves the thoughts out, and the thoughts as `gen_ai.usage.experimental.reasoning_tokens`, with no total
 * (ADK 2.3 moved to `gen_ai.usage.reasoning.output_tokens`, thoughts inside the output). With fewer thoughts than
 * answer tokens no count showed it (normalize), and the thoughts, billed as output, went unpriced. Known by the key.
 */
function adkThoughts(a: Attributes, u: ResolvedUsage): void {
  if (u.reasoningTokens === null || u.outputTokens === null || a[ADK_REASONING_KEY] === undefined) return;
  if (firstTokens(a, REASONING_KEYS_BEFORE_ADK) !== null) return;
  thoughtsIntoOutput(u);
}

/** Output raised by the reasoning it left out (Gemini's candidates leave the thoughts out), the total with it. */
function thoughtsIntoOutput(u: ResolvedUsage): void {
  if (u.outputTokens === null || u.reasoningTokens === null || u.outputTokens + u.reasoningTokens > MAX_TOKENS) return;
  u.outputTokens += u.reasoningTokens;
  if (u.totalTokens !== null && u.totalTokens < (u.inputTokens ?? 0) + u.outputTokens) {
    u.totalTokens = (u.inputTokens ?? 0) + u.outputTokens;
  }
  u.usageNormalized = true;
}

/** Google ADK's call_llm span: its LlmResponse as JSON, when ADK captures content (its default). */
const ADK_RESPONSE_KEY = 'gcp.vertex.agent.llm_response';

/**
 * Google ADK (src/google/adk/telemetry/tracing.py trace_call_llm) reports only Gemini's prompt_token_count as
 * input and candidates_token_count as output: the cached part of the prompt and the thoughts (which candidates
 * leave out) are only in the LlmResponse it records, under usage_metadata. Without them a cached prompt was priced
 * at the full input rate and a thinking call's thoughts went unpriced. Read only when the response's counts are
 * the ones the span reports, and only what no attribute reports.
 */
function adkResponseUsage(a: Attributes, u: ResolvedUsage): void {
  const v = a[ADK_RESPONSE_KEY];
  if (typeof v !== 'string' || u.inputTokens === null) return;
  // Only the usage_metadata object is parsed, not the response around it: a response is the whole answer (10 MB
  // parsed whole took 106 ms; deeply nested JSON 120-250 ns a byte). The first one whose prompt count is the span's.
  let m: Record<string, AttrValue> | null = null;
  for (let at = v.indexOf(USAGE_KEY), n = 0; at >= 0 && m === null && n < 8; at = v.indexOf(USAGE_KEY, at + 1), n++) {
    const meta = objectAfter(v, at + USAGE_KEY.length);
    if (meta !== null && asCount(meta['prompt_token_count']) === u.inputTokens) m = meta;
  }
  if (m === null) return;
  const cached = asCount(m['cached_content_token_count']);
  if (u.cacheReadTokens === null && cached !== null && cached > 0 && cached <= u.inputTokens) u.cacheReadTokens = cached;
  const thoughts = asCount(m['thoughts_token_count']);
  if (u.reasoningTokens === null && thoughts !== null && thoughts > 0 && u.outputTokens !== null &&
    asCount(m['candidates_token_count']) === u.outputTokens) {
    u.reasoningTokens = thoughts;
    thoughtsIntoOutput(u);
  }
}

/** The key as JSON writes it (inside a JSON string value its quotes would be escaped: no match there). */
const USAGE_KEY = '"usage_metadata"';
/** A usage_metadata object is a few hundred bytes; anything longer is not one. */
const MAX_USAGE_CHARS = 16_384;

/** The JSON object value after a key (at `from`: whitespace, a colon, whitespace, then `{`), parsed; else null. */
function objectAfter(text: string, from: number): Record<string, AttrValue> | null {
  let i = from;
  while (text.charCodeAt(i) <= 32) i++;
  if (text[i] !== ':') return null;
  i++;
  while (text.charCodeAt(i) <= 32) i++;
  if (text[i] !== '{') return null;
  const open = i;
  let depth = 0;
  let inString = false;
  for (const end = Math.min(text.length, open + MAX_USAGE_CHARS); i < end; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) depth++;
    else if ((c === 125 /* } */ || c === 93 /* ] */) && --depth === 0) {
      try {
        const o = JSON.parse(text.slice(open, i + 1)) as unknown;
        return o !== null && typeof o === 'object' && !Array.isArray(o) ? o as Record<string, AttrValue> : null;
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** The reported modality parts; zeros are left out (a part of 0 prices nothing). Null when none is reported. */
function modalityTokens(a: Attributes): ModalityTokens | null {
  let out: ModalityTokens | null = null;
  for (const part of MODALITY_PARTS) {
    const n = firstTokens(a, MODALITY_KEYS[part]);
    if (n !== null && n > 0) (out ??= {})[part] = n;
  }
  return out;
}

export function resolveUsage(a: Attributes): ResolvedUsage {
  const u: ResolvedUsage = {
    inputTokens: firstTokens(a, INPUT_TOKEN_KEYS),
    outputTokens: firstTokens(a, OUTPUT_TOKEN_KEYS),
    cacheReadTokens: firstTokens(a, CACHE_READ_KEYS),
    cacheWriteTokens: firstTokens(a, CACHE_WRITE_KEYS),
    reasoningTokens: firstTokens(a, REASONING_KEYS),
    totalTokens: firstTokens(a, TOTAL_TOKEN_KEYS),
    usageNormalized: false,
  };
  const modality = modalityTokens(a);
  if (modality !== null) u.modalityTokens = modality;
  aiSdk5Anthropic(a, u);
  adkThoughts(a, u);
  adkResponseUsage(a, u);
  if (u.cacheReadTokens !== null || u.cacheWriteTokens !== null || u.reasoningTokens !== null) normalize(u);
  if (u.totalTokens === null && (u.inputTokens !== null || u.outputTokens !== null)) {
    u.totalTokens = (u.inputTokens ?? 0) + (u.outputTokens ?? 0);
  }
  return u;
}
