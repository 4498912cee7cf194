// OpenLLMetry (@traceloop/node-server-sdk) around the Anthropic client, which also traces its own calls
// (unless ANTHROPIC_OPEN_TELEMETRY=false): each call can then be two nested LLM spans. TRACELOOP_BASE_URL
// points the exporter at the test gateway, ANTHROPIC_BASE_URL the client at the mock LLM server. A workflow
// makes a tool_use round trip with prompt caching and then streams an answer: three calls.
const traceloop = require('@traceloop/node-server-sdk');

traceloop.initialize({ appName: process.env.OTEL_SERVICE_NAME ?? 'anthropic-weather-app', silenceInitializationMessage: true });
const Anthropic = require('@anthropic-ai/sdk');

const client = new Anthropic({ apiKey: 'test-key', maxRetries: 0 });
const system = [{ type: 'text', text: 'You are a weather assistant.', cache_control: { type: 'ephemeral' } }];
const tools = [{
  name: 'get_weather', description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];

async function weather() {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 512, system, tools, messages });
  const use = first.content.find((c) => c.type === 'tool_use');
  const result = await traceloop.withTool({ name: 'get_weather' }, async () => ({ city: 'Paris', tempC: 21, sky: 'sunny' }));
  messages.push({ role: 'assistant', content: first.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: JSON.stringify(result) }] });
  await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 512, system, tools, messages });
  const stream = await client.messages.create({
    model: 'claude-sonnet-4-6', max_tokens: 512, system, stream: true,
    messages: [{ role: 'user', content: 'Say it again, streamed.' }],
  });
  for await (const _event of stream) { /* drain */ }
}

async function main() {
  await traceloop.withWorkflow({ name: 'anthropic_weather' }, weather);
  await traceloop.forceFlush();
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
