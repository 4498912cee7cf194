/**
 * Hand-written fixtures for the current GenAI content attributes and tool definitions, run-level hints
 * (session / user on non-GenAI spans, the pipeline under OpenLLMetry's workflow-name stamping), and AI SDK
 * spans renamed by something else (derived from the captured vercel-ai fixture).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SpanRecord } from '../../src/otlp/types.js';
import { buildSpans, writeFixture } from './handwritten-lib.js';

const SRC = 'hand-written (scripts/capture-fixtures/handwritten-runs.ts)';

export function genAiContent(): void {
  const res = { 'service.name': 'content-svc' };
  const input = [
    { role: 'user', parts: [{ type: 'text', content: 'What is in this picture, and the weather there?' },
      { type: 'blob', modality: 'image', mime_type: 'image/png', content: 'iVBORw0KGgo=' },
      { type: 'uri', modality: 'image', mime_type: 'image/jpeg', uri: 'https://example.com/paris.jpg' },
      { type: 'file', modality: 'document', file_id: 'file-abc123' }] },
    { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] },
    { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', result: 'rainy, 57°F' }] },
  ];
  const output = [{ role: 'assistant', parts: [{ type: 'reasoning', content: 'The photo shows the Eiffel Tower.' },
    { type: 'text', content: 'Paris; it is rainy there.' }], finish_reason: 'stop' }];
  const system = [{ type: 'text', content: 'You are a travel assistant.' }];
  const tools = [{ type: 'function', name: 'get_weather', description: 'Current weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
  const chat = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4.1' };
  writeFixture('otel-genai-content', `${SRC}: gen_ai.input/output.messages, system_instructions, tool.definitions`, buildSpans(15, res, [
    { name: 'chat structured', attrs: { ...chat, 'gen_ai.input.messages': input, 'gen_ai.output.messages': output,
      'gen_ai.system_instructions': system, 'gen_ai.tool.definitions': tools } },
    { name: 'chat json strings', attrs: { ...chat, 'gen_ai.input.messages': JSON.stringify(input),
      'gen_ai.output.messages': JSON.stringify(output), 'gen_ai.system_instructions': JSON.stringify(system),
      'gen_ai.tool.definitions': JSON.stringify(tools) } },
    { name: 'chat without system', attrs: { ...chat, 'gen_ai.input.messages': JSON.stringify(input.slice(0, 1)) } },
    { name: 'OpenAI Chat Completions', attrs: { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o-mini',
      'llm.tools.0.tool.json_schema': JSON.stringify({ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }),
      'llm.tools.1.tool.json_schema': JSON.stringify({ type: 'function', function: { name: 'get_time' } }) } },
    { name: 'openai.chat', attrs: { 'llm.request.type': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'llm.request.functions.0.name': 'get_weather', 'llm.request.functions.0.description': 'Current weather',
      'llm.request.functions.0.parameters': '{"type":"object","properties":{"city":{"type":"string"}}}' } },
  ]));
}

export function runHints(): void {
  const res = { 'service.name': 'hints-svc' };
  const chat = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 };
  const tl = (wf: string) => ({ 'traceloop.workflow.name': wf });
  writeFixture('run-hints', `${SRC}: session / user on non-GenAI spans; pipeline under workflow-name stamping`, buildSpans(16, res, [
    // 1: session and user only on the HTTP root span
    { key: 'http', trace: 1, name: 'POST /chat', kind: 2, attrs: { 'http.request.method': 'POST', 'user.id': 'u-42', 'session.id': 'sess-9' } },
    { parent: 'http', trace: 1, name: 'chat gpt-4o-mini', kind: 3, attrs: chat },
    // 2: gen_ai.conversation.id on a non-GenAI root span
    { key: 'h2', trace: 2, name: 'handle_message', attrs: { 'gen_ai.conversation.id': 'conv-7' } },
    { parent: 'h2', trace: 2, name: 'chat gpt-4o-mini', kind: 3, attrs: chat },
    // 3: OpenLLMetry withWorkflow + withAgent: the agent's name stamped on the agent span and below
    { key: 'h3', trace: 3, name: 'POST /joke', kind: 2, attrs: { 'http.request.method': 'POST' } },
    { key: 'wf', parent: 'h3', trace: 3, name: 'joke_generator.workflow', attrs: {
      'traceloop.span.kind': 'workflow', 'traceloop.entity.name': 'joke_generator', ...tl('joke_generator') } },
    { key: 'ag', parent: 'wf', trace: 3, name: 'joke_agent.agent', attrs: {
      'traceloop.span.kind': 'agent', 'traceloop.entity.name': 'joke_agent', 'gen_ai.agent.name': 'joke_agent', ...tl('joke_agent') } },
    { parent: 'ag', trace: 3, name: 'openai.chat', kind: 3, attrs: { ...chat, 'gen_ai.agent.name': 'joke_agent', ...tl('joke_agent') } },
    { parent: 'ag', trace: 3, name: 'pick_topic.task', attrs: {
      'traceloop.span.kind': 'task', 'traceloop.entity.name': 'pick_topic', ...tl('joke_agent') } },
    // 4: OpenLLMetry withAgent only: the agent's name is the only workflow name, over the root span's name
    { key: 'h4', trace: 4, name: 'POST /help', kind: 2 },
    { key: 'ag4', parent: 'h4', trace: 4, name: 'helper.agent', attrs: {
      'traceloop.span.kind': 'agent', 'traceloop.entity.name': 'helper', ...tl('helper') } },
    { parent: 'ag4', trace: 4, name: 'openai.chat', kind: 3, attrs: { ...chat, ...tl('helper') } },
    // 5: gen_ai.workflow.name on the root workflow span and a different one stamped below it
    { key: 'w5', trace: 5, name: 'invoke_workflow outer', attrs: { 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': 'outer' } },
    { parent: 'w5', trace: 5, name: 'chat gpt-4o-mini', kind: 3, attrs: { ...chat, 'gen_ai.workflow.name': 'a-stamped' } },
  ]));
}

/** The captured AI SDK spans, renamed as another SDK or a span processor does (attributes unchanged). */
export function vercelRenamed(): void {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'testdata', 'mapping');
  const captured = JSON.parse(readFileSync(join(dir, 'vercel-ai.spans.json'), 'utf8')) as { spans: SpanRecord[] };
  const rename: Record<string, string> = {
    'ai.generateText': 'weather-agent.agent', 'ai.generateText.doGenerate': 'chat gpt-4o-mini',
    'ai.streamText': 'stream', 'ai.streamText.doStream': 'chat gpt-4o-mini', 'ai.toolCall': 'execute_tool weather',
    'ai.embed': 'embed', 'ai.embed.doEmbed': 'embeddings text-embedding-3-small',
  };
  const spans = captured.spans.map((s, i) => {
    const attributes = { ...s.attributes };
    // every other span without ai.operationId: the type then comes from operation.name alone
    if (i % 2 === 1) delete attributes['ai.operationId'];
    return { ...s, name: rename[s.name] ?? s.name, attributes };
  });
  writeFixture('vercel-renamed', `${SRC}: vercel-ai capture with span names rewritten (ai.operationId / operation.name kept)`, spans);
}
