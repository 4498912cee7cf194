// LangChain.js traced by @arizeai/openinference-instrumentation-langchain, set up as its README shows:
// a NodeTracerProvider with the OTLP http/protobuf exporter (endpoint from OTEL_EXPORTER_OTLP_ENDPOINT)
// and manuallyInstrument(CallbackManagerModule) before LangChain is used. OPENAI_BASE_URL points ChatOpenAI
// at the mock LLM server. Two runs: a tool-calling agent (createAgent), then a streamed model call.
import { NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LangChainInstrumentation } from '@arizeai/openinference-instrumentation-langchain';
import * as CallbackManagerModule from '@langchain/core/callbacks/manager';

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? 'langchain-app' }),
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter())],
});
provider.register();
new LangChainInstrumentation().manuallyInstrument(CallbackManagerModule);

const { ChatOpenAI } = await import('@langchain/openai');
const { createAgent, tool } = await import('langchain');
const { z } = await import('zod');

const getWeather = tool(async ({ city }) => JSON.stringify({ city, tempC: 21, sky: 'sunny' }), {
  name: 'get_weather', description: 'Current weather for a city', schema: z.object({ city: z.string() }),
});
const model = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'test-key', maxRetries: 0 });
const agent = createAgent({ model, tools: [getWeather], systemPrompt: 'You are a weather assistant.', name: 'weather_agent' });

await agent.invoke({ messages: [{ role: 'user', content: 'What is the weather in Paris?' }] });
const stream = await model.stream('Say it again, streamed.');
for await (const _chunk of stream) { /* drain */ }
await provider.shutdown();
