/**
 * Golden tests: every testdata/mapping/<name>.spans.json is mapped and compared with <name>.golden.json
 * (UPDATE_GOLDEN=1 rewrites the goldens). Focused assertions below pin the important facts per convention.
 * Fixtures: scripts/capture-fixtures/capture.ts (real instrumentation spans) and handwritten.ts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../otlp/types.js';
import type { MappedSpan, MappingOptions, NodeRecord } from './types.js';
import { createMapper, loadPriceTable, mapSpans } from './index.js';

const dir = fileURLToPath(new URL('../../testdata/mapping/', import.meta.url));
const prices = loadPriceTable();
const DEFAULTS: MappingOptions = { maxContentChars: 4000, captureContent: true };

interface Fixture {
  source: string;
  options?: Partial<MappingOptions>;
  spans: SpanRecord[];
}

function load(name: string): Fixture {
  return JSON.parse(readFileSync(`${dir}${name}.spans.json`, 'utf8')) as Fixture;
}

function mapFixture(name: string): MappedSpan[] {
  const f = load(name);
  return mapSpans(f.spans, createMapper({ ...DEFAULTS, ...f.options, prices }));
}

const names = readdirSync(dir).filter((f) => f.endsWith('.spans.json')).map((f) => f.slice(0, -'.spans.json'.length)).sort();

describe('golden mapping', () => {
  it('has fixtures', () => expect(names.length).toBeGreaterThanOrEqual(10));

  it.each(names)('%s', (name) => {
    const actual = mapFixture(name).map((m) => ({ spanId: m.span.spanId, name: m.span.name, node: m.node, hints: m.hints }));
    const goldenPath = `${dir}${name}.golden.json`;
    if (process.env.UPDATE_GOLDEN || !existsSync(goldenPath)) {
      writeFileSync(goldenPath, JSON.stringify(actual, null, 1) + '\n');
    }
    expect(actual).toEqual(JSON.parse(readFileSync(goldenPath, 'utf8')));
  });
});

/** Nodes of a fixture by span name (the first span of that name unless `nth` is given). */
function nodes(name: string): (spanName: string, nth?: number) => NodeRecord | null {
  const mapped = mapFixture(name);
  return (spanName, nth = 0) => {
    const hits = mapped.filter((m) => m.span.name === spanName);
    if (hits.length <= nth) throw new Error(`${name}: no span "${spanName}" #${nth}`);
    return hits[nth]!.node;
  };
}

describe('Vercel AI SDK (captured, ai@6)', () => {
  const node = nodes('vercel-ai');

  it('maps ai.generateText to a CHAIN carrying the aggregated usage', () => {
    const n = node('ai.generateText')!;
    expect(n).toMatchObject({ nodeType: 'CHAIN', operation: 'generate_text', provider: 'openai', modelName: 'gpt-4o-mini',
      inputTokens: 10, outputTokens: 20, cacheReadTokens: 4, reasoningTokens: 5, totalTokens: 30, sessionId: 's1', userId: 'u1' });
  });

  it('maps doGenerate to an LLM with provider, response model, tokens and a price-table cost', () => {
    const n = node('ai.generateText.doGenerate')!;
    expect(n).toMatchObject({ nodeType: 'LLM', operation: 'chat', provider: 'openai', requestModel: 'gpt-4o-mini',
      responseModel: 'gpt-4o-mini-2024-07-18', modelName: 'gpt-4o-mini-2024-07-18', inputTokens: 10, outputTokens: 20,
      temperature: 0.3, maxTokens: 100, finishReasons: ['stop'], responseId: 'resp-1', costSource: 'price_table' });
    expect(n.totalCost).toBeGreaterThan(0);
    // 6 plain input @0.15 + 4 cached @0.075 + 20 output @0.60 (reasoning priced as output)
    expect(n.totalCost).toBeCloseTo((6 * 0.15 + 4 * 0.075 + 20 * 0.6) / 1e6, 15);
    expect(JSON.parse(n.input!)).toEqual([
      { role: 'system', content: 'You are terse.' }, { role: 'user', content: [{ type: 'text', text: 'Say hello' }] },
    ]);
    expect(JSON.parse(n.output!)).toBe('Hello, world!');
  });

  it('maps doStream to an LLM', () => {
    expect(node('ai.streamText.doStream')).toMatchObject({ nodeType: 'LLM', inputTokens: 12, outputTokens: 8, responseId: 'resp-2' });
    expect(node('ai.streamText')).toMatchObject({ nodeType: 'CHAIN', operation: 'stream_text' });
  });

  it('maps ai.toolCall to a TOOL with name, call id, arguments and result', () => {
    const n = node('ai.toolCall')!;
    expect(n).toMatchObject({ nodeType: 'TOOL', operation: 'execute_tool', toolName: 'weather', toolCallId: 'call-1' });
    expect(JSON.parse(n.input!)).toEqual({ city: 'Paris' });
    expect(JSON.parse(n.output!)).toEqual({ city: 'Paris', tempC: 21 });
  });

  it('maps embed / doEmbed', () => {
    expect(node('ai.embed')).toMatchObject({ nodeType: 'CHAIN', operation: 'embed', inputTokens: 5 });
    const n = node('ai.embed.doEmbed')!;
    expect(n).toMatchObject({ nodeType: 'EMBEDDING', operation: 'embeddings', modelName: 'text-embedding-3-small',
      inputTokens: 5, outputTokens: null, totalTokens: 5, costSource: 'price_table' });
    expect(JSON.parse(n.input!)).toEqual(['sunny day at the beach']);
  });

  it('records failures from the exception event and status', () => {
    const n = node('ai.generateText.doGenerate', 3)!;
    expect(n).toMatchObject({ status: 'FAILED', errorType: 'TypeError', errorMessage: 'mock provider exploded' });
  });

  it('offers ai.telemetry.functionId as the pipeline', () => {
    const m = mapFixture('vercel-ai');
    expect(m.every((x) => x.hints.pipeline?.rank === 2)).toBe(true);
    expect(m[0]!.hints).toEqual({ pipeline: { rank: 2, value: 'my-fn' }, environment: 'test', sessionId: 's1', userId: 'u1' });
  });
});

describe('@opentelemetry/instrumentation-openai (captured)', () => {
  const node = nodes('otel-openai');

  it('maps the chat span to an LLM with provider, model, tokens and cost', () => {
    const n = node('chat gpt-4o-mini')!;
    expect(n).toMatchObject({ nodeType: 'LLM', operation: 'chat', provider: 'openai', requestModel: 'gpt-4o-mini',
      modelName: 'gpt-4o-mini-2024-07-18', inputTokens: 120, outputTokens: 30, totalTokens: 150, temperature: 0.2,
      topP: 0.9, maxTokens: 50, finishReasons: ['stop'], responseId: 'chatcmpl-mock-1', costSource: 'price_table' });
    expect(n.totalCost).toBeCloseTo((120 * 0.15 + 30 * 0.6) / 1e6, 15);
  });

  it('maps the streamed chat and the embeddings span', () => {
    expect(node('chat gpt-4o-mini', 1)).toMatchObject({ nodeType: 'LLM', inputTokens: 120, outputTokens: 30 });
    const e = node('embeddings text-embedding-3-small')!;
    expect(e).toMatchObject({ nodeType: 'EMBEDDING', operation: 'embeddings', inputTokens: 8 });
    expect(e.totalCost).toBeCloseTo((8 * 0.02) / 1e6, 15);
  });
});

describe('@arizeai/openinference-instrumentation-openai (captured)', () => {
  const node = nodes('openinference-openai');

  it('maps the chat span to an LLM with cached tokens priced at the cache rate', () => {
    const n = node('OpenAI Chat Completions')!;
    expect(n).toMatchObject({ nodeType: 'LLM', operation: 'chat', provider: 'openai', modelName: 'gpt-4o-mini-2024-07-18',
      inputTokens: 120, outputTokens: 30, cacheReadTokens: 100, reasoningTokens: 0, totalTokens: 150,
      temperature: 0.2, topP: 0.9, maxTokens: 50, finishReasons: ['stop'], costSource: 'price_table' });
    expect(n.totalCost).toBeCloseTo((20 * 0.15 + 100 * 0.075 + 30 * 0.6) / 1e6, 15);
    expect(JSON.parse(n.input!)).toEqual([{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say hello' }]);
    expect(JSON.parse(n.output!)).toEqual([{ role: 'assistant', content: 'Hello from the mock model.' }]);
  });

  it('maps the embeddings span', () => {
    expect(node('OpenAI Embeddings')).toMatchObject({ nodeType: 'EMBEDDING', provider: 'openai', modelName: 'text-embedding-3-small' });
  });
});

describe('hand-written conventions', () => {
  it('OTel GenAI current keys', () => {
    const node = nodes('otel-genai');
    expect(node('invoke_agent travel-agent')).toMatchObject({ nodeType: 'AGENT', agentName: 'travel-agent', sessionId: 'conv-42' });
    const chat = node('chat gpt-4.1')!;
    expect(chat).toMatchObject({ inputTokens: 1200, cacheReadTokens: 1000, modelName: 'gpt-4.1-2025-04-14' });
    expect(chat.totalCost).toBeCloseTo((200 * 2 + 1000 * 0.5 + 300 * 8) / 1e6, 15);
    expect(JSON.parse(chat.input!)[0]).toEqual({ role: 'system', parts: [{ type: 'text', content: 'You are a travel agent.' }] });
    expect(node('execute_tool search_flights')).toMatchObject({ nodeType: 'TOOL', toolName: 'search_flights', toolCallId: 'call_1',
      input: '{"to":"LIS"}', output: '{"flights":2}' });
    expect(node('chat o3')).toMatchObject({ maxTokens: 4096, reasoningTokens: 1500 });
    expect(node('retrieval flights-index')).toMatchObject({ nodeType: 'RETRIEVER', operation: 'retrieval' });
    expect(node('POST /v1/chat/completions')).toBeNull();
    expect(node('frobnicate')).toBeNull();
    expect(node('custom-llm-call')).toMatchObject({ nodeType: 'LLM', operation: 'chat' });
    expect(node('lookup_weather')).toMatchObject({ nodeType: 'TOOL', toolName: 'lookup_weather' });
    expect(node('chat bad-usage')).toMatchObject({ inputTokens: 7, outputTokens: null, totalTokens: 7, temperature: null });
    expect(node('chat gpt-4o')).toMatchObject({ status: 'FAILED', errorType: 'RateLimitError', errorMessage: 'rate limited' });
  });

  it('deprecated OTel keys', () => {
    const node = nodes('otel-genai-deprecated');
    const n = node('chat gpt-4o')!;
    expect(n).toMatchObject({ inputTokens: 100, outputTokens: 50, cacheReadTokens: 40, finishReasons: ['stop'], userId: 'legacy-user' });
    expect(JSON.parse(n.input!)).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }]);
    expect(node('chat azure')).toMatchObject({ provider: 'azure.ai.openai', totalTokens: 25 });
    expect(node('chat bedrock')).toMatchObject({ provider: 'aws.bedrock', costSource: 'price_table' });
    expect(node('chat gpt-4o-mini')).toMatchObject({ errorType: 'openai.APIConnectionError', errorMessage: 'Connection error.' });
    expect(node('chat handled-retry')).toMatchObject({ status: 'COMPLETED', errorType: null, errorMessage: null });
  });

  it('Traceloop keys', () => {
    const node = nodes('traceloop');
    expect(node('joke_generator.workflow')).toMatchObject({ nodeType: 'CHAIN', operation: 'invoke_workflow', sessionId: 'sess-1', userId: 'user-1' });
    expect(node('joke_agent.agent')).toMatchObject({ nodeType: 'AGENT', agentName: 'joke_agent' });
    expect(node('search_tool.tool')).toMatchObject({ nodeType: 'TOOL', toolName: 'search_tool' });
    expect(node('openai.chat')).toMatchObject({ nodeType: 'LLM', operation: 'chat', inputTokens: 15, totalTokens: 40 });
    expect(node('openai.embeddings')).toMatchObject({ nodeType: 'EMBEDDING', operation: 'embeddings' });
    expect(node('cohere.rerank')).toMatchObject({ nodeType: 'RERANKER', provider: 'cohere' });
    expect(node('anthropic.completion')).toMatchObject({ operation: 'text_completion', provider: 'anthropic', cacheWriteTokens: 500 });
    expect(mapFixture('traceloop')[0]!.hints.pipeline).toEqual({ rank: -3, value: 'joke_generator' }); // root span's own
  });

  it('OpenInference kinds', () => {
    const node = nodes('openinference-kinds');
    expect(node('researcher')).toMatchObject({ nodeType: 'AGENT', agentName: 'researcher', sessionId: 'oi-sess', userId: 'oi-user' });
    expect(node('RunnableSequence')).toMatchObject({ costSource: 'reported', totalCost: 0.0123, inputCost: 0.01, outputCost: 0.0023 });
    expect(node('ChatAnthropic')).toMatchObject({ provider: 'anthropic', temperature: 0.5, maxTokens: 1024, topP: 0.95, cacheWriteTokens: 200 });
    expect(node('web_search')).toMatchObject({ nodeType: 'TOOL', toolName: 'web_search', toolCallId: 'toolu_1' });
    for (const [n, t] of [['VectorStoreRetriever', 'RETRIEVER'], ['CohereRerank', 'RERANKER'], ['PII guard', 'GUARDRAIL'], ['relevance-eval', 'EVALUATOR']]) {
      expect(node(n!)?.nodeType).toBe(t);
    }
    expect(node('unknown-step')).toBeNull();
    expect(node('render-prompt')).toBeNull();
    expect(node('lowercase-llm')).toMatchObject({ nodeType: 'LLM', costSource: 'reported', totalCost: 0.5, inputCost: null });
  });
});

describe('content', () => {
  it('truncates to valid JSON and hashes the full text', () => {
    const m = mapFixture('truncation');
    for (const x of m) {
      for (const c of [x.node!.input, x.node!.output]) if (c !== null) expect(() => JSON.parse(c)).not.toThrow();
    }
    const long = JSON.parse(m[0]!.node!.input!);
    expect(long).toMatchObject({ truncated: true, text: expect.any(String) });
    expect(long.text).toHaveLength(40);
    expect(m[2]!.node!.input).not.toContain('\\u0000');
    expect(m[3]!.node!).toMatchObject({ input: '"quoted"', output: JSON.stringify('"quoted"') });
  });

  it('keeps prompt_hash but drops content when capture is off', () => {
    const on = mapFixture('truncation');
    const off = mapFixture('content-off');
    off.forEach((x, i) => {
      expect(x.node).toMatchObject({ input: null, output: null });
      expect(x.node!.promptHash).toBe(on[i]!.node!.promptHash);
      expect(x.node!.promptHash).toMatch(/^[0-9a-f]{64}$/);
    });
  });
});

describe('robustness', () => {
  it('never throws and always emits valid JSON content for odd attribute values', () => {
    const keys = new Set<string>();
    for (const name of names) for (const s of load(name).spans) for (const k of Object.keys(s.attributes)) keys.add(k);
    const odd: unknown[] = [null, '', ' ', '{', '[1,', '{"a":1}', '"x"', 'NaN', '-1', '1e400', 0, -3, 1.5, true, [], [1, 'a', null],
      { nested: { k: [1] } }, '\u0000', '\ud800', 'x'.repeat(10_000)];
    const base = load('otel-genai').spans[1]!;
    const mapper = createMapper({ maxContentChars: 100, captureContent: true, prices });
    let seed = 1;
    const rnd = (n: number) => ((seed = (seed * 48271) % 2147483647) % n);
    const keyList = [...keys];
    for (let k = 0; k < 2000; k++) {
      const attributes: Record<string, unknown> = {};
      for (let j = 0; j < 12; j++) attributes[keyList[rnd(keyList.length)]!] = odd[rnd(odd.length)];
      const span = { ...base, name: ['ai.toolCall', 'chat', 'ai.generateText.doGenerate'][rnd(3)]!, attributes } as SpanRecord;
      const m = mapper(span);
      for (const c of [m.node?.input, m.node?.output]) if (c != null) expect(() => JSON.parse(c)).not.toThrow();
      for (const n of [m.node?.inputTokens, m.node?.outputTokens, m.node?.totalTokens]) {
        if (n != null) expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
      }
      if (m.node?.totalCost != null) expect(Number.isFinite(m.node.totalCost) && m.node.totalCost >= 0).toBe(true);
    }
  });
});
