/**
 * Hand-written fixtures for conventions without an in-repo producer (keys per the OTel GenAI semconv 1.41,
 * its deprecated predecessors, OpenLLMetry/Traceloop semconv-ai and OpenInference span kinds).
 */
import { buildSpans, writeFixture } from './handwritten-lib.js';

const SRC = 'hand-written (scripts/capture-fixtures/handwritten.ts)';

export function otelGenAiCurrent(): void {
  const res = { 'service.name': 'travel-svc', 'deployment.environment.name': 'staging' };
  const prod = { ...res, 'deployment.environment.name': 'prod' };
  writeFixture('otel-genai', `${SRC}: OTel GenAI semconv 1.41 keys`, buildSpans(1, res, [
    { key: 'agent', name: 'invoke_agent travel-agent', kind: 3, attrs: {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'travel-agent', 'gen_ai.agent.id': 'agt_1',
      'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4.1', 'gen_ai.conversation.id': 'conv-42',
      'user.id': 'user-7' } },
    { parent: 'agent', name: 'chat gpt-4.1', kind: 3, attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4.1',
      'gen_ai.response.model': 'gpt-4.1-2025-04-14', 'gen_ai.response.id': 'chatcmpl-abc',
      'gen_ai.response.finish_reasons': ['tool_call'], 'gen_ai.request.temperature': 0.7, 'gen_ai.request.top_p': 1,
      'gen_ai.request.max_tokens': 512, 'gen_ai.usage.input_tokens': '1200', 'gen_ai.usage.output_tokens': 300,
      'gen_ai.usage.cache_read.input_tokens': 1000, 'gen_ai.conversation.id': 'conv-42',
      'gen_ai.system_instructions': '[{"type":"text","content":"You are a travel agent."}]',
      'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"Find me a flight to Lisbon"}]}]',
      'gen_ai.output.messages': '[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"search_flights","arguments":{"to":"LIS"}}],"finish_reason":"tool_call"}]' } },
    { parent: 'agent', name: 'execute_tool search_flights', attrs: {
      'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search_flights', 'gen_ai.tool.call.id': 'call_1',
      'gen_ai.tool.type': 'function', 'gen_ai.tool.call.arguments': '{"to":"LIS"}', 'gen_ai.tool.call.result': '{"flights":2}' } },
    { parent: 'agent', name: 'chat o3', kind: 3, attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'o3',
      'gen_ai.request.max_completion_tokens': 4096, 'gen_ai.usage.input_tokens': 500, 'gen_ai.usage.output_tokens': 2000,
      'gen_ai.usage.reasoning.output_tokens': 1500, 'gen_ai.response.finish_reasons': ['stop'] } },
    { parent: 'agent', name: 'embeddings text-embedding-3-large', kind: 3, attrs: {
      'gen_ai.operation.name': 'embeddings', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'text-embedding-3-large',
      'gen_ai.usage.input_tokens': 64, 'gen_ai.request.encoding_formats': ['float'] } },
    { parent: 'agent', name: 'retrieval flights-index', attrs: {
      'gen_ai.operation.name': 'retrieval', 'gen_ai.data_source.id': 'flights-index',
      'gen_ai.retrieval.query.text': 'flights to LIS' } },
    { parent: 'agent', name: 'POST /v1/chat/completions', kind: 3, attrs: {
      'http.request.method': 'POST', 'url.full': 'https://api.openai.com/v1/chat/completions', 'http.response.status_code': 200 } },
    { parent: 'agent', name: 'custom-llm-call', attrs: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 5 } },
    { parent: 'agent', name: 'lookup_weather', attrs: { 'gen_ai.tool.name': 'lookup_weather', 'gen_ai.tool.call.id': 'call_2' } },
    { parent: 'agent', name: 'frobnicate', attrs: { 'gen_ai.operation.name': 'frobnicate' } },
    { parent: 'agent', name: 'chat bad-usage', attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': -5, 'gen_ai.usage.prompt_tokens': 7, 'gen_ai.usage.output_tokens': 'abc',
      'gen_ai.usage.completion_tokens': 2.5, 'gen_ai.request.temperature': 'hot' } },
    { key: 'wf', trace: 2, name: 'invoke_workflow nightly-report', resource: prod,
      attrs: { 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': 'nightly-report' } },
    { parent: 'wf', trace: 2, name: 'chat claude-sonnet-4-5', kind: 3, resource: prod, attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.response.model': 'claude-sonnet-4-5-20250929', 'gen_ai.usage.input_tokens': 10000,
      'gen_ai.usage.cache_read.input_tokens': 6000, 'gen_ai.usage.cache_creation.input_tokens': 2000,
      'gen_ai.usage.output_tokens': 800, 'gen_ai.response.finish_reasons': ['end_turn'] } },
    { parent: 'wf', trace: 2, name: 'chat gpt-4o', kind: 3, resource: prod, status: 2, statusMessage: 'rate limited', attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o',
      'error.type': 'RateLimitError' } },
  ]));
}

export function otelGenAiDeprecated(): void {
  const res = { 'service.name': 'legacy-svc', 'deployment.environment': 'dev' };
  writeFixture('otel-genai-deprecated', `${SRC}: deprecated OTel GenAI keys (gen_ai.system, prompt/completion tokens, gen_ai.prompt.N)`, buildSpans(2, res, [
    { name: 'chat gpt-4o', kind: 3, attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06', 'gen_ai.usage.prompt_tokens': 100, 'gen_ai.usage.completion_tokens': 50,
      'gen_ai.usage.cache_read_input_tokens': 40, 'gen_ai.response.finish_reason': 'stop', 'gen_ai.user': 'legacy-user',
      'gen_ai.prompt.0.role': 'system', 'gen_ai.prompt.0.content': 'Be brief.',
      'gen_ai.prompt.1.role': 'user', 'gen_ai.prompt.1.content': 'Hi there',
      'gen_ai.completion.0.role': 'assistant', 'gen_ai.completion.0.content': 'Hello!',
      'gen_ai.completion.0.finish_reason': 'stop' } },
    { name: 'chat claude-3-5-haiku', kind: 3, attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'anthropic', 'gen_ai.request.model': 'claude-3-5-haiku-20241022',
      'gen_ai.usage.input_tokens': 3000, 'gen_ai.usage.output_tokens': 200,
      'gen_ai.usage.cache_creation_input_tokens': 1000, 'gen_ai.usage.cache_read_input_tokens': 1500,
      'gen_ai.usage.reasoning_tokens': 0, 'gen_ai.prompt': 'Summarise the report' } },
    { name: 'chat azure', kind: 3, attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'az.ai.openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 10, 'gen_ai.usage.total_tokens': 25 } },
    { name: 'chat bedrock', kind: 3, attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'aws.bedrock',
      'gen_ai.request.model': 'us.anthropic.claude-3-7-sonnet-20250219-v1:0', 'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 100 } },
    { name: 'chat gpt-4o-mini', kind: 3, status: 2, attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' },
      events: [{ name: 'exception', attrs: { 'exception.type': 'openai.APIConnectionError', 'exception.message': 'Connection error.' } }] },
    { name: 'chat handled-retry', kind: 3, attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' },
      events: [{ name: 'exception', attrs: { 'exception.type': 'TimeoutError', 'exception.message': 'retrying' } }] },
  ]));
}

export function traceloop(): void {
  const res = { 'service.name': 'joke-svc' };
  const assoc = { 'traceloop.association.properties.session_id': 'sess-1', 'traceloop.association.properties.user_id': 'user-1' };
  writeFixture('traceloop', `${SRC}: OpenLLMetry / Traceloop semconv-ai keys`, buildSpans(3, res, [
    { key: 'wf', name: 'joke_generator.workflow', attrs: {
      'traceloop.span.kind': 'workflow', 'traceloop.workflow.name': 'joke_generator', 'traceloop.entity.name': 'joke_generator',
      'traceloop.entity.input': '{"args":[],"kwargs":{"topic":"cats"}}', 'traceloop.entity.output': '"Why did the cat sit on the computer?"',
      ...assoc } },
    { key: 'agent', parent: 'wf', name: 'joke_agent.agent', attrs: {
      'traceloop.span.kind': 'agent', 'traceloop.entity.name': 'joke_agent', 'traceloop.workflow.name': 'joke_generator', ...assoc } },
    { parent: 'agent', name: 'search_tool.tool', attrs: {
      'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'search_tool', 'traceloop.workflow.name': 'joke_generator',
      'traceloop.entity.input': '{"query":"cat jokes"}', 'traceloop.entity.output': 'three results' } },
    { key: 'task', parent: 'agent', name: 'create_joke.task', attrs: {
      'traceloop.span.kind': 'task', 'traceloop.entity.name': 'create_joke', 'traceloop.workflow.name': 'joke_generator' } },
    { parent: 'task', name: 'openai.chat', kind: 3, attrs: {
      'llm.request.type': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.request.temperature': 0.9, 'gen_ai.request.max_tokens': 256,
      'gen_ai.usage.prompt_tokens': 15, 'gen_ai.usage.completion_tokens': 25, 'llm.usage.total_tokens': 40,
      'llm.is_streaming': false, 'traceloop.workflow.name': 'joke_generator',
      'gen_ai.prompt.0.role': 'user', 'gen_ai.prompt.0.content': 'Tell me a joke about cats',
      'gen_ai.completion.0.role': 'assistant', 'gen_ai.completion.0.content': 'Why did the cat sit on the computer?',
      'gen_ai.completion.0.finish_reason': 'stop', 'gen_ai.completion.0.tool_calls.0.name': 'search_tool',
      'gen_ai.completion.0.tool_calls.0.arguments': '{"query":"cat jokes"}', ...assoc } },
    { parent: 'task', name: 'openai.embeddings', kind: 3, attrs: {
      'llm.request.type': 'embedding', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'text-embedding-ada-002',
      'gen_ai.usage.prompt_tokens': 12, 'gen_ai.prompt.0.content': 'cat jokes' } },
    { parent: 'task', name: 'cohere.rerank', kind: 3, attrs: {
      'llm.request.type': 'rerank', 'gen_ai.system': 'Cohere', 'gen_ai.request.model': 'rerank-english-v3.0' } },
    { parent: 'task', name: 'anthropic.completion', kind: 3, attrs: {
      'llm.request.type': 'completion', 'gen_ai.system': 'Anthropic', 'gen_ai.request.model': 'claude-3-haiku-20240307',
      'gen_ai.usage.prompt_tokens': 2000, 'gen_ai.usage.completion_tokens': 100,
      'gen_ai.usage.cache_creation_input_tokens': 500, 'gen_ai.usage.cache_read_input_tokens': 1000 } },
  ]));
}
