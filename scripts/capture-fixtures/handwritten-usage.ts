/**
 * Hand-written fixtures for token usage keys (one key per span), usage that evidently excludes cache or
 * reasoning tokens, usage without a model key, and gen_ai.operation.name values.
 */
import type { Attributes } from '../../src/otlp/types.js';
import { buildSpans, writeFixture, type SpanSpec } from './handwritten-lib.js';

const SRC = 'hand-written (scripts/capture-fixtures/handwritten-usage.ts)';

export function usageKeys(): void {
  const res = { 'service.name': 'usage-svc' };
  const chat = (model: string, attrs: Attributes): Attributes => ({
    'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model, ...attrs });
  const one = (key: string, extra: Attributes = {}): SpanSpec => ({ name: key, attrs: chat('gpt-4o', {
    'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 500, [key]: 200, ...extra }) });
  writeFixture('usage-keys', `${SRC}: every cache / reasoning key on its own; usage that excludes cache or reasoning`, buildSpans(12, res, [
    one('gen_ai.usage.cache_read.input_tokens'),
    one('gen_ai.usage.cache_creation.input_tokens'),
    one('gen_ai.usage.cache_write.input_tokens'),
    one('gen_ai.usage.reasoning.output_tokens'),
    one('gen_ai.usage.cache_read_input_tokens'), // OpenLLMetry
    one('gen_ai.usage.cache_creation_input_tokens'), // OpenLLMetry
    one('gen_ai.usage.reasoning_tokens'), // OpenLLMetry
    one('gen_ai.usage.details.thoughts_tokens'), // Pydantic AI (Gemini)
    one('gen_ai.usage.details.reasoning_tokens'), // Pydantic AI (OpenAI)
    // OpenLLMetry's Anthropic instrumentation before it included cache: Anthropic's raw input_tokens (cache excluded)
    { name: 'anthropic.chat raw input', attrs: chat('claude-sonnet-4-5-20250929', {
      'gen_ai.provider.name': 'anthropic', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 70,
      'gen_ai.usage.cache_read.input_tokens': 1000, 'gen_ai.usage.cache_creation.input_tokens': 232,
      'gen_ai.usage.total_tokens': 80 }) },
    // raw input larger than the cache, but the reported total counts the cache on top of it
    { name: 'total counts cache on top', attrs: chat('claude-sonnet-4-5-20250929', {
      'gen_ai.provider.name': 'anthropic', 'gen_ai.usage.input_tokens': 5000, 'gen_ai.usage.output_tokens': 100,
      'gen_ai.usage.cache_read_input_tokens': 1000, 'llm.usage.total_tokens': 6100 }) },
    // input that includes its cache (everything cached): stored as reported
    { name: 'input includes cache', attrs: chat('claude-sonnet-4-5-20250929', {
      'gen_ai.provider.name': 'anthropic', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 10,
      'gen_ai.usage.cache_read.input_tokens': 1000 }) },
    // Gemini: candidates (output) exclude thoughts; the total shows it
    { name: 'gemini thoughts outside output', attrs: chat('gemini-2.5-flash', {
      'gen_ai.provider.name': 'gcp.gemini', 'gen_ai.usage.input_tokens': 300, 'gen_ai.usage.output_tokens': 100,
      'gen_ai.usage.reasoning.output_tokens': 50, 'gen_ai.usage.total_tokens': 450 }) },
    { name: 'reasoning above output', attrs: chat('o3', {
      'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20,
      'gen_ai.usage.reasoning.output_tokens': 300 }) },
  ]));
}

export function usageWithoutModel(): void {
  const res = { 'service.name': 'no-model-svc' };
  writeFixture('usage-no-model', `${SRC}: spans carrying token usage but no model key`, buildSpans(13, res, [
    { key: 'root', name: 'handle', attrs: { 'http.request.method': 'POST' } },
    { parent: 'root', name: 'llm-call', attrs: { 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 30 } },
    { parent: 'root', name: 'oi-step', attrs: { 'llm.token_count.prompt': 15, 'llm.token_count.completion': 5, 'llm.token_count.total': 20 } },
    { parent: 'root', name: 'vercel-usage', attrs: { 'ai.usage.inputTokens': 8, 'ai.usage.outputTokens': 2 } },
    { parent: 'root', name: 'total-only', attrs: { 'gen_ai.usage.total_tokens': 42 } },
    { parent: 'root', name: 'not-usage', attrs: { 'gen_ai.usage.input_tokens': 'many', 'http.response.status_code': 200 } },
  ]));
}

export function operations(): void {
  const res = { 'service.name': 'ops-svc' };
  writeFixture('otel-operations', `${SRC}: gen_ai.operation.name values`, buildSpans(14, res, [
    { key: 'wf', name: 'invoke_workflow nightly', attrs: { 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': 'nightly' } },
    { parent: 'wf', name: 'rerank rerank-v3.5', attrs: { 'gen_ai.operation.name': 'rerank', 'gen_ai.provider.name': 'cohere',
      'gen_ai.request.model': 'rerank-v3.5' } },
    { parent: 'wf', name: 'generate_content gemini-2.5-flash', attrs: { 'gen_ai.operation.name': 'generate_content',
      'gen_ai.provider.name': 'gcp.gemini', 'gen_ai.request.model': 'gemini-2.5-flash', 'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 20 } },
    { parent: 'wf', name: 'text_completion gpt-3.5-turbo-instruct', attrs: { 'gen_ai.operation.name': 'text_completion',
      'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-3.5-turbo-instruct', 'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 10 } },
    { parent: 'wf', name: 'retrieval kb', attrs: { 'gen_ai.operation.name': 'retrieval', 'gen_ai.data_source.id': 'kb' } },
    { parent: 'wf', name: 'create_agent Booker', attrs: { 'gen_ai.operation.name': 'create_agent', 'gen_ai.agent.name': 'Booker' } },
    { parent: 'wf', name: 'invoke_workflow sub', attrs: { 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': 'sub' } },
  ]));
}
