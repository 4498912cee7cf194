/**
 * What current clients send, mapped: the client-keys fixture (scripts/capture-fixtures/handwritten-clients.ts;
 * each span's source file and version are cited there). One describe per client.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Attributes, SpanRecord } from '../otlp/types.js';
import type { NodeRecord } from './types.js';
import { createMapper, loadPriceTable, mapSpans } from './index.js';
import { resolveUsage } from './usage.js';

const spans = (JSON.parse(readFileSync(fileURLToPath(new URL('../../testdata/mapping/client-keys.spans.json', import.meta.url)),
  'utf8')) as { spans: SpanRecord[] }).spans;
const mapped = mapSpans(spans, createMapper({ prices: loadPriceTable(), maxContentChars: 4000, captureContent: true }));

function node(trace: number, name: string, nth = 0): NodeRecord | null {
  const hits = mapped.filter((m) => m.span.traceId.endsWith(String(trace)) && m.span.name === name);
  if (hits.length <= nth) throw new Error(`no span "${name}" #${nth} in trace ${trace}`);
  return hits[nth]!.node;
}

describe('Strands Agents 1.40 (Bedrock)', () => {
  it('reads the cache writes of gen_ai.usage.cache_write_input_tokens and counts them in the input', () => {
    // Bedrock's inputTokens leaves the cache out: 14 + 2625 written = the 2639 input tokens billed
    expect(node(1, 'chat')).toMatchObject({ nodeType: 'LLM', provider: null, inputTokens: 2639, cacheWriteTokens: 2625,
      cacheReadTokens: 0, outputTokens: 264, totalTokens: 2903, usageNormalized: true });
  });

  it('maps the agent span, whose accumulated usage is an aggregate of its calls, to an AGENT', () => {
    expect(node(1, 'invoke_agent Strands Agents')).toMatchObject({ nodeType: 'AGENT', agentName: 'Strands Agents',
      cacheWriteTokens: 2625 });
    expect(node(1, 'execute_event_loop_cycle')).toBeNull();
  });
});

describe('Google ADK 1.x (call_llm)', () => {
  it('reads gen_ai.usage.experimental.reasoning_tokens, which its output_tokens (Gemini candidates) leave out', () => {
    expect(node(2, 'call_llm', 0)).toMatchObject({ nodeType: 'LLM', modelName: 'gemini-2.5-flash', inputTokens: 1200,
      outputTokens: 980, reasoningTokens: 900, totalTokens: 2180, usageNormalized: true });
    // fewer thoughts than answer tokens: no count shows the exclusion, the key does
    expect(node(2, 'call_llm', 1)).toMatchObject({ inputTokens: 1500, outputTokens: 620, reasoningTokens: 120,
      totalTokens: 2120, usageNormalized: true });
  });
});

describe('Spring AI 2.0', () => {
  it('maps gen_ai.operation.name "embedding" to an EMBEDDING node, not an LLM call', () => {
    expect(node(3, 'embedding text-embedding-3-small')).toMatchObject({ nodeType: 'EMBEDDING', operation: 'embedding',
      provider: 'openai', modelName: 'text-embedding-3-small', inputTokens: 8, totalTokens: 8 });
    expect(node(3, 'chat gpt-4o-mini')).toMatchObject({ nodeType: 'LLM', inputTokens: 20, outputTokens: 5 });
  });
});

describe('LiteLLM proxy', () => {
  it('maps its call types in gen_ai.operation.name: acompletion is an LLM call, aembedding an embedding', () => {
    expect(node(4, 'Received Proxy Server Request')).toMatchObject({ nodeType: 'LLM', operation: 'acompletion',
      inputTokens: 20, outputTokens: 5 });
    expect(node(5, 'Received Proxy Server Request')).toMatchObject({ nodeType: 'EMBEDDING', operation: 'aembedding',
      inputTokens: 8, outputTokens: null });
    // without usage only the call type says it was a call: the failure is a node
    expect(node(6, 'Received Proxy Server Request')).toMatchObject({ nodeType: 'LLM', status: 'FAILED',
      errorMessage: 'RateLimitError', modelName: 'claude-sonnet-4-5' });
  });

  it('reads finish reasons sent as one JSON text', () => {
    expect(node(4, 'Received Proxy Server Request')!.finishReasons).toEqual(['stop']);
  });
});

describe('Vercel AI SDK 7 (@ai-sdk/otel)', () => {
  it('does not take the model id in the span name `invoke_agent <model id>` for an agent name', () => {
    expect(node(7, 'invoke_agent gpt-4o-mini')).toMatchObject({ nodeType: 'AGENT', agentName: null, inputTokens: 30 });
    expect(node(7, 'step 1')).toBeNull();
    expect(node(7, 'chat gpt-4o-mini')).toMatchObject({ nodeType: 'LLM', agentName: null, inputTokens: 30 });
    expect(node(8, 'invoke_agent gpt-4o-mini')).toMatchObject({ nodeType: 'AGENT', agentName: 'weather-bot' });
  });
});

describe('Google ADK (trace_call_llm: usage in its recorded LlmResponse)', () => {
  // src/google/adk/telemetry/tracing.py: input_tokens = prompt_token_count, output_tokens = candidates_token_count;
  // the cache and the thoughts only in gcp.vertex.agent.llm_response (LlmResponse.model_dump_json)
  const response = (meta: Record<string, number>) => JSON.stringify({
    content: { role: 'model', parts: [{ text: 'Sunny, 21°C.' }] }, usage_metadata: meta });
  const adk = (meta: Record<string, number>, more: Attributes = {}) => ({
    'gen_ai.system': 'gcp.vertex.agent', 'gen_ai.request.model': 'gemini-2.5-flash', 'gen_ai.usage.input_tokens': 5200,
    'gen_ai.usage.output_tokens': 80, 'gcp.vertex.agent.llm_response': response(meta), ...more });

  it('reads the cached prompt and the thoughts, which its counts leave out', () => {
    expect(resolveUsage(adk({ prompt_token_count: 5200, cached_content_token_count: 4096, candidates_token_count: 80,
      thoughts_token_count: 900, total_token_count: 6180 }))).toMatchObject({
      inputTokens: 5200, cacheReadTokens: 4096, outputTokens: 980, reasoningTokens: 900, totalTokens: 6180, usageNormalized: true });
  });

  it('leaves the counts alone where an attribute reports them, or the response is another call\'s', () => {
    const meta = { prompt_token_count: 5200, cached_content_token_count: 4096, candidates_token_count: 80, thoughts_token_count: 900 };
    expect(resolveUsage(adk(meta, { 'gen_ai.usage.cache_read.input_tokens': 1000, 'gen_ai.usage.reasoning.output_tokens': 900,
      'gen_ai.usage.output_tokens': 980 }))).toMatchObject({ cacheReadTokens: 1000, outputTokens: 980, reasoningTokens: 900 });
    expect(resolveUsage(adk({ ...meta, prompt_token_count: 7 }))).toMatchObject({ cacheReadTokens: null, outputTokens: 80, reasoningTokens: null });
    expect(resolveUsage(adk(meta, { 'gcp.vertex.agent.llm_response': '{}' }))).toMatchObject({ cacheReadTokens: null, outputTokens: 80 });
    expect(resolveUsage(adk(meta, { 'gcp.vertex.agent.llm_response': '{"usage_metadata": ' }))).toMatchObject({ cacheReadTokens: null });
  });

  it('finds usage_metadata in any JSON layout, after any content, past a nested key of the same name', () => {
    const meta = { prompt_token_count: 5200, cached_content_token_count: 4096, candidates_token_count: 80,
      thoughts_token_count: 900, prompt_tokens_details: [{ modality: 'TEXT', token_count: 5200 }] };
    const text = `{"content": {"parts": [{"text": "a } ] { [ \\" brace \\"usage_metadata\\": {}"}]}, ` +
      `"custom_metadata": {"usage_metadata": {"prompt_token_count": 1}}, "filler": "${'x'.repeat(1_000_000)}", ` +
      `"usage_metadata" :\n ${JSON.stringify(meta, null, 2)}, "finish_reason": "STOP"}`;
    expect(JSON.parse(text).usage_metadata.prompt_token_count).toBe(5200);
    expect(resolveUsage(adk(meta, { 'gcp.vertex.agent.llm_response': text })))
      .toMatchObject({ cacheReadTokens: 4096, outputTokens: 980, reasoningTokens: 900 });
    // an object too long to be usage, or not closed: nothing read
    const long = `{"usage_metadata": {"prompt_token_count": 5200, "cached_content_token_count": 4096, "x": "${'y'.repeat(20_000)}"}}`;
    expect(resolveUsage(adk(meta, { 'gcp.vertex.agent.llm_response': long }))).toMatchObject({ cacheReadTokens: null });
    expect(resolveUsage(adk(meta, { 'gcp.vertex.agent.llm_response': '{"usage_metadata": {"prompt_token_count": 5200' })))
      .toMatchObject({ cacheReadTokens: null });
  });

  it('prices the cached prompt at the cache rate', () => {
    const span0 = spans[0]!;
    const s: SpanRecord = { ...span0, attributes: adk({ prompt_token_count: 5200, cached_content_token_count: 4096,
      candidates_token_count: 80, thoughts_token_count: 0 }) };
    const n = mapSpans([s], createMapper({ prices: loadPriceTable(), maxContentChars: 4000, captureContent: true }))[0]!.node!;
    // gemini-2.5-flash: 0.30 in, 0.03 cached in, 2.50 out per 1M
    expect(n.totalCost).toBeCloseTo((1104 * 0.3 + 4096 * 0.03 + 80 * 2.5) / 1e6, 12);
  });
});
