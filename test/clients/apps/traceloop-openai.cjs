// OpenLLMetry (@traceloop/node-server-sdk) around the OpenAI client, as its quick start wires it: initialize
// first, then require the client. TRACELOOP_BASE_URL points the exporter (OTLP http/protobuf) at the test
// gateway, OPENAI_BASE_URL the client at the mock LLM server. A workflow (trip_planner) runs an agent
// (forecast_agent) that calls a tool between two chat completions, then streams an answer. OpenLLMetry stamps
// traceloop.workflow.name = the agent's name on the agent span and below it; the agent's name sorts before
// the workflow's, so a pipeline rule that breaks ties by the smaller value cannot pick the workflow by chance.
const traceloop = require('@traceloop/node-server-sdk');

traceloop.initialize({ appName: process.env.OTEL_SERVICE_NAME ?? 'trip-planner-app', silenceInitializationMessage: true });
const OpenAI = require('openai');

const client = new OpenAI({ apiKey: 'test-key', maxRetries: 0 });
const tools = [{
  type: 'function',
  function: {
    name: 'get_weather', description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];

async function weatherAgent() {
  const messages = [
    { role: 'system', content: 'You are a weather assistant.' },
    { role: 'user', content: 'What is the weather in Paris?' },
  ];
  const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools });
  const call = first.choices[0].message.tool_calls[0];
  const result = await traceloop.withTool({ name: 'get_weather' }, async () => ({ city: 'Paris', tempC: 21, sky: 'sunny' }));
  messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: JSON.stringify(result) });
  const second = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say it again, streamed.' }],
    stream: true, stream_options: { include_usage: true },
  });
  for await (const _chunk of stream) { /* drain */ }
  return second.choices[0].message.content;
}

async function main() {
  await traceloop.withWorkflow({ name: 'trip_planner' }, () => traceloop.withAgent({ name: 'forecast_agent' }, weatherAgent));
  await traceloop.forceFlush();
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
