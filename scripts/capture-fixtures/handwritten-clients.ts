/**
 * Hand-written fixture of what current GenAI clients send that the mapping once misread: keys and values
 * copied from each client's own source (file and version on each span's comment), one trace per client.
 */
import { buildSpans, writeFixture } from './handwritten-lib.js';

const SRC = 'hand-written (scripts/capture-fixtures/handwritten-clients.ts)';

export function clientKeys(): void {
  const res = { 'service.name': 'clients-svc' };
  const bedrockModel = 'us.anthropic.claude-sonnet-4-20250514-v1:0';
  writeFixture('client-keys', `${SRC}: Strands Agents, Google ADK 1.x, Spring AI, LiteLLM, AI SDK 7 keys and values`, buildSpans(17, res, [
    // Strands Agents 1.40.0, src/strands/telemetry/tracer.py (default conventions, Bedrock model): the agent span
    // carries the accumulated usage, the model span `chat` the call's; cache writes only as
    // gen_ai.usage.cache_write_input_tokens. Bedrock's inputTokens leaves the cache out; its totalTokens counts it.
    { trace: 1, key: 'agent', name: 'invoke_agent Strands Agents', attrs: {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.system': 'strands-agents', 'gen_ai.agent.name': 'Strands Agents',
      'gen_ai.request.model': bedrockModel, 'gen_ai.usage.prompt_tokens': 14, 'gen_ai.usage.input_tokens': 14,
      'gen_ai.usage.completion_tokens': 264, 'gen_ai.usage.output_tokens': 264, 'gen_ai.usage.total_tokens': 2903,
      'gen_ai.usage.cache_read_input_tokens': 0, 'gen_ai.usage.cache_write_input_tokens': 2625 } },
    { trace: 1, key: 'cycle', parent: 'agent', name: 'execute_event_loop_cycle', attrs: {
      'gen_ai.operation.name': 'execute_event_loop_cycle', 'gen_ai.system': 'strands-agents' } },
    { trace: 1, parent: 'cycle', name: 'chat', attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'strands-agents', 'gen_ai.request.model': bedrockModel,
      'gen_ai.usage.prompt_tokens': 14, 'gen_ai.usage.input_tokens': 14, 'gen_ai.usage.completion_tokens': 264,
      'gen_ai.usage.output_tokens': 264, 'gen_ai.usage.total_tokens': 2903, 'gen_ai.usage.cache_read_input_tokens': 0,
      'gen_ai.usage.cache_write_input_tokens': 2625, 'gen_ai.server.time_to_first_token': 410 } },
    // Google ADK 1.x, trace_call_llm (tests/unittests/telemetry/test_spans.py before 2.3): output_tokens is
    // Gemini's candidates_token_count, which leaves the thoughts out; they come as
    // gen_ai.usage.experimental.reasoning_tokens. No operation name, no total. Two calls: thoughts above and
    // below the visible answer.
    { trace: 2, key: 'adk', name: 'invoke_agent weather_agent', attrs: {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'weather_agent', 'gen_ai.conversation.id': 'adk-s1' } },
    { trace: 2, parent: 'adk', name: 'call_llm', attrs: {
      'gen_ai.system': 'gcp.vertex.agent', 'gen_ai.request.model': 'gemini-2.5-flash', 'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.output_tokens': 80, 'gen_ai.usage.experimental.reasoning_tokens_limit': 1024,
      'gen_ai.usage.experimental.reasoning_tokens': 900, 'gen_ai.response.finish_reasons': ['stop'] } },
    { trace: 2, parent: 'adk', name: 'call_llm', attrs: {
      'gen_ai.system': 'gcp.vertex.agent', 'gen_ai.request.model': 'gemini-2.5-flash', 'gen_ai.usage.input_tokens': 1500,
      'gen_ai.usage.output_tokens': 500, 'gen_ai.usage.experimental.reasoning_tokens': 120,
      'gen_ai.response.finish_reasons': ['stop'] } },
    // Spring AI 2.0 (spring-ai-commons AiOperationType: EMBEDDING("embedding"); spring-ai-model
    // DefaultEmbeddingModelObservationConvention): span `embedding <model>`, Micrometer key values as strings.
    { trace: 3, key: 'spring', name: 'http post /embed', attrs: { 'http.request.method': 'POST' } },
    { trace: 3, parent: 'spring', name: 'embedding text-embedding-3-small', attrs: {
      'gen_ai.operation.name': 'embedding', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'text-embedding-3-small',
      'gen_ai.response.model': 'text-embedding-3-small', 'gen_ai.usage.input_tokens': '8', 'gen_ai.usage.total_tokens': '8' } },
    { trace: 3, parent: 'spring', name: 'chat gpt-4o-mini', attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.usage.input_tokens': '20',
      'gen_ai.usage.output_tokens': '5', 'gen_ai.usage.total_tokens': '25' } },
    // LiteLLM proxy (litellm/integrations/opentelemetry.py set_attributes, as stored at commit 00145a6; CallTypes in
    // litellm/types/utils.py): gen_ai.operation.name is the call type ("completion" written as "chat"), so the
    // proxy's async calls say acompletion / aembedding; finish reasons are one JSON text; usage, model and
    // content on the "Received Proxy Server Request" span (1.81 and later).
    { trace: 4, name: 'Received Proxy Server Request', kind: 2, attrs: {
      'gen_ai.operation.name': 'acompletion', 'gen_ai.request.type': 'acompletion', 'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.total_tokens': 25, 'gen_ai.usage.output_tokens': 5, 'gen_ai.usage.input_tokens': 20,
      'gen_ai.response.finish_reasons': '["stop"]', 'gen_ai.request.stream': 'False' } },
    { trace: 5, name: 'Received Proxy Server Request', kind: 2, attrs: {
      'gen_ai.operation.name': 'aembedding', 'gen_ai.request.type': 'aembedding', 'gen_ai.system': 'openai',
      'gen_ai.request.model': 'text-embedding-3-small', 'gen_ai.response.model': 'text-embedding-3-small',
      'gen_ai.usage.total_tokens': 8, 'gen_ai.usage.output_tokens': '', 'gen_ai.usage.input_tokens': 8 } },
    // a failed call: no usage, only the call type says what it was
    { trace: 6, name: 'Received Proxy Server Request', kind: 2, status: 2, statusMessage: 'RateLimitError', attrs: {
      'gen_ai.operation.name': 'acompletion', 'gen_ai.system': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-5' } },
    // Vercel AI SDK 7, @ai-sdk/otel 1.0.77 (packages/otel/src/open-telemetry.ts): generateText is a span
    // `invoke_agent <model id>` (gen_ai.agent.name only when a functionId is given), a step span (agent_step),
    // and the model call `chat <model id>`; the root repeats the calls' usage.
    { trace: 7, key: 'ai7', name: 'invoke_agent gpt-4o-mini', attrs: {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 30, 'gen_ai.usage.output_tokens': 12, 'gen_ai.response.finish_reasons': ['stop'] } },
    { trace: 7, key: 'ai7step', parent: 'ai7', name: 'step 1', attrs: { 'gen_ai.operation.name': 'agent_step' } },
    { trace: 7, parent: 'ai7step', name: 'chat gpt-4o-mini', attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.usage.input_tokens': 30, 'gen_ai.usage.output_tokens': 12 } },
    { trace: 8, name: 'invoke_agent gpt-4o-mini', attrs: {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.agent.name': 'weather-bot' } },
  ]));
}
