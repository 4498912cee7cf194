/** GenAI events (log records or span events) as node content. */
import { describe, expect, it } from 'vitest';
import { contentFragment, spanEventContent } from './genai-events.js';
import { resolveContent } from './content.js';

describe('GenAI content events', () => {
  it('make one message of each per-message event, the body with its role; a choice as sent', () => {
    expect(contentFragment('gen_ai.user.message', { 'gen_ai.system': 'openai' }, { content: 'hi' }))
      .toEqual({ input: '{"role":"user","content":"hi"}', output: null, whole: false, rank: 1 });
    expect(contentFragment('gen_ai.system.message', {}, 'plain text'))
      .toEqual({ input: '{"role":"system","content":"plain text"}', output: null, whole: false, rank: 0 });
    expect(contentFragment('gen_ai.choice', {}, { index: 2, finish_reason: 'stop', message: { content: 'x' } }))
      .toEqual({ input: null, output: '{"index":2,"finish_reason":"stop","message":{"content":"x"}}', whole: false, rank: 2 });
    expect(contentFragment('gen_ai.tool.message', {}, { id: 'call_1', content: '21C' })).toMatchObject({ input: '{"role":"tool","id":"call_1","content":"21C"}', rank: 3 });
    expect(contentFragment('some.other.event', {}, { content: 'x' })).toBeNull();
    expect(contentFragment(null, {}, { content: 'x' })).toBeNull();
  });

  it('take the whole content of operation.details, system instructions first, structured or JSON strings', () => {
    expect(contentFragment('gen_ai.client.inference.operation.details', {
      'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]', 'gen_ai.system_instructions': 'Be brief.',
    })).toEqual({ input: '[{"role":"system","parts":"Be brief."},{"role":"user","parts":[{"type":"text","content":"hi"}]}]', output: null, whole: true, rank: 0 });
    expect(contentFragment('gen_ai.client.inference.operation.details', { 'gen_ai.output.messages': [{ role: 'assistant' }] }))
      .toEqual({ input: null, output: '[{"role":"assistant"}]', whole: true, rank: 0 });
    expect(contentFragment('gen_ai.client.inference.operation.details', {})).toBeNull();
  });

  it('give a span its content from its span events, in order (attributes stand for the body)', () => {
    const ev = (name: string, timeUs: number, attributes: Record<string, string | number>) => ({ name, timeUs, attributes });
    expect(spanEventContent([
      ev('gen_ai.choice', 30, { index: 0, finish_reason: 'stop' }),
      ev('gen_ai.user.message', 10, { content: 'q', 'gen_ai.system': 'openai' }),
      ev('gen_ai.system.message', 10, { content: 's' }),
      ev('exception', 5, { 'exception.message': 'x' }),
    ])).toEqual({
      input: '[{"role":"system","content":"s"},{"role":"user","content":"q"}]',
      output: '[{"index":0,"finish_reason":"stop"}]',
    });
    expect(spanEventContent([ev('exception', 5, {})])).toEqual({ input: null, output: null });
  });
});

describe('Semantic Kernel content events (one JSON text per message)', () => {
  // .NET 1.80 (dotnet/src/InternalUtilities/src/Diagnostics/ModelDiagnostics.cs): span events named by role and
  // gen_ai.choice, the message JSON-serialised into the attribute gen_ai.event.content
  it('read a span event\'s gen_ai.event.content as the message', () => {
    const ev = (name: string, timeUs: number, content: string) =>
      ({ name, timeUs, attributes: { 'gen_ai.event.content': content, 'gen_ai.system': 'openai' } });
    expect(spanEventContent([
      ev('gen_ai.system.message', 10, '{"role":"system","content":"Be brief.","tool_calls":[]}'),
      ev('gen_ai.user.message', 11, '{"role":"user","content":"Weather in Paris?","tool_calls":[]}'),
      ev('gen_ai.choice', 20, '{"index":0,"message":{"role":"assistant","content":"Rainy."},"finish_reason":"Stop"}'),
    ])).toEqual({
      input: '[{"role":"system","content":"Be brief.","tool_calls":[]},{"role":"user","content":"Weather in Paris?","tool_calls":[]}]',
      output: '[{"index":0,"message":{"role":"assistant","content":"Rainy."},"finish_reason":"Stop"}]',
    });
  });

  // Python 1.44 (python/semantic_kernel/utils/telemetry/model_diagnostics/decorators.py): log records with an
  // event.name attribute, the body `json.dumps(message.to_dict())` (a string)
  it('read a log record\'s JSON body as the message, and keep other text bodies as content', () => {
    expect(contentFragment('gen_ai.user.message', { 'event.name': 'gen_ai.user.message', 'gen_ai.system': 'openai' },
      '{"role": "user", "content": "Weather in Paris?"}'))
      .toEqual({ input: '{"role":"user","content":"Weather in Paris?"}', output: null, whole: false, rank: 1 });
    expect(contentFragment('gen_ai.choice', {}, '{"message": {"role": "assistant", "content": "Rainy."}, "finish_reason": "stop", "index": 1}'))
      .toEqual({ input: null, output: '{"message":{"role":"assistant","content":"Rainy."},"finish_reason":"stop","index":1}', whole: false, rank: 1 });
    // a text that is JSON but not a message stays the content
    expect(contentFragment('gen_ai.user.message', {}, '{"city": "Paris"}'))
      .toEqual({ input: '{"role":"user","content":"{\\"city\\": \\"Paris\\"}"}', output: null, whole: false, rank: 1 });
  });
});

describe('content_source of a span', () => {
  const opts = { captureContent: true, maxContentChars: 10_000 } as Parameters<typeof resolveContent>[2];
  it('is span when the span carries its conversation, null when its only content is system instructions', () => {
    expect(resolveContent({ 'gen_ai.input.messages': '[{"role":"user","parts":[]}]' }, false, opts).contentSource).toBe('span');
    expect(resolveContent({ 'gen_ai.output.messages': '[{"role":"assistant","parts":[]}]', 'gen_ai.system_instructions': 'x' }, false, opts).contentSource).toBe('span');
    // instrumentation-openai's Responses span: instructions only; its log records carry the conversation
    const instr = resolveContent({ 'gen_ai.system_instructions': 'Answer in one sentence.' }, false, opts);
    expect(instr).toMatchObject({ contentSource: null, input: '[{"role":"system","parts":"Answer in one sentence."}]' });
    expect(resolveContent({ 'gen_ai.system_instructions': 'x', 'input.value': 'q' }, false, opts).contentSource).toBe('span');
    expect(resolveContent({}, false, opts).contentSource).toBeNull();
  });
});
