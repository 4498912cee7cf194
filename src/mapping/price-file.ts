/**
 * The override price file (RUNLEDGER_PRICES_FILE): a customer's negotiated or missing prices, USD per 1M
 * tokens, winning over the shipped manifest. Entries match model ids by anchored, case-insensitive regex;
 * the first matching entry (whose provider and start date fit the call) wins.
 *
 *   { "models": [ { "match": "^gpt-4o-mini", "provider": "openai", "from": "2026-01-01",
 *       "input": 0.15, "output": 0.6, "cacheRead": 0.075, "cacheWrite": 0.2, "cacheWrite1h": 0.3, "reasoning": 0.6,
 *       "tiers": [ { "above": 200000, "input": 0.3, "output": 1.2 } ] } ] }
 *
 * input and output are required; cacheRead / cacheWrite default to input, cacheWrite1h to cacheWrite,
 * reasoning to output. A tier replaces the prices it names once the call's total input (cached tokens
 * included) is strictly above `above`. A bare array of entries is accepted too (the earlier file shape).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compilePrice, type CompiledPrice, type RawPrice } from './price-math.js';
import { manifestProvider } from './manifest.js';

const FIELDS = ['input', 'output', 'cacheRead', 'cacheWrite', 'cacheWrite1h', 'reasoning'] as const;
type Field = (typeof FIELDS)[number];

export interface PriceFileEntry extends Partial<Record<Field, number>> {
  match: string;
  provider?: string;
  from?: string;
  tiers?: ({ above: number } & Partial<Record<Field, number>>)[];
}

export interface FileEntry {
  re: RegExp;
  /** manifest provider id the entry is limited to, or null for any provider */
  provider: string | null;
  /** epoch ms the entry applies from */
  fromMs: number;
  price: CompiledPrice;
  /** the price reference recorded on nodes it prices */
  ref: string;
}

/** A provider name as entries and calls are compared: the manifest's id where it has one. */
export function providerKey(name: string | null): string | null {
  if (name === null || name.trim() === '') return null;
  return manifestProvider(name) ?? name.toLowerCase().trim();
}

const nonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1e9;

function compileEntry(entry: unknown, i: number, source: string): FileEntry {
  const e = entry as Partial<PriceFileEntry> | null;
  if (e === null || typeof e !== 'object' || typeof e.match !== 'string' || e.match === '') {
    throw new Error(`price entry ${i}: "match" must be a non-empty regex string`);
  }
  const where = `price entry ${i} (${e.match})`;
  for (const k of FIELDS) {
    if ((k === 'input' || k === 'output' || e[k] !== undefined) && !nonNegative(e[k])) throw new Error(`${where}: "${k}" must be a number >= 0`);
  }
  if (e.provider !== undefined && (typeof e.provider !== 'string' || e.provider === '')) throw new Error(`${where}: "provider" must be a name`);
  let fromMs = -Infinity;
  if (e.from !== undefined) {
    fromMs = typeof e.from === 'string' ? Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(e.from) ? `${e.from}T00:00:00Z` : e.from) : NaN;
    if (Number.isNaN(fromMs)) throw new Error(`${where}: "from" must be a date (YYYY-MM-DD) or an ISO 8601 time`);
  }
  const tiers = e.tiers ?? [];
  if (!Array.isArray(tiers)) throw new Error(`${where}: "tiers" must be an array`);
  for (const t of tiers) {
    if (t === null || typeof t !== 'object' || !Number.isSafeInteger(t.above) || t.above < 0) {
      throw new Error(`${where}: each tier needs "above", a token count >= 0`);
    }
    for (const k of FIELDS) if (t[k] !== undefined && !nonNegative(t[k])) throw new Error(`${where}: tier "${k}" must be a number >= 0`);
  }
  let re: RegExp;
  try {
    re = new RegExp(e.match.startsWith('^') ? e.match : '^' + e.match, 'i');
  } catch (err) {
    throw new Error(`price entry ${i}: invalid regex ${JSON.stringify(e.match)}: ${(err as Error).message}`);
  }
  const raw = (k: Field): RawPrice | null => {
    if (e[k] === undefined) return null;
    return { base: e[k]!, tiers: tiers.filter((t) => t[k] !== undefined).map((t) => ({ start: t.above, price: t[k]! })) };
  };
  // A tier may name a detail price the entry leaves to its default: the default then becomes explicit.
  const withDefault = (k: Field, parent: RawPrice | null): RawPrice | null => {
    const own = raw(k);
    if (own !== null) return own;
    const ts = tiers.filter((t) => t[k] !== undefined);
    if (ts.length === 0 || parent === null) return null;
    return { base: parent.base, tiers: [...(parent.tiers ?? []), ...ts.map((t) => ({ start: t.above, price: t[k]! }))] };
  };
  const input = raw('input');
  const output = raw('output');
  const cacheWrite = withDefault('cacheWrite', input);
  const price = compilePrice({
    input, output, cacheRead: withDefault('cacheRead', input), cacheWrite,
    cacheWrite1h: withDefault('cacheWrite1h', cacheWrite ?? input), reasoning: withDefault('reasoning', output),
  });
  const provider = e.provider === undefined ? null : providerKey(e.provider);
  return { re, provider, fromMs, price, ref: `${source}:${e.match}` };
}

export class PriceFile {
  constructor(
    readonly entries: readonly FileEntry[],
    /** `prices-file@<sha256 prefix of the content>`: a changed file is a new price version */
    readonly source: string,
  ) {}

  /** Entries that may price `model` for a provider (its providerKey), in file order. */
  candidates(provider: string | null, model: string): FileEntry[] {
    return this.entries.filter((e) => (e.provider === null || e.provider === provider) && e.re.test(model));
  }
}

/** The first 12 hex digits of the sha256 of `text`: the version part of a price source's name. */
export const contentHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * A parsed price document (the file format above) as a PriceFile whose entries record `source` in their
 * references; `origin` names it in errors. The shipped fallback list (fallback-prices.ts) is read this way too.
 */
export function compilePriceDoc(doc: unknown, origin: string, source: string): PriceFile {
  try {
    const list = Array.isArray(doc) ? doc : (doc as { models?: unknown } | null)?.models;
    if (!Array.isArray(list)) throw new Error(`${origin}: expected an array of price entries or { "models": [...] }`);
    return new PriceFile(list.map((e, i) => compileEntry(e, i, source)), source);
  } catch (err) {
    throw new Error(`invalid price table ${origin}: ${(err as Error).message}`);
  }
}

/** Parse a price file's text; `origin` names it in errors. */
export function parsePriceFile(text: string, origin: string): PriceFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`cannot load price table ${origin}: ${(err as Error).message}`);
  }
  return compilePriceDoc(doc, origin, `prices-file@${contentHash(text)}`);
}

/** The price file at `path`. Throws on an unreadable or invalid file (naming the path). */
export function loadPriceFile(path: string): PriceFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot load price table ${path}: ${(err as Error).message}`);
  }
  return parsePriceFile(text, path);
}
