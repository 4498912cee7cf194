/**
 * Hand-written fixtures: OpenInference span kinds not produced by the OpenAI instrumentation, cost
 * (reported vs price table, cache/reasoning pricing, dated and provider-qualified ids), truncation and
 * content capture off.
 */
import { buildSpans, writeFixture, type SpanSpec } from './handwritten-lib.js';

const SRC = 'hand-written (scripts/capture-fixtures/handwritten.ts)';

export function openInferenceKinds(): void {
  const res = { 'service.name': 'oi-svc' };
  writeFixture('openinference-kinds', `${SRC}: OpenInference span kinds and attributes`, buildSpans(4, res, [
    { key: 'agent', name: 'researcher', attrs: {
      'openinference.span.kind': 'AGENT', 'agent.name': 'researcher', 'session.id': 'oi-sess', 'user.id': 'oi-user',
      'input.value': 'Research the Lisbon weather', 'input.mime_type': 'text/plain',
      'output.value': '{"answer":"sunny"}', 'output.mime_type': 'application/json' } },
    { key: 'chain', parent: 'agent', name: 'RunnableSequence', attrs: {
      'openinference.span.kind': 'CHAIN', 'llm.cost.total': 0.0123, 'llm.cost.prompt': 0.01, 'llm.cost.completion': 0.0023,
      'llm.token_count.prompt': 900, 'llm.token_count.completion': 100, 'llm.model_name': 'gpt-4o' } },
    { parent: 'chain', name: 'ChatAnthropic', kind: 3, attrs: {
      'openinference.span.kind': 'LLM', 'llm.provider': 'anthropic', 'llm.system': 'anthropic',
      'llm.model_name': 'claude-3-5-sonnet-20241022', 'llm.token_count.prompt': 2000, 'llm.token_count.completion': 500,
      'llm.token_count.prompt_details.cache_read': 1500, 'llm.token_count.prompt_details.cache_write': 200,
      'llm.token_count.total': 2500, 'llm.invocation_parameters': '{"temperature":0.5,"max_tokens":1024,"top_p":0.95}',
      'llm.input_messages.0.message.role': 'user',
      'llm.input_messages.0.message.contents.0.message_content.type': 'text',
      'llm.input_messages.0.message.contents.0.message_content.text': 'Weather in Lisbon?',
      'llm.output_messages.0.message.role': 'assistant',
      'llm.output_messages.0.message.tool_calls.0.tool_call.id': 'toolu_1',
      'llm.output_messages.0.message.tool_calls.0.tool_call.function.name': 'web_search',
      'llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments': '{"q":"Lisbon weather"}',
      'llm.finish_reason': 'tool_use' } },
    { parent: 'chain', name: 'web_search', attrs: {
      'openinference.span.kind': 'TOOL', 'tool.name': 'web_search', 'tool.id': 'toolu_1',
      'input.value': '{"q":"Lisbon weather"}', 'input.mime_type': 'application/json', 'output.value': 'Sunny, 24°C' } },
    { parent: 'chain', name: 'VectorStoreRetriever', attrs: {
      'openinference.span.kind': 'RETRIEVER', 'input.value': 'Lisbon weather',
      'retrieval.documents.0.document.id': 'doc-1', 'retrieval.documents.0.document.content': 'Lisbon is sunny' } },
    { parent: 'chain', name: 'CohereRerank', attrs: {
      'openinference.span.kind': 'RERANKER', 'reranker.model_name': 'rerank-v3.5', 'reranker.query': 'Lisbon weather',
      'reranker.top_k': 3 } },
    { parent: 'chain', name: 'PII guard', attrs: { 'openinference.span.kind': 'GUARDRAIL', 'input.value': 'check me' } },
    { parent: 'chain', name: 'relevance-eval', attrs: { 'openinference.span.kind': 'EVALUATOR', 'output.value': '0.9' } },
    { parent: 'chain', name: 'unknown-step', attrs: { 'openinference.span.kind': 'UNKNOWN', 'llm.model_name': 'gpt-4o',
      'llm.token_count.prompt': 5 } },
    { parent: 'chain', name: 'render-prompt', attrs: { 'openinference.span.kind': 'PROMPT', 'input.value': 'x' } },
    { parent: 'chain', name: 'lowercase-llm', attrs: { 'openinference.span.kind': 'llm', 'llm.model_name': 'gpt-4o-mini',
      'llm.token_count.prompt': 10, 'llm.token_count.completion': 10, 'gen_ai.usage.cost': 0.5 } },
    { parent: 'chain', name: 'OpenAIEmbeddings', attrs: { 'openinference.span.kind': 'EMBEDDING',
      'embedding.model_name': 'text-embedding-3-small', 'llm.token_count.prompt': 1000, 'llm.token_count.total': 1000,
      'embedding.embeddings.0.embedding.text': 'Lisbon', 'input.value': 'Lisbon' } },
  ]));
}

export function costFixture(): void {
  const res = { 'service.name': 'cost-svc' };
  const chat = (model: string, usage: Record<string, number>, extra: Record<string, string | number> = {}) => ({
    'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model, ...usage, ...extra,
  });
  writeFixture('cost', `${SRC}: reported cost vs price table, cache/reasoning pricing, model id forms`, buildSpans(5, res, [
    { name: 'dated gpt-4o', attrs: chat('gpt-4o-2024-08-06', { 'gen_ai.usage.input_tokens': 1_000_000, 'gen_ai.usage.output_tokens': 1_000_000 }) },
    { name: 'dated gpt-4o-mini', attrs: chat('gpt-4o-mini-2024-07-18', { 'gen_ai.usage.input_tokens': 1_000_000, 'gen_ai.usage.output_tokens': 1_000_000 }) },
    { name: 'opus 4.5 cache', attrs: chat('claude-opus-4-5-20251101', { 'gen_ai.usage.input_tokens': 100_000,
      'gen_ai.usage.cache_read.input_tokens': 60_000, 'gen_ai.usage.cache_creation.input_tokens': 20_000,
      'gen_ai.usage.output_tokens': 10_000 }) },
    { name: 'o4-mini reasoning', attrs: chat('o4-mini-2025-04-16', { 'gen_ai.usage.input_tokens': 2000,
      'gen_ai.usage.cache_read.input_tokens': 1000, 'gen_ai.usage.output_tokens': 5000, 'gen_ai.usage.reasoning.output_tokens': 4000 }) },
    { name: 'openrouter id', attrs: chat('openai/gpt-4.1-mini', { 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 1000 }) },
    { name: 'gemini path id', attrs: chat('models/gemini-2.5-flash', { 'gen_ai.usage.input_tokens': 10_000,
      'gen_ai.usage.cache_read.input_tokens': 8000, 'gen_ai.usage.output_tokens': 500 }) },
    { name: 'unknown model', attrs: chat('my-local-llama', { 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 100 }) },
    { name: 'no tokens', attrs: chat('gpt-4o', {}) },
    { name: 'total only', attrs: chat('gpt-4o', { 'gen_ai.usage.total_tokens': 100 }) },
    { name: 'reported beats table', attrs: chat('gpt-4o', { 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 1000,
      'gen_ai.usage.cost': 0.42 }) },
    { name: 'reported split only', attrs: chat('gpt-4o', { 'gen_ai.usage.input_tokens': 1000 }, { 'llm.cost.prompt': 0.001,
      'llm.cost.completion': '0.002' }) },
    { name: 'cache exceeds input', attrs: chat('claude-3-5-sonnet-latest', { 'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.cache_read.input_tokens': 150, 'gen_ai.usage.output_tokens': 10 }) },
    { name: 'response model unknown', attrs: chat('gpt-4o', { 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 0 },
      { 'gen_ai.response.model': 'my-azure-deployment' }) },
    { name: 'mistral', attrs: chat('mistral-small-latest', { 'gen_ai.usage.input_tokens': 1_000_000, 'gen_ai.usage.output_tokens': 1_000_000 },
      { 'gen_ai.provider.name': 'mistral_ai' }) },
    { name: 'groq llama', attrs: chat('llama-3.3-70b-versatile', { 'gen_ai.usage.input_tokens': 1_000_000, 'gen_ai.usage.output_tokens': 1_000_000 },
      { 'gen_ai.provider.name': 'groq' }) },
  ]));
}

export function contentFixtures(): void {
  const res = { 'service.name': 'content-svc' };
  const longText = 'The quick brown fox jumps over the lazy dog. '.repeat(4);
  const specs: SpanSpec[] = [
    { name: 'long messages', attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: longText }] }]),
      'gen_ai.output.messages': '[{"role":"assistant","parts":[{"type":"text","content":"ok"}]}]' } },
    { name: 'plain text', attrs: { 'openinference.span.kind': 'LLM', 'input.value': longText, 'output.value': '42' } },
    { name: 'nul and emoji', attrs: { 'openinference.span.kind': 'LLM', 'input.value': 'nul:\u0000 end',
      'output.value': 'x'.repeat(38) + '😀 tail' } },
    { name: 'json scalar', attrs: { 'openinference.span.kind': 'TOOL', 'input.value': '"quoted"', 'input.mime_type': 'application/json',
      'output.value': '"quoted"' } },
  ];
  writeFixture('truncation', `${SRC}: content truncation at maxContentChars=40`, buildSpans(6, res, specs), { maxContentChars: 40 });
  writeFixture('content-off', `${SRC}: captureContent=false keeps prompt_hash only`, buildSpans(7, res, specs), { captureContent: false });
}
