/** Attribute readers and provider names: first usable value, normalised. */
import { describe, expect, it } from 'vitest';
import { asCount, collectIndexed, firstNumber, firstString } from './attrs.js';
import { normalizeProvider } from './provider.js';

describe('attribute readers', () => {
  it('firstString skips absent and empty values and renders numbers', () => {
    expect(firstString({ a: '', b: 'x' }, ['a', 'b'])).toBe('x');
    expect(firstString({ b: 42 }, ['a', 'b'])).toBe('42');
    expect(firstString({ a: true }, ['a'])).toBeNull();
  });

  it('firstNumber accepts numbers and numeric strings only', () => {
    expect(firstNumber({ a: '0.25' }, ['a'])).toBe(0.25);
    expect(firstNumber({ a: 'hot', b: '1e3' }, ['a', 'b'])).toBe(1000);
    expect(firstNumber({ a: '', b: '0x10', c: NaN }, ['a', 'b', 'c'])).toBeNull();
  });

  it('asCount accepts non-negative safe integers, also as int64 decimal strings', () => {
    expect(asCount('1200')).toBe(1200);
    expect(asCount(0)).toBe(0);
    expect(asCount(-1)).toBeNull();
    expect(asCount(2.5)).toBeNull();
    expect(asCount('9007199254740993')).toBeNull();
    expect(asCount(Infinity)).toBeNull();
  });

  it('collectIndexed unflattens indexed keys into arrays of objects', () => {
    const items = collectIndexed({
      'p.1.role': 'assistant', 'p.0.role': 'user', 'p.0.content': 'hi',
      'p.1.tool_calls.0.name': 'f', 'p.1.tool_calls.1.name': 'g', 'p.x.role': 'bad', 'other': 1,
    }, ['p.'])[0];
    expect(items).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', tool_calls: [{ name: 'f' }, { name: 'g' }] },
    ]);
  });

  it('collectIndexed fills several prefixes in one pass', () => {
    expect(collectIndexed({ 'i.0.r': 'u', 'o.0.r': 'a', 'io.0.r': 'x' }, ['i.', 'o.'])).toEqual([[{ r: 'u' }], [{ r: 'a' }]]);
  });

  it('collectIndexed drops holes, huge indices and prototype keys', () => {
    const items = collectIndexed({ 'p.3.a': 1, 'p.99999.a': 2, 'p.0.__proto__.polluted': 3 }, ['p.'])[0];
    expect(items).toEqual([{}, { a: 1 }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('normalizeProvider', () => {
  it.each([
    ['openai', 'openai'], ['openai.chat', 'openai'], ['openai.responses', 'openai'], ['OpenAI', 'openai'],
    ['anthropic.messages', 'anthropic'], ['aws.bedrock', 'aws.bedrock'], ['amazon-bedrock', 'aws.bedrock'],
    ['azure.ai.openai', 'azure.ai.openai'], ['az.ai.openai', 'azure.ai.openai'], ['azure.chat', 'azure.ai.openai'],
    ['google.generative-ai', 'gcp.gemini'], ['google.vertex.chat', 'gcp.vertex_ai'], ['google', 'gcp.gen_ai'],
    ['mistral.chat', 'mistral_ai'], ['mistralai', 'mistral_ai'], ['xai.chat', 'x_ai'], ['groq.chat', 'groq'],
    ['vertexai', 'gcp.vertex_ai'], ['togetherai.chat', 'togetherai'], ['ollama', 'ollama'],
    // SDK-specific ids and aliases onto the OTel well-known values
    ['google-gla', 'gcp.gemini'], ['google-vertex', 'gcp.vertex_ai'], ['google-cloud', 'gcp.vertex_ai'],
    ['google_genai', 'gcp.gemini'], ['google_vertexai', 'gcp.vertex_ai'], ['amazon_bedrock', 'aws.bedrock'],
    ['googleai', 'gcp.gemini'], ['vertex.anthropic.messages', 'gcp.vertex_ai'], ['moonshotai', 'moonshot_ai'],
    ['Azure', 'azure.ai.openai'], ['TogetherAI', 'togetherai'], ['ibm.watsonx.ai', 'ibm.watsonx.ai'],
    ['gcp.gen_ai', 'gcp.gen_ai'], ['moonshot_ai', 'moonshot_ai'],
    // a dotted value that is no Vercel "<provider>.<api>" id is kept whole, not cut at its first dot
    ['my.custom.gateway', 'my.custom.gateway'], ['acme.ai', 'acme.ai'],
  ])('%s → %s', (raw, expected) => expect(normalizeProvider(raw)).toBe(expected));

  it.each(['gcp.vertex.agent', 'strands-agents', 'microsoft.agent_framework', 'langchain', 'LangGraph', 'crewai', ' ', ''])(
    'framework name or empty %j → null (never a provider)', (raw) => expect(normalizeProvider(raw)).toBeNull());
});
