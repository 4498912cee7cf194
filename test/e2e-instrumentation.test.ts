/**
 * Real GenAI instrumentation (no real LLM) → the real OTLP/HTTP protobuf exporter → a running gateway →
 * the ledger: Vercel AI SDK telemetry (ai/test mock models), the OpenAI client instrumented by
 * @opentelemetry/instrumentation-openai and by @arizeai/openinference-instrumentation-openai (mock server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLPTraceExporterProto as OTLPTraceExporter } from './clients/exporters.js';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import {
  createSpanCapture, runOpenInferenceOpenAIScenarios, runOtelOpenAIScenarios, runVercelAiScenarios, startMockOpenAI,
  type MockOpenAIServer, type SpanCapture,
} from './helpers/genai-fixtures.js';
import {
  expectOpenAILedger, expectVercelAiLedger, OPENINFERENCE_OPENAI, OTEL_OPENAI, runsWhere,
} from './helpers/genai-ledger.js';

let gw: TestGateway;
let server: MockOpenAIServer;
beforeAll(async () => { [gw, server] = await Promise.all([startTestGateway(), startMockOpenAI()]); });
afterAll(async () => { await Promise.all([gw?.close(), server?.close()]); });

/** Runs a scenario with every finished span also exported over OTLP/HTTP protobuf to the gateway. */
async function exportScenario(service: string, run: (c: SpanCapture) => Promise<void>): Promise<number> {
  const otlp = new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${gw.httpUrl}/v1/traces` }));
  const capture = createSpanCapture({ 'service.name': service }, [otlp]);
  try {
    await run(capture);
    await capture.provider.forceFlush(); // resolves once every export was acknowledged, i.e. committed
    return capture.exporter.getFinishedSpans().length;
  } finally {
    await capture.shutdown();
  }
}

const spanCount = async (service: string) =>
  (await gw.db.pool.query('SELECT count(*)::int AS n FROM runledger.spans WHERE service_name = $1', [service])).rows[0].n;

describe('real instrumentation through the OTLP exporter', () => {
  it('Vercel AI SDK: tool-calling generateText and streamText, usage counted once', async () => {
    const sent = await exportScenario('e2e-vercel', runVercelAiScenarios);
    expect(await spanCount('e2e-vercel')).toBe(sent);
    await expectVercelAiLedger(gw.db.pool, 'e2e-vercel');
    // The other scenarios: plain generateText, embed, a failing generateText.
    const byPipeline = Object.fromEntries(
      (await runsWhere(gw.db.pool, 'service_name = $1', ['e2e-vercel'])).map((r) => [r.pipeline, r]));
    expect(Object.keys(byPipeline).sort()).toEqual(['embed-fn', 'failing-fn', 'my-fn', 'my-stream-fn', 'weather-agent']);
    expect(byPipeline['my-fn']).toMatchObject({ input_tokens: 10, output_tokens: 20, llm_calls: 1, total_nodes: 2 });
    expect(byPipeline['embed-fn']).toMatchObject({ input_tokens: 5, output_tokens: 0, llm_calls: 0 });
    expect(byPipeline['failing-fn']).toMatchObject({ status: 'FAILED', input_tokens: 0, total_cost: 0, error_count: 2 });
  });

  it('OpenAI client + @opentelemetry/instrumentation-openai', async () => {
    const sent = await exportScenario('e2e-otel-openai', (c) => runOtelOpenAIScenarios(c, server.baseURL));
    expect(sent).toBe(3);
    expect(await spanCount('e2e-otel-openai')).toBe(3);
    await expectOpenAILedger(gw.db.pool, 'e2e-otel-openai', OTEL_OPENAI);
  });

  it('OpenAI client + @arizeai/openinference-instrumentation-openai', async () => {
    const sent = await exportScenario('e2e-openinference', (c) => runOpenInferenceOpenAIScenarios(c, server.baseURL));
    expect(sent).toBe(3);
    expect(await spanCount('e2e-openinference')).toBe(3);
    await expectOpenAILedger(gw.db.pool, 'e2e-openinference', OPENINFERENCE_OPENAI);
  });
});
