/**
 * Scenario runners that produce real GenAI spans into a SpanCapture (see genai-fixtures.ts).
 * - Vercel AI SDK: generateText, streamText, a tool-calling generateText, embed and a failing generateText,
 *   against MockLanguageModelV3 / MockEmbeddingModelV3 (provider "openai.chat", model "gpt-4o-mini").
 * - OpenAI client + @opentelemetry/instrumentation-openai, and + @arizeai/openinference-instrumentation-openai,
 *   against the mock OpenAI server: chat completion, streamed chat completion, embeddings.
 * It imports client packages, so it lives in the test package (bare imports resolve from test/clients/node_modules).
 */
import { embed, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { MockEmbeddingModelV3, MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import type { LanguageModelV3GenerateResult, LanguageModelV3StreamPart, LanguageModelV3Usage } from '@ai-sdk/provider';
import { metrics } from '@opentelemetry/api';
import * as openaiModule from 'openai';
import { OpenAIInstrumentation as OtelOpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { OpenAIInstrumentation as OpenInferenceOpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import type { SpanCapture } from '../helpers/genai-fixtures.js';

const OpenAI = openaiModule.OpenAI;

const usage = (input: number, cacheRead: number, output: number, reasoning: number): LanguageModelV3Usage => ({
  inputTokens: { total: input, noCache: input - cacheRead, cacheRead, cacheWrite: undefined },
  outputTokens: { total: output, text: output - reasoning, reasoning },
});

const responseMeta = (id: string) => ({ id, modelId: 'gpt-4o-mini-2024-07-18', timestamp: new Date(1_700_000_000_000) });

function textResult(text: string, id: string): LanguageModelV3GenerateResult {
  return {
    content: [{ type: 'text', text }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage: usage(10, 4, 20, 5),
    warnings: [],
    response: responseMeta(id),
  };
}

const telemetry = (capture: SpanCapture, functionId = 'my-fn') => ({
  isEnabled: true,
  functionId,
  metadata: { sessionId: 's1', userId: 'u1' },
  tracer: capture.tracer('ai'),
});

export async function runVercelAiScenarios(capture: SpanCapture): Promise<void> {
  const model = () => new MockLanguageModelV3({ provider: 'openai.chat', modelId: 'gpt-4o-mini', doGenerate: textResult('Hello, world!', 'resp-1') });

  await generateText({
    model: model(),
    system: 'You are terse.',
    prompt: 'Say hello',
    temperature: 0.3,
    maxOutputTokens: 100,
    experimental_telemetry: telemetry(capture),
  });

  const chunks: LanguageModelV3StreamPart[] = [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', ...responseMeta('resp-2') },
    { type: 'text-start', id: 't1' },
    { type: 'text-delta', id: 't1', delta: 'Hello' },
    { type: 'text-delta', id: 't1', delta: ', stream!' },
    { type: 'text-end', id: 't1' },
    { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: usage(12, 0, 8, 0) },
  ];
  const streamed = streamText({
    model: new MockLanguageModelV3({
      provider: 'openai.chat', modelId: 'gpt-4o-mini',
      doStream: async () => ({ stream: simulateReadableStream({ chunks }) }),
    }),
    prompt: 'Stream hello',
    experimental_telemetry: telemetry(capture, 'my-stream-fn'),
  });
  await streamed.consumeStream();
  await streamed.text;

  const toolModel = new MockLanguageModelV3({
    provider: 'openai.chat',
    modelId: 'gpt-4o-mini',
    doGenerate: [
      {
        content: [{ type: 'tool-call', toolCallId: 'call-1', toolName: 'weather', input: '{"city":"Paris"}' }],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage: usage(30, 0, 10, 0),
        warnings: [],
        response: responseMeta('resp-3'),
      },
      textResult('It is 21°C in Paris.', 'resp-4'),
    ],
  });
  await generateText({
    model: toolModel,
    prompt: 'Weather in Paris?',
    tools: {
      weather: tool({
        description: 'Current weather for a city',
        inputSchema: jsonSchema<{ city: string }>({
          type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false,
        }),
        execute: async ({ city }) => ({ city, tempC: 21 }),
      }),
    },
    stopWhen: stepCountIs(2),
    experimental_telemetry: telemetry(capture, 'weather-agent'),
  });

  await embed({
    model: new MockEmbeddingModelV3({
      provider: 'openai.embedding',
      modelId: 'text-embedding-3-small',
      doEmbed: async () => ({ embeddings: [[0.1, 0.2, 0.3]], usage: { tokens: 5 }, warnings: [] }),
    }),
    value: 'sunny day at the beach',
    experimental_telemetry: telemetry(capture, 'embed-fn'),
  });

  await generateText({
    model: new MockLanguageModelV3({
      provider: 'openai.chat', modelId: 'gpt-4o-mini',
      doGenerate: async () => { throw new TypeError('mock provider exploded'); },
    }),
    prompt: 'This fails',
    maxRetries: 0,
    experimental_telemetry: telemetry(capture, 'failing-fn'),
  }).catch(() => undefined);
}

async function openAIScenarios(baseURL: string): Promise<void> {
  const client = new OpenAI({ apiKey: 'test-key', baseURL, maxRetries: 0 });
  await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello' },
    ],
    temperature: 0.2,
    top_p: 0.9,
    max_tokens: 50,
    user: 'u1',
  });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Stream hello' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _chunk of stream) { /* drain */ }
  await client.embeddings.create({ model: 'text-embedding-3-small', input: 'sunny day at the beach' });
}

/** @opentelemetry/instrumentation-openai, patched onto the ESM module for the duration of the scenarios. */
export async function runOtelOpenAIScenarios(capture: SpanCapture, baseURL: string): Promise<void> {
  const inst = new OtelOpenAIInstrumentation({ captureMessageContent: true });
  inst.setTracerProvider(capture.provider);
  // The metric instruments are (re)created by setMeterProvider; without it the stream path throws.
  inst.setMeterProvider(metrics.getMeterProvider());
  const def = inst.getModuleDefinitions()[0]!;
  def.patch!(openaiModule);
  try {
    await openAIScenarios(baseURL);
  } finally {
    def.unpatch!(openaiModule);
    inst.disable();
  }
}

/** @arizeai/openinference-instrumentation-openai via manuallyInstrument; disable() removes the patch. */
export async function runOpenInferenceOpenAIScenarios(capture: SpanCapture, baseURL: string): Promise<void> {
  const inst = new OpenInferenceOpenAIInstrumentation({ tracerProvider: capture.provider });
  // typed as the CJS module; at runtime it only needs `module.OpenAI`, which the ESM namespace has
  inst.manuallyInstrument(openaiModule as unknown as Parameters<typeof inst.manuallyInstrument>[0]);
  try {
    await openAIScenarios(baseURL);
  } finally {
    inst.disable();
  }
}
