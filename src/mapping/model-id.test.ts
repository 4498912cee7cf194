/** Model ids normalised for model_name, and the candidates a price lookup tries. */
import { describe, expect, it } from 'vitest';
import { bedrockBareId, familyCandidates, modelIdParts, normalizeModelId, priceCandidates } from './model-id.js';

describe('normalizeModelId (model_name)', () => {
  it.each([
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini-2024-07-18'], // dated snapshots are models of their own
    ['  gpt-4o  ', 'gpt-4o'],
    ['openai/gpt-4o', 'gpt-4o'],
    ['openrouter/anthropic/claude-3.5-sonnet', 'claude-3.5-sonnet'],
    ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 'Llama-3.3-70B-Instruct-Turbo'],
    ['models/gemini-2.0-flash-001', 'gemini-2.0-flash-001'],
    ['projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro', 'gemini-2.5-pro'],
    ['projects/p/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet-v2@20241022'],
    ['projects/p/locations/us-central1/endpoints/1234567890', 'projects/p/locations/us-central1/endpoints/1234567890'],
    ['accounts/fireworks/models/llama-v3p1-8b-instruct', 'llama-v3p1-8b-instruct'],
    ['us.anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet-20241022'],
    ['anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku-20240307'],
    ['global.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5-20250929'],
    ['meta.llama3-3-70b-instruct-v1:0', 'llama3-3-70b-instruct'],
    ['amazon.nova-pro-v1:0', 'nova-pro-v1'], // the version is the name when nothing else is numbered
    ['anthropic.claude-v2:1', 'claude-v2'],
    ['openai.gpt-oss-120b-1:0', 'gpt-oss-120b'],
    ['arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0', 'claude-3-7-sonnet-20250219'],
    ['bedrock/us.meta.llama3-1-70b-instruct-v1:0', 'llama3-1-70b-instruct'],
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet-v2@20241022'],
    ['ft:gpt-4o-mini-2024-07-18:org::abc', 'ft:gpt-4o-mini-2024-07-18:org::abc'],
    ['my-local-llama', 'my-local-llama'],
  ])('%s → %s', (raw, id) => expect(normalizeModelId(raw)).toBe(id));

  it('keeps null and drops blank values', () => {
    expect(normalizeModelId(null)).toBeNull();
    expect(normalizeModelId('   ')).toBeNull();
  });

  it('names the vendor of a path', () => {
    expect(modelIdParts('openai/gpt-4o').vendor).toBe('openai');
    expect(modelIdParts('projects/p/locations/l/publishers/anthropic/models/claude-opus-4@20250514').vendor).toBe('anthropic');
    expect(modelIdParts('accounts/fireworks/models/x').vendor).toBe('fireworks');
    expect(modelIdParts('gpt-4o').vendor).toBeNull();
  });
});

describe('price candidates', () => {
  it('tries the raw id first (Bedrock and Fireworks price by it), then the path tail, then the bare id', () => {
    expect(priceCandidates('us.anthropic.claude-3-5-sonnet-20241022-v2:0'))
      .toEqual(['us.anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet-20241022']);
    expect(priceCandidates('accounts/fireworks/models/llama-v3p1-8b-instruct'))
      .toEqual(['accounts/fireworks/models/llama-v3p1-8b-instruct', 'llama-v3p1-8b-instruct']);
    expect(priceCandidates('bedrock/us.meta.llama3-1-70b-instruct-v1:0'))
      .toEqual(['bedrock/us.meta.llama3-1-70b-instruct-v1:0', 'us.meta.llama3-1-70b-instruct-v1:0', 'llama3-1-70b-instruct']);
    expect(priceCandidates('gpt-4o')).toEqual(['gpt-4o']);
    expect(priceCandidates(' ')).toEqual([]);
  });

  it('falls back to the family of a snapshot or alias', () => {
    expect(familyCandidates(['ministral-3b-latest'])).toEqual(['ministral-3b']);
    expect(familyCandidates(['pixtral-12b-2409'])).toEqual(['pixtral-12b']);
    expect(familyCandidates(['gpt-4o-2024-11-20', 'gemini-1.5-pro-002', 'claude-3-5-sonnet-v2@20241022']))
      .toEqual(['gpt-4o', 'gemini-1.5-pro', 'claude-3-5-sonnet-v2']);
    expect(familyCandidates(['gpt-4o'])).toEqual([]);
  });

  it('recognises Bedrock ids only with a vendor prefix', () => {
    expect(bedrockBareId('claude-3-haiku-20240307')).toBeNull();
    expect(bedrockBareId('eu.mistral.mistral-large-2402-v1:0')).toBe('mistral-large-2402');
  });
});
