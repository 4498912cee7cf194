/**
 * The shipped price source: the @pydantic/genai-prices manifest (pinned in package.json; upgrading it is how
 * prices are updated). Only its bundled data is read: its remote updater is never started. Resolution
 * (provider → model entry) follows the package's own match rules, compiled once, and is memoised per
 * (provider, model) by the caller; one calcPrice call costs ~63 µs, a memoised lookup ~50 ns.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { waitForUpdate, type MatchLogic, type ModelInfo, type ModelPrice, type Provider } from '@pydantic/genai-prices';
import { compilePrice, type CompiledPrice, type RawPrice, type RawPrices } from './price-math.js';

// The bundled data, already resolved: waitForUpdate() only fetches once updatePrices() started an updater.
const PROVIDERS: readonly Provider[] = (await waitForUpdate()) ?? [];

/** The installed package's version (the price reference names it). */
export const MANIFEST_VERSION: string = (() => {
  const main = createRequire(import.meta.url).resolve('@pydantic/genai-prices');
  return (JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string }).version;
})();

/** OTel gen_ai.provider.name values (as resolveProvider returns them) → the manifest's provider ids. */
const OTEL_TO_MANIFEST: Record<string, string | null> = {
  openai: 'openai', anthropic: 'anthropic', 'aws.bedrock': 'aws', 'gcp.vertex_ai': 'google', 'gcp.gemini': 'google',
  'gcp.gen_ai': 'google', 'azure.ai.openai': 'azure', 'azure.ai.inference': 'azure', x_ai: 'x-ai', mistral_ai: 'mistral',
  deepseek: 'deepseek', cohere: 'cohere', groq: 'groq', perplexity: 'perplexity', 'ibm.watsonx.ai': null,
  moonshot: 'moonshotai', zhipu: 'zhipuai', fireworks_ai: 'fireworks', together_ai: 'together', togetherai: 'together',
};

/**
 * Runtimes a user hosts models on. Their calls cost what the user's hardware costs: no catalogue prices them
 * (a local `deepseek-r1:8b` on ollama was priced as DeepSeek's hosted R1, `meta-llama/Llama-3.1-8B-Instruct` on
 * vLLM at OpenRouter's price). Only a price file entry naming the model prices them.
 */
export const SELF_HOSTED = new Set(['ollama', 'vllm', 'lmstudio', 'lm_studio', 'lm-studio', 'llama.cpp', 'llamacpp',
  'llama_cpp', 'localai', 'tgi', 'text-generation-inference', 'llamafile', 'mlx', 'mlx_lm', 'sglang', 'triton']);

type Matcher = (id: string) => boolean;

/** The package's match semantics: string tests case-insensitive, a regex tested on the lowercased id. */
function compileMatch(m: MatchLogic): Matcher {
  if ('or' in m) { const fs = m.or.map(compileMatch); return (id) => fs.some((f) => f(id)); }
  if ('and' in m) { const fs = m.and.map(compileMatch); return (id) => fs.every((f) => f(id)); }
  if ('equals' in m) { const v = m.equals.toLowerCase(); return (id) => id === v; }
  if ('starts_with' in m) { const v = m.starts_with.toLowerCase(); return (id) => id.startsWith(v); }
  if ('ends_with' in m) { const v = m.ends_with.toLowerCase(); return (id) => id.endsWith(v); }
  if ('contains' in m) { const v = m.contains.toLowerCase(); return (id) => id.includes(v); }
  if ('regex' in m) { const re = new RegExp(m.regex); return (id) => re.test(id); }
  return () => false;
}

export interface Entry { provider: string; model: ModelInfo; match: Matcher }
interface CProvider {
  id: string;
  models: Entry[];
  /**
   * Most entries match by equality only (1,474 of 1,694): an id → the first such entry's index, so a lookup
   * tests only the other entries that precede it (a model absent from every catalogue costs ~220 tests).
   */
  equals: Map<string, number>;
  others: { index: number; entry: Entry }[];
  providerMatch: Matcher | null;
  modelMatch: Matcher | null;
  fallbacks: string[];
}

/** The values of a rule made of `equals` tests only (alone or in an `or`), lowercased; null for any other rule. */
function equalsOnly(m: MatchLogic): string[] | null {
  if ('equals' in m) return [m.equals.toLowerCase()];
  if (!('or' in m)) return null;
  const all: string[] = [];
  for (const x of m.or) { const v = equalsOnly(x); if (v === null) return null; all.push(...v); }
  return all;
}

function compileProvider(p: Provider): CProvider {
  const models = p.models.map((model) => ({ provider: p.id, model, match: compileMatch(model.match) }));
  const equals = new Map<string, number>();
  const others: CProvider['others'] = [];
  models.forEach((entry, index) => {
    const vs = equalsOnly(entry.model.match);
    if (vs === null) others.push({ index, entry });
    else for (const v of vs) if (!equals.has(v)) equals.set(v, index);
  });
  return {
    id: p.id, models, equals, others,
    providerMatch: p.provider_match ? compileMatch(p.provider_match) : null,
    modelMatch: p.model_match ? compileMatch(p.model_match) : null,
    fallbacks: p.fallback_model_providers ?? [],
  };
}
const providers: CProvider[] = PROVIDERS.map(compileProvider);
const byId = new Map(providers.map((p) => [p.id, p]));

/**
 * Last resort for a model whose provider is unknown or does not list it: first-party catalogues first, then
 * OpenRouter's (list prices of 700 `vendor/model` ids), then resellers in manifest order.
 */
const FIRST_PARTY = ['openai', 'anthropic', 'google', 'mistral', 'x-ai', 'deepseek', 'cohere', 'moonshotai', 'zhipuai',
  'minimax', 'perplexity', 'groq', 'together', 'fireworks', 'aws', 'azure', 'cerebras', 'openrouter'];
const searchOrder: CProvider[] = [
  ...FIRST_PARTY.map((id) => byId.get(id)).filter((p): p is CProvider => p !== undefined),
  ...providers.filter((p) => !FIRST_PARTY.includes(p.id)),
];

/** The manifest provider for a provider name (OTel vocabulary, or the manifest's own ids and match rules). */
export function manifestProvider(name: string | null): string | null {
  if (name === null || name === '') return null;
  const lower = name.toLowerCase().trim();
  const mapped = OTEL_TO_MANIFEST[lower];
  if (mapped !== undefined) return mapped;
  if (byId.has(lower)) return lower;
  return providers.find((p) => p.providerMatch?.(lower))?.id ?? null;
}

/** `-20250929` → `-2025-09-29` (the package's second try for dated snapshots). */
const DATED = /(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/g;
function dashedDates(id: string): string {
  return id.replace(DATED, (all, dash: string, y: string, m: string, d: string) => {
    const t = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
    return t.getUTCMonth() === Number(m) - 1 && t.getUTCDate() === Number(d) ? `${dash}${y}-${m}-${d}` : all;
  });
}

/** The first entry of `p` (in manifest order, as the package scans) whose rule matches `id`. */
function inProvider(p: CProvider, id: string, withFallbacks: boolean): Entry | null {
  const eq = p.equals.get(id) ?? Infinity;
  for (const o of p.others) {
    if (o.index > eq) break;
    if (o.entry.match(id)) return o.entry;
  }
  if (eq !== Infinity) return p.models[eq]!;
  if (withFallbacks) {
    for (const f of p.fallbacks) {
      const fp = byId.get(f);
      const e = fp === undefined ? null : inProvider(fp, id, false);
      if (e !== null) return e;
    }
  }
  return null;
}
/** `id` within `p` and its fallbacks, then its dashed-date form (`dashed`, null when the same). */
function findIn(p: CProvider, id: string, dashed: string | null): Entry | null {
  return inProvider(p, id, true) ?? (dashed === null ? null : inProvider(p, dashed, true));
}

/**
 * The manifest entry for a model (its candidate ids, most specific first): within the given provider (as the
 * package resolves it), else within the provider the package infers from the id, else in the first
 * catalogue (searchOrder) that lists it.
 */
export function resolveManifestModel(providerId: string | null, candidates: readonly string[]): Entry | null {
  const ids = candidates.map((c) => c.toLowerCase().trim()).filter((c) => c !== '')
    .map((id) => { const d = dashedDates(id); return { id, dashed: d === id ? null : d }; });
  const given = providerId === null ? undefined : byId.get(providerId);
  if (given !== undefined) {
    for (const { id, dashed } of ids) { const e = findIn(given, id, dashed); if (e !== null) return e; }
  }
  for (const { id, dashed } of ids) {
    const inferred = providers.find((p) => p.modelMatch?.(id));
    if (inferred !== undefined && inferred !== given) { const e = findIn(inferred, id, dashed); if (e !== null) return e; }
  }
  for (const { id, dashed } of ids) {
    for (const p of searchOrder) {
      if (p === given) continue;
      const e = findIn(p, id, dashed);
      if (e !== null) return e;
    }
  }
  return null;
}

function rawPrice(v: ModelPrice[string]): RawPrice | null {
  if (v === undefined) return null;
  return typeof v === 'number' ? { base: v } : { base: v.base, tiers: v.tiers };
}

/** The manifest's price keys this ledger can apply (modalities, searches, pages are not counted on spans), by the price each sets. */
const APPLIED: Partial<Record<keyof RawPrices, string>> = {
  input: 'input_mtok', output: 'output_mtok', cacheRead: 'cache_read_mtok', cacheWrite: 'cache_write_mtok',
  cacheWrite1h: 'cache_write_1h_mtok', reasoning: 'output_reasoning_mtok', requests: 'requests_kcount',
  inputAudio: 'input_audio_mtok', cacheAudioRead: 'cache_audio_read_mtok', outputAudio: 'output_audio_mtok',
  inputImage: 'input_image_mtok', cacheImageRead: 'cache_image_read_mtok', outputImage: 'output_image_mtok',
};
const APPLIED_KEYS = Object.values(APPLIED);

export function compileManifestPrice(mp: ModelPrice): CompiledPrice {
  const raw = {} as RawPrices;
  for (const [price, key] of Object.entries(APPLIED) as [keyof RawPrices, string][]) raw[price] = rawPrice(mp[key]);
  return compilePrice(raw);
}

/** A model's prices by time: the last entry whose constraint holds (start date, UTC time of day), else the first. */
export type PriceAt<T = CompiledPrice> = (ms: number) => T;

type Constraint = { type?: string; start_date?: string; start_time?: string; end_time?: string } | undefined;

/** Seconds after UTC midnight of `HH:MM:SS[.f](Z|±HH:MM)`. */
function utcSeconds(t: string): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(t);
  if (m === null) throw new Error(`invalid time of day ${JSON.stringify(t)}`);
  const local = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(`0.${m[4] ?? '0'}`);
  const offset = m[5] === 'Z' ? 0 : (m[6] === '+' ? 1 : -1) * (Number(m[7]) * 3600 + Number(m[8]) * 60);
  return (local - offset + 86400) % 86400;
}

function holds(c: Constraint): (ms: number) => boolean {
  if (c === undefined) return () => true;
  if (c.start_date !== undefined) {
    const from = Date.parse(`${c.start_date}T00:00:00Z`);
    return (ms) => ms >= from;
  }
  if (c.start_time !== undefined && c.end_time !== undefined) {
    const start = utcSeconds(c.start_time);
    const end = utcSeconds(c.end_time);
    return (ms) => {
      const s = (((ms % 86_400_000) + 86_400_000) % 86_400_000) / 1000;
      return end < start ? s >= start || s < end : s >= start && s < end;
    };
  }
  throw new Error(`unknown price constraint ${JSON.stringify(c)}`);
}

/**
 * Whether the ledger can apply a manifest price: it is free (no keys: the `:free` models), or it has a key the
 * ledger applies. Models billed only per audio hour, page or message (whisper-1, mistral-ocr-*) have none:
 * compiled, every price was 0 and their calls were stored at a definite $0 (cost_source price_table) instead
 * of unpriced.
 */
export function pricesTokens(mp: ModelPrice): boolean {
  const keys = Object.keys(mp);
  return keys.length === 0 || keys.some((k) => APPLIED_KEYS.includes(k));
}

/**
 * `wrap` turns each compiled price into what the schedule returns (once per price, not per call); null when
 * the price in force does not price tokens (pricesTokens).
 */
export function compileSchedule<T = CompiledPrice>(m: ModelInfo, wrap: (p: CompiledPrice) => T = (p) => p as T): PriceAt<T | null> {
  const compiled = (mp: ModelPrice) => (pricesTokens(mp) ? wrap(compileManifestPrice(mp)) : null);
  if (!Array.isArray(m.prices)) {
    const p = compiled(m.prices);
    return () => p;
  }
  const steps = m.prices.map((c) => ({ holds: holds(c.constraint as Constraint), price: compiled(c.prices) }));
  if (steps.length === 1) { const p = steps[0]!.price; return () => p; }
  return (ms) => {
    for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.holds(ms)) return steps[i]!.price;
    return steps[0]!.price;
  };
}

/** Every (provider, model) entry of the manifest, for tests and coverage counts. */
export function manifestEntries(): readonly Entry[] {
  return providers.flatMap((p) => p.models);
}
