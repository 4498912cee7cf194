/**
 * Focused assertions on the fixtures of spans that mapped wrongly before issue 10 (their goldens are checked
 * by mapping.test.ts): Genkit, provider ids and framework names, tool / agent names, tool content, usage keys
 * and normalisation, usage without a model, operation names, current content attributes, run hints, and AI
 * SDK spans under other names.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../otlp/types.js';
import type { MappedSpan, NodeRecord, RunHints } from './types.js';
import { createMapper, loadPriceTable, mapSpans } from './index.js';

const dir = fileURLToPath(new URL('../../testdata/mapping/', import.meta.url));
const prices = loadPriceTable();
const spansOf = (name: string) => (JSON.parse(readFileSync(`${dir}${name}.spans.json`, 'utf8')) as { spans: SpanRecord[] }).spans;
const mapFixture = (name: string, captureContent = true): MappedSpan[] =>
  mapSpans(spansOf(name), createMapper({ maxContentChars: 4000, captureContent, prices }));

function nodes(name: string): (spanName: string, nth?: number) => NodeRecord | null {
  const mapped = mapFixture(name);
  return (spanName, nth = 0) => {
    const hit = mapped.filter((m) => m.span.name === spanName)[nth];
    if (!hit) throw new Error(`${name}: no span "${spanName}" #${nth}`);
    return hit.node;
  };
}

describe('Genkit', () => {
  const node = nodes('genkit');

  it('types actions by genkit:metadata:subtype; util and prompt spans are not nodes', () => {
    expect(node('jokeFlow')).toMatchObject({ nodeType: 'CHAIN', operation: 'invoke_workflow', sessionId: 'genkit-session-1' });
    expect(node('generate')).toBeNull();
    expect(node('prompt')).toBeNull();
    expect(node('getWeather')).toMatchObject({ nodeType: 'TOOL', toolName: 'getWeather', input: '{"city":"Paris"}', output: '{"tempC":21}' });
    expect(node('googleai/text-embedding-004')).toMatchObject({ nodeType: 'EMBEDDING', provider: 'gcp.gemini', modelName: 'text-embedding-004' });
  });

  it('reads the model from genkit:name and the usage inside genkit:output (thoughts outside output → normalised)', () => {
    const n = node('googleai/gemini-2.5-flash')!;
    expect(n).toMatchObject({ nodeType: 'LLM', provider: 'gcp.gemini', modelName: 'gemini-2.5-flash', inputTokens: 1200,
      cacheReadTokens: 1024, reasoningTokens: 40, outputTokens: 120, totalTokens: 1320, usageNormalized: true,
      finishReasons: ['stop'], costSource: 'price_table' });
    // 176 plain input @0.30 + 1024 cached @0.03 + 80 output and 40 thoughts @2.50, per 1M tokens
    expect(n.totalCost).toBeCloseTo((176 * 0.3 + 1024 * 0.03 + 120 * 2.5) / 1e6, 15);
    expect(JSON.parse(n.input!).messages[0].content[0].text).toBe('Tell me a joke about cats');
    expect(node('vertexai/gemini-2.5-pro')).toMatchObject({ provider: 'gcp.vertex_ai', inputTokens: 500, outputTokens: 100,
      usageNormalized: false, finishReasons: ['length'] });
  });
});

describe('provider normalisation', () => {
  it('keeps OTel values, maps SDK ids, and never takes a framework name for the provider', () => {
    const node = nodes('providers');
    const provider = (span: string) => node(span)!.provider;
    expect(provider('call_llm')).toBeNull(); // Google ADK: gen_ai.system = gcp.vertex.agent only
    expect(provider('invoke_agent TravelAgent')).toBe('anthropic'); // strands-agents in gen_ai.system, llm.provider wins
    expect(provider('chat gpt-4o')).toBe('openai'); // microsoft.agent_framework in gen_ai.provider.name
    expect(provider('chat gemini-2.5-flash')).toBe('gcp.gemini'); // Pydantic AI google-gla
    expect(provider('chat gemini-2.5-pro')).toBe('gcp.vertex_ai'); // Pydantic AI google-vertex
    expect(provider('ChatOpenAI')).toBe('openai'); // LangChain.js + OpenInference: metadata ls_provider (JSON string)
    expect(provider('ChatVertexAI')).toBe('gcp.vertex_ai'); // ... structured metadata
    expect(provider('RunnableSequence.workflow')).toBeNull(); // OpenLLMetry LangChain: "langchain"
    expect(provider('chat vertex')).toBe('gcp.vertex_ai');
    expect(provider('chat gen_ai')).toBe('gcp.gen_ai');
    expect(provider('ai.generateText.doGenerate')).toBe('gcp.vertex_ai'); // Vercel google.vertex.chat
    expect(provider('chat custom')).toBe('acme.inference.gateway'); // not cut at its first dot
  });
});

describe('tool and agent names', () => {
  const node = nodes('agent-tool-names');

  it('takes names from span names, agent-SDK keys and LangGraph metadata', () => {
    expect(node('invoke_agent Planner')).toMatchObject({ nodeType: 'AGENT', agentName: 'Planner' });
    expect(node('execute_tool get_weather')).toMatchObject({ nodeType: 'TOOL', toolName: 'get_weather', toolCallId: 'call_9' });
    expect(node('create_agent Helper')).toMatchObject({ nodeType: 'AGENT', operation: 'create_agent', agentName: 'Helper' });
    expect(node('Triage Agent')).toMatchObject({ nodeType: 'AGENT', agentName: 'Triage Agent' });
    expect(node('Research Agent')).toMatchObject({ nodeType: 'AGENT', agentName: 'Research Agent' });
    expect(node('get_weather')).toMatchObject({ nodeType: 'TOOL', toolName: 'get_weather' });
    expect(node('ChatAnthropic')).toMatchObject({ nodeType: 'LLM', agentName: 'Writer', provider: 'anthropic' });
    expect(node('agent run')).toMatchObject({ nodeType: 'AGENT', agentName: 'support_agent' });
    expect(node('running tool')).toMatchObject({ nodeType: 'TOOL', toolName: 'lookup_order', input: '{"order_id":42}',
      output: '{"status":"shipped"}' });
  });
});

describe('tool content', () => {
  it('stores structured and JSON-string arguments / results and the Google ADK keys', () => {
    const node = nodes('tool-content');
    expect(JSON.parse(node('execute_tool search_flights')!.input!)).toEqual({ to: 'LIS', passengers: 2 });
    expect(JSON.parse(node('execute_tool search_flights')!.output!)).toEqual({ flights: [{ id: 'TP1' }] });
    expect(node('execute_tool add')).toMatchObject({ input: '{"a":1,"b":2}', output: '3' });
    expect(node('execute_tool get_time')).toMatchObject({ provider: null, input: '{"tz":"UTC"}', output: '{"result":"12:00"}' });
  });
});

describe('usage', () => {
  const node = nodes('usage-keys');

  it.each([
    ['gen_ai.usage.cache_read.input_tokens', 'cacheReadTokens'], ['gen_ai.usage.cache_creation.input_tokens', 'cacheWriteTokens'],
    ['gen_ai.usage.cache_write.input_tokens', 'cacheWriteTokens'], ['gen_ai.usage.reasoning.output_tokens', 'reasoningTokens'],
    ['gen_ai.usage.cache_read_input_tokens', 'cacheReadTokens'], ['gen_ai.usage.cache_creation_input_tokens', 'cacheWriteTokens'],
    ['gen_ai.usage.reasoning_tokens', 'reasoningTokens'], ['gen_ai.usage.details.thoughts_tokens', 'reasoningTokens'],
    ['gen_ai.usage.details.reasoning_tokens', 'reasoningTokens'],
  ] as const)('reads %s as %s', (key, field) => {
    expect(node(key)).toMatchObject({ [field]: 200, inputTokens: 1000, outputTokens: 500, usageNormalized: false });
  });

  it('normalises input that evidently excludes cache, and costs follow', () => {
    const raw = node('anthropic.chat raw input')!;
    expect(raw).toMatchObject({ inputTokens: 1242, cacheReadTokens: 1000, cacheWriteTokens: 232, outputTokens: 70,
      totalTokens: 1312, usageNormalized: true });
    // claude-sonnet-4-5: 10 plain @3 + 1000 cache reads @0.30 + 232 cache writes @3.75 + 70 output @15, per 1M
    expect(raw.totalCost).toBeCloseTo((10 * 3 + 1000 * 0.3 + 232 * 3.75 + 70 * 15) / 1e6, 15);
    expect(node('total counts cache on top')).toMatchObject({ inputTokens: 6000, totalTokens: 6100, usageNormalized: true });
    expect(node('input includes cache')).toMatchObject({ inputTokens: 1000, totalTokens: 1010, usageNormalized: false });
  });

  it('adds cache reads and writes to the input of the AI SDK 5 Anthropic provider, not to AI SDK 6', () => {
    // @ai-sdk/anthropic 2: inputTokens = Anthropic's input_tokens (no cache), cache writes in providerMetadata only
    const span = (attributes: SpanRecord['attributes']): SpanRecord => ({
      traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', parentSpanId: null, name: 'ai.generateText.doGenerate',
      kind: 3, startUs: Date.parse('2026-12-01T00:00:00Z') * 1000, endUs: Date.parse('2026-12-01T00:00:01Z') * 1000, statusCode: 0,
      statusMessage: '', attributes, events: [], links: [], resource: {}, serviceName: 'svc', scopeName: 'ai', scopeVersion: null, tenantId: 't',
    });
    const common = { 'ai.operationId': 'ai.generateText.doGenerate', 'ai.model.provider': 'anthropic.messages', 'ai.model.id': 'claude-sonnet-4-5-20250929',
      'ai.usage.outputTokens': 500 };
    const map = (a: SpanRecord['attributes']) => mapSpans([span({ ...common, ...a })], createMapper({ maxContentChars: 4000, captureContent: true, prices }))[0]!.node!;
    const v5 = map({ 'ai.usage.inputTokens': 30_000, 'ai.usage.cachedInputTokens': 10_000, 'ai.usage.totalTokens': 30_500,
      'ai.response.providerMetadata': JSON.stringify({ anthropic: { usage: { input_tokens: 30_000 }, cacheCreationInputTokens: 2000 } }) });
    expect(v5).toMatchObject({ inputTokens: 42_000, cacheReadTokens: 10_000, cacheWriteTokens: 2000, outputTokens: 500, totalTokens: 42_500, usageNormalized: true });
    // 30,000 plain @3 + 10,000 reads @0.30 + 2,000 writes @3.75 + 500 output @15, per 1M: $0.108 (it was $0.0705)
    expect(v5.totalCost).toBeCloseTo((30_000 * 3 + 10_000 * 0.3 + 2000 * 3.75 + 500 * 15) / 1e6, 12);
    // AI SDK 6 reports the total input with its details: unchanged
    const v6 = map({ 'ai.usage.inputTokens': 42_000, 'ai.usage.inputTokenDetails.noCacheTokens': 30_000, 'ai.usage.inputTokenDetails.cacheReadTokens': 10_000,
      'ai.usage.inputTokenDetails.cacheWriteTokens': 2000, 'ai.usage.cachedInputTokens': 10_000, 'ai.usage.totalTokens': 42_500 });
    expect(v6).toMatchObject({ inputTokens: 42_000, cacheReadTokens: 10_000, cacheWriteTokens: 2000, totalTokens: 42_500, usageNormalized: false });
    expect(v6.totalCost).toBeCloseTo(v5.totalCost!, 12);
    // OpenAI through AI SDK 5 reports input with cache included: unchanged
    expect(map({ 'ai.model.provider': 'openai.chat', 'ai.model.id': 'gpt-4o', 'ai.usage.inputTokens': 30_000, 'ai.usage.cachedInputTokens': 10_000 }))
      .toMatchObject({ inputTokens: 30_000, cacheReadTokens: 10_000, usageNormalized: false });
  });

  it('normalises output that evidently excludes reasoning', () => {
    expect(node('gemini thoughts outside output')).toMatchObject({ outputTokens: 150, reasoningTokens: 50, totalTokens: 450, usageNormalized: true });
    expect(node('reasoning above output')).toMatchObject({ outputTokens: 320, reasoningTokens: 300, totalTokens: 420, usageNormalized: true });
  });

  it('makes a node of every span carrying token usage, with or without a model key', () => {
    const n = nodes('usage-no-model');
    expect(n('handle')).toBeNull();
    expect(n('llm-call')).toMatchObject({ nodeType: 'LLM', modelName: null, inputTokens: 120, outputTokens: 30, totalTokens: 150 });
    expect(n('oi-step')).toMatchObject({ nodeType: 'LLM', inputTokens: 15, totalTokens: 20 });
    expect(n('vercel-usage')).toMatchObject({ nodeType: 'LLM', inputTokens: 8, outputTokens: 2 });
    expect(n('total-only')).toMatchObject({ nodeType: 'LLM', totalTokens: 42 });
    expect(n('not-usage')).toBeNull();
  });
});

it('maps gen_ai.operation.name values', () => {
  const node = nodes('otel-operations');
  expect(node('rerank rerank-v3.5')).toMatchObject({ nodeType: 'RERANKER', operation: 'rerank', provider: 'cohere', modelName: 'rerank-v3.5' });
  expect(node('generate_content gemini-2.5-flash')).toMatchObject({ nodeType: 'LLM', operation: 'generate_content', inputTokens: 100 });
  expect(node('text_completion gpt-3.5-turbo-instruct')).toMatchObject({ nodeType: 'LLM', operation: 'text_completion' });
  expect(node('retrieval kb')).toMatchObject({ nodeType: 'RETRIEVER', operation: 'retrieval' });
  expect(node('create_agent Booker')).toMatchObject({ nodeType: 'AGENT', operation: 'create_agent', agentName: 'Booker' });
  expect(node('invoke_workflow sub')).toMatchObject({ nodeType: 'CHAIN', operation: 'invoke_workflow' });
});

describe('current GenAI content attributes', () => {
  const spans = spansOf('otel-genai-content');
  const attrs = spans[0]!.attributes as Record<string, unknown>;

  it('keeps messages and parts as the convention shapes them, structured or JSON strings alike', () => {
    const node = nodes('otel-genai-content');
    const expectedInput = [{ role: 'system', parts: attrs['gen_ai.system_instructions'] }, ...(attrs['gen_ai.input.messages'] as unknown[])];
    for (const name of ['chat structured', 'chat json strings']) {
      const n = node(name)!;
      expect(JSON.parse(n.input!)).toEqual(expectedInput);
      expect(JSON.parse(n.output!)).toEqual(attrs['gen_ai.output.messages']);
      expect(JSON.parse(n.toolDefinitions!)).toEqual(attrs['gen_ai.tool.definitions']);
    }
    const parts = JSON.parse(node('chat structured')!.input!).flatMap((m: { parts: { type: string }[] }) => m.parts.map((p) => p.type));
    expect(parts).toEqual(['text', 'text', 'blob', 'uri', 'file', 'tool_call', 'tool_call_response']);
    expect(JSON.parse(node('chat without system')!.input!)).toEqual((attrs['gen_ai.input.messages'] as unknown[]).slice(0, 1));
    expect(node('chat without system')!.toolDefinitions).toBeNull();
  });

  it('reads tool definitions of OpenInference and OpenLLMetry; none without content capture', () => {
    const node = nodes('otel-genai-content');
    expect(JSON.parse(node('OpenAI Chat Completions')!.toolDefinitions!).map((t: { function: { name: string } }) => t.function.name))
      .toEqual(['get_weather', 'get_time']);
    expect(JSON.parse(node('openai.chat')!.toolDefinitions!)).toEqual([{ name: 'get_weather', description: 'Current weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } } }]);
    expect(mapFixture('otel-genai-content', false).every((m) => m.node!.toolDefinitions === null)).toBe(true);
  });
});

/** The run's hints folded as the sink folds them: lowest (rank, value) pipeline; smallest session / user. */
function fold(hints: RunHints[]): { pipeline: string | null; sessionId: string | null; userId: string | null } {
  let p: RunHints['pipeline'] = null;
  let sessionId: string | null = null;
  let userId: string | null = null;
  const least = (a: string | null, b: string | null) => (b === null ? a : a === null || b < a ? b : a);
  for (const h of hints) {
    if (h.pipeline && (!p || h.pipeline.rank < p.rank || (h.pipeline.rank === p.rank && h.pipeline.value < p.value))) p = h.pipeline;
    sessionId = least(sessionId, h.sessionId);
    userId = least(userId, h.userId);
  }
  return { pipeline: p?.value ?? null, sessionId, userId };
}

describe('run hints', () => {
  it('session / user of non-GenAI spans reach the run; the root-most workflow name wins, in any order', () => {
    const mapped = mapFixture('run-hints');
    const byTrace = new Map<string, RunHints[]>();
    for (const m of mapped) byTrace.set(m.span.traceId, [...(byTrace.get(m.span.traceId) ?? []), m.hints]);
    const runs = [...byTrace.values()];
    const expected = [
      { pipeline: 'POST /chat', sessionId: 'sess-9', userId: 'u-42' },
      { pipeline: 'handle_message', sessionId: 'conv-7', userId: null },
      { pipeline: 'joke_generator', sessionId: null, userId: null }, // not joke_agent, stamped on the agent and below
      { pipeline: 'helper', sessionId: null, userId: null }, // withAgent only: over the root span's name
      { pipeline: 'outer', sessionId: null, userId: null }, // the root workflow over a name stamped below it
    ];
    for (let i = 0; i < runs.length; i++) {
      expect(fold(runs[i]!)).toEqual(expected[i]);
      expect(fold([...runs[i]!].reverse())).toEqual(expected[i]);
    }
  });
});

it('maps AI SDK spans renamed by other SDKs like the originals (ai.operationId, else operation.name)', () => {
  const original = mapFixture('vercel-ai');
  const renamed = mapFixture('vercel-renamed');
  expect(renamed.map((m) => m.span.name)).not.toEqual(original.map((m) => m.span.name));
  expect(renamed.filter((m) => m.span.attributes['ai.operationId'] === undefined)).toHaveLength(6);
  renamed.forEach((m, i) => expect({ ...m.node!, name: '' }).toEqual({ ...original[i]!.node!, name: '' }));
});
