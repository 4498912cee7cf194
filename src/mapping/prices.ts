/**
 * Model price table: USD per 1M tokens, matched by anchored regular expressions (first match wins, so
 * specific entries precede generic ones). The shipped table is prices.json; a replacement file with the
 * same shape can be loaded at runtime (the caller maps RUNLEDGER_PRICES_FILE to loadPriceTable(path)).
 *
 * File shape: `{ "models": [ { "match": "^gpt-4o-mini", "input": 0.15, "output": 0.6, "cacheRead": 0.075 } ] }`
 * (a bare array of entries is accepted too). Missing cacheRead / cacheWrite default to the input price,
 * missing reasoning to the output price. Patterns are case-insensitive; a missing leading `^` is added.
 */
import { readFileSync } from 'node:fs';
import shipped from './prices.json' with { type: 'json' };

export interface PriceEntry {
  match: string;
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}

/** Resolved prices, USD per 1M tokens. */
export interface Price {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

interface CompiledEntry {
  re: RegExp;
  price: Price;
}

/**
 * Provider-qualified ids are also tried without their qualifier: path prefixes ("openai/gpt-4o",
 * "models/gemini-2.5-pro", "accounts/fireworks/models/llama-v3p1-8b-instruct") and Bedrock
 * region/vendor prefixes ("us.anthropic.claude-3-7-sonnet-20250219-v1:0").
 */
const BEDROCK_PREFIX = /^(?:(?:us|eu|apac|au|jp|ca|us-gov|global)\.)?(?:anthropic|meta|mistral|amazon|cohere|ai21|deepseek|openai|qwen|writer)\./i;

export function bareModelId(model: string): string {
  const slash = model.lastIndexOf('/');
  const tail = slash >= 0 ? model.slice(slash + 1) : model;
  return tail.replace(BEDROCK_PREFIX, '');
}

const CACHE_LIMIT = 4096;

function finiteNonNegative(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function compile(entry: unknown, i: number): CompiledEntry {
  const e = entry as Partial<PriceEntry> | null;
  if (e === null || typeof e !== 'object' || typeof e.match !== 'string' || e.match === '') {
    throw new Error(`price entry ${i}: "match" must be a non-empty regex string`);
  }
  for (const k of ['input', 'output'] as const) {
    if (!finiteNonNegative(e[k])) throw new Error(`price entry ${i} (${e.match}): "${k}" must be a number >= 0`);
  }
  for (const k of ['cacheRead', 'cacheWrite', 'reasoning'] as const) {
    if (e[k] !== undefined && !finiteNonNegative(e[k])) {
      throw new Error(`price entry ${i} (${e.match}): "${k}" must be a number >= 0`);
    }
  }
  let re: RegExp;
  try {
    re = new RegExp(e.match.startsWith('^') ? e.match : '^' + e.match, 'i');
  } catch (err) {
    throw new Error(`price entry ${i}: invalid regex ${JSON.stringify(e.match)}: ${(err as Error).message}`);
  }
  const input = e.input!;
  const output = e.output!;
  return {
    re,
    price: { input, output, cacheRead: e.cacheRead ?? input, cacheWrite: e.cacheWrite ?? input, reasoning: e.reasoning ?? output },
  };
}

export class PriceTable {
  private readonly entries: CompiledEntry[];
  private readonly cache = new Map<string, Price | null>();

  constructor(entries: readonly PriceEntry[]) {
    this.entries = entries.map(compile);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Price of a model id (cached per id), or null when no entry matches. */
  price(model: string | null): Price | null {
    if (model === null || model === '') return null;
    let p = this.cache.get(model);
    if (p === undefined) {
      p = this.lookup(model.trim());
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(model, p);
    }
    return p;
  }

  private lookup(model: string): Price | null {
    const bare = bareModelId(model);
    for (const e of this.entries) if (e.re.test(model)) return e.price;
    if (bare !== model) for (const e of this.entries) if (e.re.test(bare)) return e.price;
    return null;
  }
}

function entriesOf(doc: unknown, origin: string): PriceEntry[] {
  const list = Array.isArray(doc) ? doc : (doc as { models?: unknown } | null)?.models;
  if (!Array.isArray(list)) throw new Error(`${origin}: expected an array of price entries or { "models": [...] }`);
  return list as PriceEntry[];
}

/** The shipped table, or the table in the JSON file at `path`. Throws on an unreadable or invalid file. */
export function loadPriceTable(path?: string): PriceTable {
  if (path === undefined || path === '') return new PriceTable(entriesOf(shipped, 'prices.json'));
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot load price table ${path}: ${(err as Error).message}`);
  }
  try {
    return new PriceTable(entriesOf(doc, path));
  } catch (err) {
    throw new Error(`invalid price table ${path}: ${(err as Error).message}`);
  }
}
