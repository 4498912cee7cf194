/** Prices against the manifest's own numbers (its calcPrice), exact at the ledger's 1e-10 USD. */
import { calcPrice } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { MANIFEST_SOURCE, loadPriceTable, priceUsage } from './index.js';
import { compileSchedule, manifestEntries } from './manifest.js';
import { compilePrice, priceUnits } from './price-math.js';
import type { Usage } from './usage.js';
import { MODALITY_PARTS, type ModalityPart } from './types.js';
import oldTable from '../../testdata/prices/old-price-table.json' with { type: 'json' };

const usage = (u: Partial<Usage>): Usage => ({
  inputTokens: null, outputTokens: null, cacheReadTokens: null, cacheWriteTokens: null, reasoningTokens: null,
  totalTokens: null, ...u,
});
const table = loadPriceTable();
const us = (iso: string) => Date.parse(iso) * 1000;
const NOW = us('2026-12-07T12:00:00Z');

describe('priceUsage', () => {
  const price = compilePrice({
    input: { base: 1 }, output: { base: 2 }, cacheRead: { base: 0.1 }, cacheWrite: { base: 1.25 }, reasoning: { base: 3 },
  });

  it('prices cached and reasoning tokens once, at their own rates, exactly', () => {
    const c = priceUsage(usage({ inputTokens: 1000, cacheReadTokens: 400, cacheWriteTokens: 100, outputTokens: 500, reasoningTokens: 200 }), price);
    expect(c).toEqual({ inputCost: 0.000665, outputCost: 0.0012, totalCost: 0.001865 }); // (500 + 40 + 125) / 1e6, (600 + 600) / 1e6
  });

  it('equals plain pricing when detail prices default to the base prices', () => {
    const p = compilePrice({ input: { base: 1 }, output: { base: 2 } });
    const c = priceUsage(usage({ inputTokens: 1000, cacheReadTokens: 400, outputTokens: 500, reasoningTokens: 200 }), p);
    expect(c.totalCost).toBe(0.002);
  });

  it('clamps a detail count above its total instead of going negative', () => {
    const c = priceUsage(usage({ inputTokens: 100, cacheReadTokens: 150, outputTokens: 10, reasoningTokens: 20 }), price);
    expect(c.inputCost).toBe(0.000015);
    expect(c.outputCost).toBe(0.00006);
  });

  it('prices audio parts that do not fit in their totals at the text rate, not above the reported tokens', () => {
    const rt = table.find('openai', 'gpt-4o-realtime-preview', null, null, NOW)!.price;
    const text = priceUsage(usage({ inputTokens: 100, outputTokens: 10 }), rt).totalCost;
    for (const modalityTokens of [{ audio_input: 150 }, { audio_input: 50, audio_cache_read: 10 }, { audio_output: 11 },
      { audio_input: 60, image_input: 50 }]) {
      expect(priceUsage(usage({ inputTokens: 100, outputTokens: 10, modalityTokens }), rt).totalCost).toBe(text);
    }
    // fitting parts are priced at their rates: 60 audio at 40, 40 text at 5 per 1M
    expect(priceUsage(usage({ inputTokens: 100, modalityTokens: { audio_input: 60 } }), rt).totalCost).toBe(0.0026);
  });

  it('treats missing counts as zero', () => {
    expect(priceUsage(usage({ outputTokens: 1_000_000 }), price)).toEqual({ inputCost: 0, outputCost: 2, totalCost: 2 });
  });

  it('has no float artefacts, and stays exact beyond 2^53 fine units (BigInt) and below 1e-10 (rounded half up)', () => {
    // groq llama-3.3-70b at 0.59 / 0.79: 0.147737 in floats is 0.14773699999999998
    const groq = table.find('groq', 'llama-3.3-70b-versatile', null, null, NOW)!;
    expect(priceUsage(usage({ inputTokens: 250_000, outputTokens: 300 }), groq.price).totalCost).toBe(0.147737);
    const big = compilePrice({ input: { base: 600.123456 }, output: { base: 0.0000001 } });
    expect(priceUnits(usage({ inputTokens: 900_000_000 }), big).total).toBe(5_401_111_104_000_000); // 540,111.1104 USD
    expect(priceUnits(usage({ outputTokens: 4 }), big).total).toBe(0); // 4e-13 USD
    expect(priceUnits(usage({ outputTokens: 500 }), big).total).toBe(1); // 5e-11 USD rounds up
  });
});

/** calcPrice's usage keys of the ledger's modality parts */
const MODALITY_USAGE_KEYS: Record<ModalityPart, string> = {
  audio_input: 'input_audio_tokens', audio_cache_read: 'cache_audio_read_tokens', audio_output: 'output_audio_tokens',
  image_input: 'input_image_tokens', image_cache_read: 'cache_image_read_tokens', image_output: 'output_image_tokens',
};

/** The manifest's own calculation (calcPrice: floats) in ledger units, for one usage at one time. */
function manifestUnits(provider: string, model: string, u: Record<string, number>, when: number) {
  const c = calcPrice(u, model, { providerId: provider, timestamp: new Date(when / 1000) });
  if (c === null) return null;
  return { ref: `${c.provider.id}/${c.model.id}`, input: Math.round(c.input_price * 1e10), output: Math.round(c.output_price * 1e10), total: Math.round(c.total_price * 1e10) };
}
function ourUnits(provider: string | null, model: string, u: Record<string, number>, when: number) {
  const p = table.find(provider, model, null, null, when);
  if (p === null) return null;
  const c = priceUnits(usage({
    inputTokens: u['input_tokens'] ?? null, outputTokens: u['output_tokens'] ?? null, cacheReadTokens: u['cache_read_tokens'] ?? null,
    cacheWriteTokens: u['cache_write_tokens'] ?? null, reasoningTokens: u['output_reasoning_tokens'] ?? null,
    modalityTokens: Object.fromEntries(MODALITY_PARTS.flatMap((part) => {
      const n = u[MODALITY_USAGE_KEYS[part]];
      return n === undefined ? [] : [[part, n]];
    })),
  }), p.price);
  return { ref: p.ref.slice(MANIFEST_SOURCE.length + 1), ...c };
}

describe('the shipped manifest', () => {
  it.each([
    // tier on total input (cached included), strictly above the threshold: 200,000 is base, 200,001 the tier
    ['tier: just below', 'anthropic', 'anthropic', 'claude-sonnet-4-5-20250929', { input_tokens: 200_000, cache_read_tokens: 150_000, output_tokens: 300 }, NOW],
    ['tier: just above', 'anthropic', 'anthropic', 'claude-sonnet-4-5-20250929', { input_tokens: 200_001, cache_read_tokens: 150_000, output_tokens: 300 }, NOW],
    ['tier: gpt-5.4 below', 'openai', 'openai', 'gpt-5.4', { input_tokens: 271_999, output_tokens: 1000 }, NOW],
    ['tier: gpt-5.4 above', 'openai', 'openai', 'gpt-5.4', { input_tokens: 272_000, output_tokens: 1000 }, NOW],
    ['tier: Vertex gemini-2.5-pro above', 'gcp.vertex_ai', 'google', 'gemini-2.5-pro', { input_tokens: 250_000, cache_read_tokens: 1000, output_tokens: 300 }, NOW],
    ['cache read and write', 'anthropic', 'anthropic', 'claude-3-5-haiku-20241022', { input_tokens: 10_000, cache_read_tokens: 6000, cache_write_tokens: 2500, output_tokens: 700 }, NOW],
    ['reasoning tokens at their own price', 'perplexity', 'perplexity', 'sonar-deep-research', { input_tokens: 1200, output_tokens: 5000, output_reasoning_tokens: 3500 }, NOW],
    ['a fee per request', 'perplexity', 'perplexity', 'sonar-pro', { input_tokens: 1200, output_tokens: 500 }, NOW],
    ['start date: before', 'openai', 'openai', 'o3', { input_tokens: 20_000, output_tokens: 2000 }, us('2025-06-09T23:59:59Z')],
    ['start date: on it', 'openai', 'openai', 'o3', { input_tokens: 20_000, output_tokens: 2000 }, us('2025-06-10T00:00:00Z')],
    ['time of day: off-peak (UTC)', 'deepseek', 'deepseek', 'deepseek-chat', { input_tokens: 50_000, cache_read_tokens: 20_000, output_tokens: 800 }, us('2026-12-07T00:29:59Z')],
    ['time of day: peak (UTC)', 'deepseek', 'deepseek', 'deepseek-chat', { input_tokens: 50_000, cache_read_tokens: 20_000, output_tokens: 800 }, us('2026-12-07T00:30:00Z')],
    ['Bedrock regional id', 'aws.bedrock', 'aws', 'us.anthropic.claude-3-5-sonnet-20241022-v2:0', { input_tokens: 5000, output_tokens: 500 }, NOW],
    ['Bedrock global id', 'aws.bedrock', 'aws', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', { input_tokens: 5000, output_tokens: 500 }, NOW],
    ['Bedrock Nova', 'aws.bedrock', 'aws', 'amazon.nova-pro-v1:0', { input_tokens: 5000, cache_read_tokens: 1000, output_tokens: 500 }, NOW],
    ['xAI (OTel x_ai)', 'x_ai', 'x-ai', 'grok-3', { input_tokens: 5000, output_tokens: 500 }, NOW],
    ['OpenRouter id', 'openrouter', 'openrouter', 'anthropic/claude-3.5-sonnet', { input_tokens: 5000, output_tokens: 500 }, NOW],
  ])('%s', (_name, otel, provider, model, u, when) => {
    const expected = manifestUnits(provider, model, u, when);
    expect(expected).not.toBeNull();
    expect(ourUnits(otel, model, u, when)).toEqual({ ...expected, total: expected!.total });
  });

  it('applies the tier and the dated price (checked against the issue\'s figures)', () => {
    const sonnet = (n: number) => ourUnits('anthropic', 'claude-sonnet-4-5-20250929', { input_tokens: n, cache_read_tokens: 1000, output_tokens: 300 }, NOW)!.total;
    expect(sonnet(250_000)).toBe(Math.round(((249_000 * 6 + 1000 * 0.6) / 1e6 + 300 * 22.5 / 1e6) * 1e10));
    expect(ourUnits('openai', 'o3', { input_tokens: 20_000, output_tokens: 2000 }, us('2025-06-01T00:00:00Z'))!.total / 1e10).toBe(0.28);
    expect(ourUnits('openai', 'o3', { input_tokens: 20_000, output_tokens: 2000 }, us('2025-07-01T00:00:00Z'))!.total / 1e10).toBe(0.056);
  });

  it('resolves a Vertex resource path, by the span provider, as the bare id', () => {
    const path = 'projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro';
    expect(table.find('gcp.vertex_ai', path, null, null, NOW)!.ref).toBe(`${MANIFEST_SOURCE}:google/gemini-2.5-pro`);
    expect(table.find('gcp.vertex_ai', 'projects/p/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022', null, null, NOW)!.ref)
      .toBe(`${MANIFEST_SOURCE}:google/claude-3-5-sonnet`);
  });

  it('agrees with the manifest\'s calcPrice on every model it lists (resolution and price, ±1e-10 USD)', () => {
    const times = [us('2025-01-01T03:00:00Z'), NOW, us('2027-06-01T20:00:00Z')];
    const usages = [
      { input_tokens: 1000, cache_read_tokens: 200, cache_write_tokens: 100, output_tokens: 500, output_reasoning_tokens: 100 },
      { input_tokens: 300_000, cache_read_tokens: 20_000, cache_write_tokens: 10_000, output_tokens: 5000, output_reasoning_tokens: 1000 },
      // audio and image parts (a realtime call; a vision call): each at its own rate where the model has one
      { input_tokens: 4000, cache_read_tokens: 1500, input_audio_tokens: 2500, cache_audio_read_tokens: 1000, input_image_tokens: 600,
        cache_image_read_tokens: 200, output_tokens: 900, output_audio_tokens: 700 },
      { input_tokens: 2000, input_image_tokens: 1200, output_tokens: 1500, output_image_tokens: 1000 },
    ];
    let compared = 0;
    const off: string[] = [];
    const perOtherUnit = new Set<string>();
    for (const e of manifestEntries()) for (const when of times) for (const u of usages) {
      const want = manifestUnits(e.provider, e.model.id, u, when);
      if (want === null) continue;
      const got = ourUnits(e.provider, e.model.id, u, when);
      // billed per audio hour, page or message only: calcPrice says 0 for tokens, the ledger says unknown
      if (got === null && want.total === 0 && compileSchedule(e.model)(when / 1000) === null) { perOtherUnit.add(`${e.provider}/${e.model.id}`); continue; }
      compared++;
      if (got === null || got.ref !== want.ref || Math.abs(got.input - want.input) > 1 || Math.abs(got.output - want.output) > 1 ||
        Math.abs(got.total - want.total) > 1) off.push(`${e.provider}/${e.model.id}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    }
    expect(off).toEqual([]);
    expect(compared).toBeGreaterThan(9000);
    expect([...perOtherUnit]).toEqual(expect.arrayContaining(['openai/whisper-1', 'groq/whisper-large-v3', 'mistral/mistral-ocr-latest']));
    expect(perOtherUnit.size).toBeLessThan(60);
  });
});

describe('models the earlier hand-kept table priced', () => {
  const ids = (oldTable.models as { model: string; provider: string; old: { match: string; input: number; output: number } }[]);

  // every one of them, the manifest's gaps included: those price from the shipped fallback list
  it.each(ids.map((m) => [m.model, m.provider]))(
    '%s (%s) still prices, with or without its provider', (model, provider) => {
      expect(table.find(provider, model, null, null, NOW)?.ref).toMatch(/^(?:genai-prices|runledger-fallback)@/);
      expect(table.find(null, model, null, null, NOW)?.ref).toMatch(/^(?:genai-prices|runledger-fallback)@/);
    });

  it('keeps the input prices the old tests asserted, except where the manifest differs', () => {
    const input = (model: string) => { const p = table.find(null, model, null, null, NOW)?.price; return p?.input ? p.input.base / 10 ** p.scale : null; };
    const got = Object.fromEntries(ids.map((m) => [m.model, input(m.model)]));
    const changed = ids.filter((m) => got[m.model] !== m.old.input).map((m) => [m.model, m.old.input, got[m.model]]);
    expect(changed).toEqual([
      ['gemini-1.5-flash-8b', 0.0375, 0.075], // the manifest's gemini-1.5-flash rule (contains) comes first
      ['mistral-medium-latest', 0.4, 1.5], // Mistral Medium 3.5, from 2026-06-16
      ['ministral-8b-latest', 0.1, 0.15], // from 2025-12-02
    ]);
  });

  it('prices the manifest\'s gaps from the shipped fallback list, which holds nothing else', () => {
    // the old table's models the manifest alone does not price: exactly those the fallback list prices
    const manifestOnly = loadPriceTable(null, { fallback: null });
    const gaps = ids.filter((m) => manifestOnly.find(m.provider, m.model, null, null, NOW) === null).map((m) => m.model);
    expect(gaps).toEqual(['accounts/fireworks/models/llama-v3p3-70b-instruct']);
    for (const model of gaps) expect(table.find(null, model, null, null, NOW)!.ref).toMatch(/^runledger-fallback@[0-9a-f]{12}:/);
    // an entry whose model the manifest came to list is dead weight (the manifest wins): remove it on upgrade
    const used = new Set(ids.map((m) => table.find(null, m.model, null, null, NOW)!.ref).filter((r) => r.startsWith('runledger-fallback@')));
    expect(used.size).toBe(table.fallback!.entries.length);
  });

  it.each(['my-local-llama', 'gpt-4oo', 'o10'])('%s is unknown', (model) => expect(table.find(null, model, null, null, NOW)).toBeNull());

  it('resolves at least 1,000 distinct model ids the old table did not', () => {
    const oldRes = ids.map((m) => new RegExp(m.old.match, 'i'));
    const bare = (id: string) => id.slice(id.lastIndexOf('/') + 1)
      .replace(/^(?:(?:us|eu|apac|au|jp|ca|us-gov|global)\.)?(?:anthropic|meta|mistral|amazon|cohere|ai21|deepseek|openai|qwen|writer)\./i, '');
    const oldPrices = (id: string) => oldRes.some((re) => re.test(id) || re.test(bare(id)));
    const fresh = new Set<string>();
    for (const e of manifestEntries()) {
      const id = e.model.id.toLowerCase();
      if (table.find(e.provider, e.model.id, null, null, NOW) !== null && !oldPrices(id)) fresh.add(id);
    }
    console.log(`manifest ${MANIFEST_SOURCE}: ${fresh.size} distinct model ids priced that the old table did not price`);
    expect(fresh.size).toBeGreaterThanOrEqual(1000);
  });
});
