/**
 * Token usage (DESIGN-mapping.md key order, first valid value wins). Values must be non-negative safe
 * integers (numbers or decimal strings); anything else is ignored and the next key is tried.
 *
 * Per the OTel GenAI conventions input_tokens INCLUDES cache reads/writes and output_tokens INCLUDES
 * reasoning tokens; the counts are stored as reported and the price math (cost.ts) splits them.
 */
import type { NodeRecord } from './types.js';
import type { Attributes } from '../otlp/types.js';
import { firstCount } from './attrs.js';

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

export function resolveUsage(a: Attributes): Usage {
  const inputTokens = firstCount(a, INPUT_TOKEN_KEYS);
  const outputTokens = firstCount(a, OUTPUT_TOKEN_KEYS);
  let totalTokens = firstCount(a, TOTAL_TOKEN_KEYS);
  if (totalTokens === null && (inputTokens !== null || outputTokens !== null)) {
    totalTokens = (inputTokens ?? 0) + (outputTokens ?? 0);
  }
  return {
    inputTokens,
    outputTokens,
    cacheReadTokens: firstCount(a, CACHE_READ_KEYS),
    cacheWriteTokens: firstCount(a, CACHE_WRITE_KEYS),
    reasoningTokens: firstCount(a, REASONING_KEYS),
    totalTokens,
  };
}
