// A plain OpenAI app, instrumented only from outside (zero-code):
//   node --require @opentelemetry/auto-instrumentations-node/register zero-code-openai.cjs
// configured by OTEL_* variables; OPENAI_BASE_URL points the client at the mock LLM server.
// One request handler (a manual root span, as an app's own span or an HTTP server span would be) makes a
// tool-calling chat round trip, a streamed chat, a Responses API call and an embeddings call.
const { trace } = require('@opentelemetry/api');
const OpenAI = require('openai');

const client = new OpenAI({ apiKey: 'test-key', maxRetries: 0 });
const tools = [{
  type: 'function',
  function: {
    name: 'get_weather', description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];

async function answer() {
  const messages = [
    { role: 'system', content: 'You are a weather assistant.' },
    { role: 'user', content: 'What is the weather in Paris?' },
  ];
  const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools, temperature: 0.2 });
  const call = first.choices[0].message.tool_calls[0];
  messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"tempC":21,"sky":"sunny"}' });
  await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools, temperature: 0.2 });

  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say it again, streamed.' }],
    stream: true, stream_options: { include_usage: true },
  });
  for await (const _chunk of stream) { /* drain */ }

  await client.responses.create({ model: 'o4-mini', instructions: 'Answer in one sentence.', input: 'Summarise the weather in Paris.' });
  await client.embeddings.create({ model: 'text-embedding-3-small', input: 'sunny day in Paris' });
}

trace.getTracer('weather-app').startActiveSpan('weather-question', async (span) => {
  try {
    await answer();
  } finally {
    span.end();
  }
  // the register hook flushes every signal on beforeExit
});
