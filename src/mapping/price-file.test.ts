/** The override price file (RUNLEDGER_PRICES_FILE) and the precedence: reported cost > file > manifest. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_SOURCE, PriceTable, loadPriceTable, priceUsage } from './index.js';
import { resolveCost } from './cost.js';
import { normalizeProvider } from './provider.js';
import { readFileSync } from 'node:fs';
import { loadPriceFile, parsePriceFile } from './price-file.js';
import type { Usage } from './usage.js';

const usage = (u: Partial<Usage>): Usage => ({
  inputTokens: null, outputTokens: null, cacheReadTokens: null, cacheWriteTokens: null, reasoningTokens: null,
  totalTokens: null, ...u,
});
const NOW = Date.parse('2026-12-07T12:00:00Z') * 1000;
const dir = mkdtempSync(join(tmpdir(), 'runledger-prices-'));
const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

describe('loadPriceTable(path)', () => {
  it('loads entries (object or bare array) with anchored patterns, layered over the manifest', () => {
    const path = file('a.json', { models: [{ match: 'my-model', input: 1, output: 2, cacheRead: 0.5 }] });
    const t = loadPriceTable(path);
    const f = t.file!;
    expect(f.entries).toHaveLength(1);
    expect(t.find(null, 'my-model-v2', null, null, NOW)).toMatchObject({ ref: `${f.source}:my-model` });
    expect(f.source).toMatch(/^prices-file@[0-9a-f]{12}$/);
    expect(t.find(null, 'my-model-v2', null, null, NOW)!.price).toMatchObject({ input: { base: 10 }, cacheRead: { base: 5 }, scale: 1 }); // 1.0 and 0.5 at 10^-1
    expect(t.find(null, 'xmy-model', null, null, NOW)).toBeNull(); // anchored at the start
    expect(t.find(null, 'gpt-4o', null, null, NOW)!.ref).toBe(`${MANIFEST_SOURCE}:openai/gpt-4o`); // the manifest still prices the rest
    expect(new PriceTable(f, { manifest: false }).find(null, 'gpt-4o', null, null, NOW)).toBeNull();
    expect(loadPriceTable(file('b.json', [{ match: '^x', input: 0, output: 0 }])).file!.entries).toHaveLength(1);
  });

  it('names the file version by its content: an edited file is a new price source', () => {
    const a = loadPriceFile(file('v1.json', [{ match: '^m$', input: 1, output: 2 }]));
    const b = loadPriceFile(file('v2.json', [{ match: '^m$', input: 1, output: 3 }]));
    expect(a.source).not.toBe(b.source);
    expect(loadPriceTable(file('v1b.json', [{ match: '^m$', input: 1, output: 2 }])).sources)
      .toEqual([a.source, MANIFEST_SOURCE, expect.stringMatching(/^runledger-fallback@[0-9a-f]{12}$/)]);
  });

  it.each([
    ['missing file', null],
    ['bad json', '{'],
    ['wrong shape', { prices: [] }],
    ['bad regex', [{ match: '(', input: 1, output: 1 }]],
    ['negative price', [{ match: 'a', input: -1, output: 1 }]],
    ['missing output', [{ match: 'a', input: 1 }]],
    ['bad cache price', [{ match: 'a', input: 1, output: 1, cacheRead: '0.1' }]],
    ['bad cache write 1h', [{ match: 'a', input: 1, output: 1, cacheWrite1h: -2 }]],
    ['tier without threshold', [{ match: 'a', input: 1, output: 1, tiers: [{ input: 2 }] }]],
    ['bad tier price', [{ match: 'a', input: 1, output: 1, tiers: [{ above: 10, output: 'x' }] }]],
    ['bad from', [{ match: 'a', input: 1, output: 1, from: 'soon' }]],
    ['bad provider', [{ match: 'a', input: 1, output: 1, provider: 7 }]],
  ])('rejects %s', (name, body) => {
    const path = body === null ? join(dir, 'nope.json') : file(`${name}.json`, body);
    expect(() => loadPriceTable(path)).toThrow(path);
  });
});

describe('price file entries', () => {
  const t = loadPriceTable(file('rich.json', { models: [
    { match: '^big-ctx$', input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, cacheWrite1h: 6,
      tiers: [{ above: 200000, input: 6, output: 22.5, cacheRead: 0.6, cacheWrite: 7.5 }] },
    { match: '^dated$', from: '2026-07-01', input: 2, output: 4 },
    { match: '^dated$', input: 1, output: 2 },
    { match: '^gpt-4o-mini', provider: 'azure.ai.openai', input: 0.1, output: 0.5 },
    { match: '^llama-v3p3-70b-instruct$', input: 0.9, output: 0.9 },
  ] }));
  const cost = (model: string, u: Partial<Usage>, when = NOW, provider: string | null = null) =>
    priceUsage(usage(u), t.find(provider, model, null, null, when)!.price).totalCost;

  it('expresses tiers on total input, strictly above the threshold, and cache writes', () => {
    expect(cost('big-ctx', { inputTokens: 200_000, cacheReadTokens: 100_000, cacheWriteTokens: 50_000, outputTokens: 1000 }))
      .toBe((50_000 * 3 + 100_000 * 0.3 + 50_000 * 3.75 + 1000 * 15) / 1e6);
    expect(cost('big-ctx', { inputTokens: 200_001, cacheReadTokens: 100_000, cacheWriteTokens: 50_000, outputTokens: 1000 }))
      .toBe((50_001 * 6 + 100_000 * 0.6 + 50_000 * 7.5 + 1000 * 22.5) / 1e6);
  });

  it('picks the first entry in force at the call\'s start', () => {
    expect(cost('dated', { inputTokens: 1_000_000 }, Date.parse('2026-06-30T23:59:59Z') * 1000)).toBe(1);
    expect(cost('dated', { inputTokens: 1_000_000 }, Date.parse('2026-07-01T00:00:00Z') * 1000)).toBe(2);
  });

  it('limits an entry to a provider (OTel names or the manifest\'s ids)', () => {
    expect(t.find('azure.ai.openai', 'gpt-4o-mini', null, null, NOW)!.ref).toBe(`${t.file!.source}:^gpt-4o-mini`);
    expect(t.find('azure', 'gpt-4o-mini', null, null, NOW)!.ref).toBe(`${t.file!.source}:^gpt-4o-mini`);
    expect(t.find('openai', 'gpt-4o-mini', null, null, NOW)!.ref).toBe(`${MANIFEST_SOURCE}:openai/gpt-4o-mini`);
  });

  it('wins over the shipped fallback list for the model of the old table the manifest lacks (Fireworks llama-v3p3-70b-instruct)', () => {
    const id = 'accounts/fireworks/models/llama-v3p3-70b-instruct';
    const shipped = loadPriceTable();
    expect(shipped.find('fireworks', id, null, null, NOW)!.ref).toBe(`${shipped.fallback!.source}:^llama-v3p3-70b-instruct$`);
    expect(priceUsage(usage({ inputTokens: 1000, outputTokens: 1000 }), shipped.find('fireworks', id, null, null, NOW)!.price).totalCost).toBe(0.0018);
    expect(t.find('fireworks', id, null, null, NOW)!.ref).toBe(`${t.file!.source}:^llama-v3p3-70b-instruct$`);
    expect(cost(id, { inputTokens: 1000, outputTokens: 1000 }, NOW, 'fireworks')).toBe(0.0018);
  });
});

describe('precedence: reported cost > price file > manifest', () => {
  const t = loadPriceTable(file('neg.json', [{ match: '^gpt-4o-mini', input: 0.1, output: 0.4 }]));
  const u = usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 });
  const models = { responseModel: 'gpt-4o-mini-2024-07-18', requestModel: 'gpt-4o-mini', modelName: 'gpt-4o-mini-2024-07-18' };

  it('a price file entry wins over the manifest, whichever model value it matched', () => {
    expect(resolveCost({}, u, loadPriceTable(), 'openai', models, NOW))
      .toEqual({ inputCost: 0.15, outputCost: 0.6, totalCost: 0.75, costSource: 'price_table', priceRef: `${MANIFEST_SOURCE}:openai/gpt-4o-mini` });
    expect(resolveCost({}, u, t, 'openai', models, NOW))
      .toEqual({ inputCost: 0.1, outputCost: 0.4, totalCost: 0.5, costSource: 'price_table', priceRef: `${t.file!.source}:^gpt-4o-mini` });
    expect(resolveCost({}, u, t, 'openai', { ...models, responseModel: 'gpt-4o-2024-08-06' }, NOW).priceRef).toBe(`${t.file!.source}:^gpt-4o-mini`);
  });

  it('a reported cost wins over both', () => {
    expect(resolveCost({ 'gen_ai.usage.cost': 0.25 }, u, t, 'openai', models, NOW))
      .toEqual({ inputCost: null, outputCost: null, totalCost: 0.25, costSource: 'reported', priceRef: null });
    expect(resolveCost({ 'llm.cost.prompt': 0.01, 'llm.cost.completion': 0.02 }, u, t, 'openai', models, NOW))
      .toMatchObject({ inputCost: 0.01, outputCost: 0.02, costSource: 'reported', priceRef: null });
  });

  it('half a reported cost is not the cost, and a split that does not add up to the total is dropped', () => {
    // only the prompt's cost reported: it replaced the computed cost ($0.25 for a $0.50 call)
    expect(resolveCost({ 'llm.cost.prompt': 0.25 }, u, t, 'openai', models, NOW))
      .toMatchObject({ totalCost: 0.5, costSource: 'price_table' });
    expect(resolveCost({ 'llm.cost.completion': 0.25 }, u, t, 'openai', models, NOW))
      .toMatchObject({ totalCost: 0.5, costSource: 'price_table' });
    // halves of $5 each beside a total of $0.35: summing input_cost gave 28× the spend
    expect(resolveCost({ 'gen_ai.usage.cost': 0.35, 'llm.cost.prompt': 5, 'llm.cost.completion': 5 }, u, t, 'openai', models, NOW))
      .toEqual({ inputCost: null, outputCost: null, totalCost: 0.35, costSource: 'reported', priceRef: null });
    expect(resolveCost({ 'gen_ai.usage.cost': 0.35, 'llm.cost.prompt': 0.3, 'llm.cost.completion': 0.05 }, u, t, 'openai', models, NOW))
      .toMatchObject({ inputCost: 0.3, outputCost: 0.05, totalCost: 0.35 });
  });

  it("reads LiteLLM's reported cost (gen_ai.cost.*), whose zero means it could not price the call", () => {
    // LiteLLM's CostBreakdown (litellm/integrations/opentelemetry.py set_attributes): the spend it bills
    expect(resolveCost({ 'gen_ai.cost.input_cost': 4.26e-5, 'gen_ai.cost.output_cost': 1.62e-5, 'gen_ai.cost.total_cost': 5.88e-5 },
      u, t, 'openai', models, NOW)).toEqual({ inputCost: 4.26e-5, outputCost: 1.62e-5, totalCost: 5.88e-5, costSource: 'reported', priceRef: null });
    // a tool-usage cost or a discount: the halves do not add up to the total, which stands alone
    expect(resolveCost({ 'gen_ai.cost.input_cost': 0.3, 'gen_ai.cost.output_cost': 0.1, 'gen_ai.cost.total_cost': 0.3,
      'gen_ai.cost.discount_amount': 0.1 }, u, t, 'openai', models, NOW))
      .toEqual({ inputCost: null, outputCost: null, totalCost: 0.3, costSource: 'reported', priceRef: null });
    // 0.0 for a model LiteLLM has no price for: not a free call, the price table decides
    expect(resolveCost({ 'gen_ai.cost.input_cost': 0, 'gen_ai.cost.output_cost': 0, 'gen_ai.cost.total_cost': 0 },
      u, t, 'openai', models, NOW)).toMatchObject({ totalCost: 0.5, costSource: 'price_table' });
    // the earlier reporters' keys come first, and their zero is a zero
    expect(resolveCost({ 'llm.cost.total': 0, 'gen_ai.cost.total_cost': 0.2 }, u, t, 'openai', models, NOW))
      .toMatchObject({ totalCost: 0, costSource: 'reported' });
    expect(resolveCost({ 'llm.cost.total': 0.4, 'llm.cost.prompt': 0.1, 'llm.cost.completion': 0.3 }, u, t, 'openai', models, NOW))
      .toEqual({ inputCost: 0.1, outputCost: 0.3, totalCost: 0.4, costSource: 'reported', priceRef: null });
  });

  it("LiteLLM's self-hosted providers (hosted_vllm, ollama_chat) are self-hosted: unpriced, not a catalogue price", () => {
    const qwen = { responseModel: 'Qwen/Qwen2.5-0.5B-Instruct', requestModel: 'Qwen/Qwen2.5-0.5B-Instruct', modelName: null };
    for (const raw of ['hosted_vllm', 'ollama_chat']) {
      expect(resolveCost({ 'gen_ai.cost.total_cost': 0 }, u, loadPriceTable(), normalizeProvider(raw), qwen, NOW))
        .toMatchObject({ totalCost: null, costSource: null });
    }
    expect([normalizeProvider('hosted_vllm'), normalizeProvider('ollama_chat')]).toEqual(['vllm', 'ollama']);
  });

  it('without an input count the cost is unknown, not priced as zero input', () => {
    expect(resolveCost({}, usage({ inputTokens: null, outputTokens: 200 }), loadPriceTable(), 'openai', models, NOW))
      .toEqual({ inputCost: null, outputCost: null, totalCost: null, costSource: null, priceRef: null });
  });

  it('a model billed only per audio hour or page is unpriced, not $0', () => {
    const shipped = loadPriceTable();
    for (const [provider, model] of [['openai', 'whisper-1'], ['groq', 'whisper-large-v3'], ['mistral_ai', 'mistral-ocr-latest']]) {
      expect(resolveCost({}, usage({ inputTokens: 5000, outputTokens: 300 }), shipped, provider!, { responseModel: model!, requestModel: null, modelName: model! }, NOW), model)
        .toMatchObject({ totalCost: null, costSource: null });
    }
    // a model served by a runtime the user hosts is not priced as a vendor's hosted model; a price file still prices it
    expect(shipped.find('ollama', 'deepseek-r1:8b', null, null, NOW)).toBeNull(); // was DeepSeek's hosted R1
    expect(shipped.find('vllm', 'meta-llama/Llama-3.1-8B-Instruct', null, null, NOW)).toBeNull(); // was OpenRouter's price
    expect(shipped.find(null, 'deepseek-r1:8b', null, null, NOW)).not.toBeNull(); // no provider named: as before
    const own = loadPriceTable(file('own.json', [{ match: '^deepseek-r1:8b$', provider: 'ollama', input: 0.01, output: 0.01 },
      { match: '^deepseek-ai/deepseek-v3$', provider: 'together', input: 1.25, output: 1.25 }]));
    expect(own.find('ollama', 'deepseek-r1:8b', null, null, NOW)!.ref).toBe(`${own.file!.source}:^deepseek-r1:8b$`);
    // the Vercel AI SDK's provider id `togetherai` is the manifest's `together`: a price file entry for it applies
    expect(own.find('togetherai', 'deepseek-ai/DeepSeek-V3', null, null, NOW)!.ref).toBe(`${own.file!.source}:^deepseek-ai/deepseek-v3$`);
    // a free model (a manifest price with no keys) still prices at $0
    expect(resolveCost({}, usage({ inputTokens: 5000, outputTokens: 300 }), shipped, 'azure', { responseModel: 'mai-ds-r1:free', requestModel: null, modelName: null }, NOW))
      .toMatchObject({ totalCost: 0, costSource: 'price_table' });
  });
});

describe('precedence: price file > manifest > shipped fallback list', () => {
  // a fallback list naming a model the manifest has, one it lacks, and one the price file overrides
  const fallback = { models: [
    { match: '^gpt-4o-mini', input: 9, output: 9 },
    { match: '^only-in-fallback$', input: 1, output: 2, tiers: [{ above: 1000, input: 3 }] },
    { match: '^overridden$', input: 5, output: 5 },
  ] };
  const withFile = loadPriceTable(file('over-fallback.json', [{ match: '^overridden$', input: 0.5, output: 0.5 }]), { fallback });
  const t = loadPriceTable(null, { fallback });

  it('the manifest wins where it has the model, whichever model value the fallback matched', () => {
    expect(t.find('openai', 'gpt-4o-mini', null, null, NOW)!.ref).toBe(`${MANIFEST_SOURCE}:openai/gpt-4o-mini`);
    expect(t.find(null, 'gpt-4o-mini-2024-07-18', null, null, NOW)!.ref.startsWith(`${MANIFEST_SOURCE}:openai/gpt-4o-mini`)).toBe(true);
    expect(t.find('openai', 'gpt-4o-mini', 'gpt-4o', null, NOW)!.ref).toBe(`${MANIFEST_SOURCE}:openai/gpt-4o-mini`);
    // response model only in the fallback, request model in the manifest: the manifest's price
    expect(t.find('openai', 'only-in-fallback', 'gpt-4o', null, NOW)!.ref).toBe(`${MANIFEST_SOURCE}:openai/gpt-4o`);
  });

  it('the fallback prices what the manifest lacks, tiers as in the price file', () => {
    const p = t.find('fireworks', 'accounts/fireworks/models/only-in-fallback', null, null, NOW)!;
    expect(p.ref).toBe(`${t.fallback!.source}:^only-in-fallback$`);
    expect(t.fallback!.source).toMatch(/^runledger-fallback@[0-9a-f]{12}$/);
    expect(priceUsage(usage({ inputTokens: 1000, outputTokens: 1000 }), p.price).totalCost).toBe(0.003);
    expect(priceUsage(usage({ inputTokens: 1001, outputTokens: 1000 }), p.price).totalCost).toBe(0.005003);
  });

  it('the price file wins over the fallback, and the fallback over nothing', () => {
    expect(withFile.find(null, 'overridden', null, null, NOW)!.ref).toBe(`${withFile.file!.source}:^overridden$`);
    expect(t.find(null, 'overridden', null, null, NOW)!.ref).toBe(`${t.fallback!.source}:^overridden$`);
    expect(loadPriceTable(null, { fallback: null }).find(null, 'overridden', null, null, NOW)).toBeNull();
    expect(resolveCost({}, usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 }), withFile, null,
      { responseModel: null, requestModel: 'overridden', modelName: 'overridden' }, NOW))
      .toEqual({ inputCost: 0.5, outputCost: 0.5, totalCost: 1, costSource: 'price_table', priceRef: `${withFile.file!.source}:^overridden$` });
  });

  it('names the fallback version by its list and the manifest version, both in force for reprice', () => {
    expect(withFile.sources).toEqual([withFile.file!.source, MANIFEST_SOURCE, withFile.fallback!.source]);
    expect(loadPriceTable().fallback!.source).not.toBe(t.fallback!.source); // another list
    // a fallback price stands only while the manifest lacks the model: an upgrade makes it stale
    expect(loadPriceTable(null, { manifestSource: 'genai-prices@999.0.0' }).fallback!.source).not.toBe(loadPriceTable().fallback!.source);
    expect(loadPriceTable().fallback!.source).toBe(loadPriceTable().fallback!.source);
    expect(() => loadPriceTable(null, { fallback: { models: [{ match: 'x', input: 1 }] } })).toThrow(/"output"/);
  });
});

describe('the documented price files', () => {
  it('README\'s example and testdata/prices/example-prices.json load and price as described', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /\*\*The price file\*\*[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(parsePriceFile(block, 'README').entries).toHaveLength(2);
    const t = loadPriceTable(new URL('../../testdata/prices/example-prices.json', import.meta.url).pathname);
    const at = (iso: string) => Date.parse(iso) * 1000;
    const sonnet = (iso: string, input: number) => {
      const p = t.find('anthropic', 'claude-sonnet-4-5-20250929', null, null, at(iso))!;
      return [p.ref.startsWith('prices-file@'), priceUsage(usage({ inputTokens: input, cacheWriteTokens: 100_000, outputTokens: 1000 }), p.price).totalCost];
    };
    expect(sonnet('2025-12-31T23:59:59Z', 150_000)).toEqual([false, (50_000 * 3 + 100_000 * 3.75 + 1000 * 15) / 1e6]); // the manifest
    expect(sonnet('2026-01-01T00:00:00Z', 150_000)).toEqual([true, (50_000 * 2.7 + 100_000 * 3.375 + 1000 * 13.5) / 1e6]);
    expect(sonnet('2026-01-01T00:00:00Z', 250_000)).toEqual([true, (150_000 * 5.4 + 100_000 * 6.75 + 1000 * 20.25) / 1e6]);
    expect(t.find('openai', 'my-finetune-v3', null, null, NOW)!.ref).toMatch(/^prices-file@\w+:\^my-finetune/);
    expect(t.find('fireworks', 'accounts/fireworks/models/llama-v3p3-70b-instruct', null, null, NOW)!.ref).toMatch(/^prices-file@/);
  });
});
