import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PriceTable, loadPriceTable, priceUsage } from './index.js';
import type { Usage } from './usage.js';

const usage = (u: Partial<Usage>): Usage => ({
  inputTokens: null, outputTokens: null, cacheReadTokens: null, cacheWriteTokens: null, reasoningTokens: null,
  totalTokens: null, ...u,
});

describe('priceUsage', () => {
  const price = { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 1.25, reasoning: 3 };

  it('prices cached and reasoning tokens once, at their own rates', () => {
    const c = priceUsage(usage({ inputTokens: 1000, cacheReadTokens: 400, cacheWriteTokens: 100, outputTokens: 500, reasoningTokens: 200 }), price);
    expect(c.inputCost).toBeCloseTo((500 * 1 + 400 * 0.1 + 100 * 1.25) / 1e6, 15);
    expect(c.outputCost).toBeCloseTo((300 * 2 + 200 * 3) / 1e6, 15);
    expect(c.totalCost).toBeCloseTo(c.inputCost + c.outputCost, 15);
  });

  it('equals plain pricing when detail prices default to the base prices', () => {
    const p = new PriceTable([{ match: '^m$', input: 1, output: 2 }]).price('m')!;
    expect(p).toEqual({ input: 1, output: 2, cacheRead: 1, cacheWrite: 1, reasoning: 2 });
    const c = priceUsage(usage({ inputTokens: 1000, cacheReadTokens: 400, outputTokens: 500, reasoningTokens: 200 }), p);
    expect(c.totalCost).toBeCloseTo((1000 * 1 + 500 * 2) / 1e6, 15);
  });

  it('clamps a detail count above its total instead of going negative', () => {
    const c = priceUsage(usage({ inputTokens: 100, cacheReadTokens: 150, outputTokens: 10, reasoningTokens: 20 }), price);
    expect(c.inputCost).toBeCloseTo((150 * 0.1) / 1e6, 15);
    expect(c.outputCost).toBeCloseTo((20 * 3) / 1e6, 15);
  });

  it('treats missing counts as zero', () => {
    expect(priceUsage(usage({ outputTokens: 1_000_000 }), price)).toEqual({ inputCost: 0, outputCost: 2, totalCost: 2 });
  });
});

describe('shipped price table', () => {
  const table = loadPriceTable();
  const input = (model: string) => table.price(model)?.input ?? null;

  it.each([
    ['gpt-4o-mini', 0.15], ['gpt-4o-mini-2024-07-18', 0.15], ['gpt-4o', 2.5], ['gpt-4o-2024-08-06', 2.5],
    ['gpt-4o-2024-05-13', 5], ['GPT-4o', 2.5], ['openai/gpt-4o', 2.5], ['gpt-4.1', 2], ['gpt-4.1-2025-04-14', 2],
    ['gpt-4.1-mini', 0.4], ['gpt-4.1-nano-2025-04-14', 0.1], ['o1', 15], ['o1-mini', 1.1], ['o3', 2], ['o3-mini', 1.1],
    ['o3-2025-04-16', 2], ['o4-mini', 1.1], ['gpt-5', 1.25], ['gpt-5-2025-08-07', 1.25], ['gpt-5-mini', 0.25],
    ['gpt-5-nano', 0.05], ['gpt-5.1', 1.25], ['gpt-4', 30], ['gpt-4-turbo-2024-04-09', 10], ['gpt-3.5-turbo-0125', 0.5],
    ['text-embedding-3-small', 0.02], ['text-embedding-3-large', 0.13], ['text-embedding-ada-002', 0.1],
    ['claude-opus-4-5-20251101', 5], ['claude-opus-4-1-20250805', 15], ['claude-opus-4-20250514', 15],
    ['claude-sonnet-4-5-20250929', 3], ['claude-sonnet-4-20250514', 3], ['claude-haiku-4-5', 1],
    ['claude-3-7-sonnet-latest', 3], ['claude-3-5-sonnet-20241022', 3], ['claude-3-5-haiku-20241022', 0.8],
    ['claude-3-opus-20240229', 15], ['claude-3-haiku-20240307', 0.25], ['anthropic/claude-3.5-sonnet', 3],
    ['us.anthropic.claude-sonnet-4-20250514-v1:0', 3], ['anthropic.claude-3-haiku-20240307-v1:0', 0.25],
    ['claude-3-5-sonnet-v2@20241022', 3], ['gemini-2.5-pro', 1.25], ['gemini-2.5-flash', 0.3],
    ['gemini-2.5-flash-lite', 0.1], ['models/gemini-2.0-flash-001', 0.1], ['gemini-2.0-flash-lite', 0.075],
    ['gemini-1.5-pro-002', 1.25], ['gemini-1.5-flash-8b', 0.0375], ['gemini-1.5-flash', 0.075],
    ['mistral-large-latest', 2], ['mistral-small-latest', 0.1], ['codestral-latest', 0.3],
    ['llama-3.3-70b-versatile', 0.59], ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 0.88],
    ['meta.llama3-3-70b-instruct-v1:0', 0.72],
  ])('%s → input $%s/M', (model, expected) => {
    expect(input(model)).toBe(expected);
  });

  it.each(['gpt-5.3', 'claude-opus-4-7', 'my-local-llama', 'ft:gpt-4o-mini-2024-07-18:org::abc', 'gpt-4oo', 'o10'])(
    '%s is unknown', (model) => expect(table.price(model)).toBeNull());

  it('caches lookups per model id', () => {
    expect(table.price('gpt-4o-mini')).toBe(table.price('gpt-4o-mini'));
    expect(table.price(null)).toBeNull();
    expect(table.price('')).toBeNull();
  });

  it('prices Anthropic cache writes and reads', () => {
    expect(table.price('claude-sonnet-4-5')).toEqual({ input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, reasoning: 15 });
  });
});

describe('loadPriceTable(path)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runledger-prices-'));
  const file = (name: string, body: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
    return p;
  };

  it('loads a replacement table (object or bare array) with anchored patterns', () => {
    const t = loadPriceTable(file('a.json', { models: [{ match: 'my-model', input: 1, output: 2, cacheRead: 0.5 }] }));
    expect(t.size).toBe(1);
    expect(t.price('my-model-v2')).toMatchObject({ input: 1, cacheRead: 0.5 });
    expect(t.price('xmy-model')).toBeNull();
    expect(t.price('gpt-4o')).toBeNull();
    expect(loadPriceTable(file('b.json', [{ match: '^x', input: 0, output: 0 }])).size).toBe(1);
  });

  it.each([
    ['missing file', null],
    ['bad json', '{'],
    ['wrong shape', { prices: [] }],
    ['bad regex', [{ match: '(', input: 1, output: 1 }]],
    ['negative price', [{ match: 'a', input: -1, output: 1 }]],
    ['missing output', [{ match: 'a', input: 1 }]],
    ['bad cache price', [{ match: 'a', input: 1, output: 1, cacheRead: '0.1' }]],
  ])('rejects %s', (name, body) => {
    const path = body === null ? join(dir, 'nope.json') : file(`${name}.json`, body);
    expect(() => loadPriceTable(path)).toThrow(path);
  });
});
