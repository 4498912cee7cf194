/**
 * Token usage (DESIGN-mapping.md key order, first valid value wins). Values must be non-negative integers
 * up to MAX_TOKENS (numbers or decimal strings); anything else is ignored and the next key is tried.
 *
 * Per the OTel GenAI conventions input_tokens INCLUDES cache reads/writes and output_tokens INCLUDES
 * reasoning tokens; the counts are stored as reported and the price math (cost.ts) splits them.
 */
import type { NodeRecord } from './types.js';
import type { Attributes } from '../otlp/types.js';
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
] as const;
export const CACHE_WRITE_KEYS = [
  'gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_write.input_tokens',
  'gen_ai.usage.cache_creation_input_tokens', 'llm.token_count.prompt_details.cache_write',
  'ai.usage.inputTokenDetails.cacheWriteTokens',
] as const;
export const REASONING_KEYS = [
  'gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.reasoning_tokens', 'llm.usage.reasoning_tokens',
  'llm.token_count.completion_details.reasoning', 'ai.usage.outputTokenDetails.reasoningTokens',
  'ai.usage.reasoningTokens',
] as const;
export const TOTAL_TOKEN_KEYS = [
  'gen_ai.usage.total_tokens', 'llm.usage.total_tokens', 'llm.token_count.total', 'ai.usage.totalTokens',
] as const;

export type Usage = Pick<NodeRecord,
  'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'reasoningTokens' | 'totalTokens'>;

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

export function resolveUsage(a: Attributes): Usage {
  const inputTokens = firstTokens(a, INPUT_TOKEN_KEYS);
  const outputTokens = firstTokens(a, OUTPUT_TOKEN_KEYS);
  let totalTokens = firstTokens(a, TOTAL_TOKEN_KEYS);
  if (totalTokens === null && (inputTokens !== null || outputTokens !== null)) {
    totalTokens = (inputTokens ?? 0) + (outputTokens ?? 0);
  }
  return {
    inputTokens,
    outputTokens,
    cacheReadTokens: firstTokens(a, CACHE_READ_KEYS),
    cacheWriteTokens: firstTokens(a, CACHE_WRITE_KEYS),
    reasoningTokens: firstTokens(a, REASONING_KEYS),
    totalTokens,
  };
}
