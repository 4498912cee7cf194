/**
 * Captures spans live from the real libraries (same helpers as scripts/capture-fixtures/capture.ts) and maps
 * them, so an upgrade of ai / openai / the instrumentations that changes their attributes shows up here even
 * before the committed fixtures are re-captured.
 */
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceRequestJson } from '../otlp/decode-json.js';
import { decodeTraceRequestProto } from '../otlp/decode-proto.js';
import {
  createSpanCapture, runOpenInferenceOpenAIScenarios, runOtelOpenAIScenarios, runVercelAiScenarios, startMockOpenAI,
  toSpanRecord, type MockOpenAIServer, type SpanCapture,
} from '../../test/helpers/genai-fixtures.js';
import { createMapper, loadPriceTable, mapSpans } from './index.js';
import type { MappedSpan } from './types.js';

const mapper = createMapper({ maxContentChars: 4000, captureContent: true, prices: loadPriceTable() });

async function captureMapped(run: (c: SpanCapture) => Promise<void>): Promise<MappedSpan[]> {
  const c = createSpanCapture({ 'deployment.environment.name': 'live' });
  try {
    await run(c);
    await c.provider.forceFlush();
    return mapSpans(c.records(), mapper);
  } finally {
    await c.shutdown();
  }
}

const byName = (m: MappedSpan[], name: string) => m.filter((x) => x.span.name === name).map((x) => x.node!);

describe('live capture → mapping', () => {
  let server: MockOpenAIServer;
  beforeAll(async () => { server = await startMockOpenAI(); });
  afterAll(async () => { await server.close(); });

  it('Vercel AI SDK spans', async () => {
    const m = await captureMapped(runVercelAiScenarios);
    expect(byName(m, 'ai.generateText')[0]).toMatchObject({ nodeType: 'CHAIN', inputTokens: 10, outputTokens: 20 });
    const llm = byName(m, 'ai.generateText.doGenerate')[0]!;
    expect(llm).toMatchObject({ nodeType: 'LLM', provider: 'openai', modelName: 'gpt-4o-mini-2024-07-18', costSource: 'price_table' });
    expect(llm.totalCost).toBeGreaterThan(0);
    expect(byName(m, 'ai.toolCall')[0]).toMatchObject({ nodeType: 'TOOL', toolName: 'weather', toolCallId: 'call-1' });
    expect(byName(m, 'ai.embed.doEmbed')[0]).toMatchObject({ nodeType: 'EMBEDDING', inputTokens: 5 });
    expect(m.filter((x) => x.node?.status === 'FAILED').length).toBe(2);
    const roots = m.filter((x) => x.span.parentSpanId === null);
    expect(roots.map((x) => x.span.name).sort()).toEqual(['ai.embed', 'ai.generateText', 'ai.generateText', 'ai.generateText', 'ai.streamText']);
  });

  it('@opentelemetry/instrumentation-openai spans', async () => {
    const m = await captureMapped((c) => runOtelOpenAIScenarios(c, server.baseURL));
    const chats = byName(m, 'chat gpt-4o-mini');
    expect(chats).toHaveLength(2);
    for (const n of chats) {
      expect(n).toMatchObject({ nodeType: 'LLM', provider: 'openai', modelName: 'gpt-4o-mini-2024-07-18', inputTokens: 120, outputTokens: 30 });
      expect(n.totalCost).toBeGreaterThan(0);
    }
    expect(byName(m, 'embeddings text-embedding-3-small')[0]).toMatchObject({ nodeType: 'EMBEDDING', inputTokens: 8 });
  });

  it('@arizeai/openinference-instrumentation-openai spans', async () => {
    const m = await captureMapped((c) => runOpenInferenceOpenAIScenarios(c, server.baseURL));
    const chat = byName(m, 'OpenAI Chat Completions')[0]!;
    expect(chat).toMatchObject({ nodeType: 'LLM', provider: 'openai', requestModel: 'gpt-4o-mini', inputTokens: 120,
      outputTokens: 30, cacheReadTokens: 100 });
    expect(chat.totalCost).toBeGreaterThan(0);
    expect(byName(m, 'OpenAI Embeddings')[0]).toMatchObject({ nodeType: 'EMBEDDING', modelName: 'text-embedding-3-small' });
  });

  it('toSpanRecord (used for the fixtures) equals what the OTLP JSON and protobuf decoders produce', async () => {
    const c = createSpanCapture();
    try {
      await runVercelAiScenarios(c);
      await runOpenInferenceOpenAIScenarios(c, server.baseURL);
      const spans = c.exporter.getFinishedSpans();
      const mine = new Map(spans.map((s) => [s.spanContext().spanId, toSpanRecord(s, 't')]));
      for (const decoded of [
        decodeTraceRequestJson(JsonTraceSerializer.serializeRequest(spans)!, 't'),
        decodeTraceRequestProto(ProtobufTraceSerializer.serializeRequest(spans)!, 't'),
      ]) {
        expect(decoded.rejected).toBe(0);
        expect(decoded.spans).toHaveLength(spans.length);
        for (const s of decoded.spans) expect(s).toEqual(mine.get(s.spanId));
      }
    } finally {
      await c.shutdown();
    }
  });
});
