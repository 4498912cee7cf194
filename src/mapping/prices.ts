/**
 * Node prices: the override file (RUNLEDGER_PRICES_FILE, see price-file.ts) first, then the shipped
 * @pydantic/genai-prices manifest (manifest.ts), then the shipped fallback list (fallback-prices.ts). Resolution
 * is memoised per (provider, model value), so a priced span costs a map lookup and the integer price math; the
 * price in force is picked per call by its start time (prices that change on a date, DeepSeek's UTC off-peak hours).
 */
import { MANIFEST_VERSION, SELF_HOSTED, compileSchedule, manifestProvider, resolveManifestModel } from './manifest.js';
import { loadPriceFile, providerKey, type FileEntry, type PriceFile } from './price-file.js';
import { loadFallback } from './fallback-prices.js';
import { familyCandidates, modelIdParts, priceCandidates } from './model-id.js';
import type { CompiledPrice } from './price-math.js';

/** The manifest as a price source: `genai-prices@<version>` (price references start with it). */
export const MANIFEST_SOURCE = `genai-prices@${MANIFEST_VERSION}`;

export interface Priced {
  price: CompiledPrice;
  /**
   * where the price came from: `genai-prices@<version>:<provider>/<model id>`, `prices-file@<hash>:<match>` or
   * `runledger-fallback@<hash>:<match>`
   */
  ref: string;
}

/**
 * The manifest's price at a time, as a Priced (one object per price, made once: nothing allocated per call);
 * null when the model's entry does not price tokens (manifest.ts pricesTokens): unpriced.
 */
type ManifestHit = (ms: number) => Priced | null;
/** fallback: null when no entry matches (most models), so a call the manifest does not price skips it at once */
interface Memo { file: readonly FileEntry[] | null; manifest: ManifestHit | null; fallback: readonly FileEntry[] | null }

const CACHE_LIMIT = 4096;

export interface PriceTableOptions {
  /** price from the manifest too (default true) */
  manifest?: boolean;
  /** the manifest's source name in references (tests simulate an upgrade with another version) */
  manifestSource?: string;
  /** the fallback list, a price document (default: the shipped fallback-prices.json; null: none) */
  fallback?: unknown;
}

export class PriceTable {
  /** provider ('' for none) → model value → resolution; two levels, so no key string is built per span */
  private readonly memo = new Map<string, Map<string, Memo>>();
  private memoSize = 0;
  private readonly useManifest: boolean;
  readonly manifestSource: string;
  /** models the manifest lacks (the old table's), consulted after it; null for none */
  readonly fallback: PriceFile | null;

  constructor(readonly file: PriceFile | null = null, opts: PriceTableOptions = {}) {
    this.useManifest = opts.manifest ?? true;
    this.manifestSource = opts.manifestSource ?? MANIFEST_SOURCE;
    this.fallback = opts.fallback === null ? null : loadFallback(this.manifestSource, opts.fallback);
  }

  /** The price sources in force (`<name>@<version>`): a node priced under another one is stale. */
  get sources(): string[] {
    return [...(this.file ? [this.file.source] : []), ...(this.useManifest ? [this.manifestSource] : []),
      ...(this.fallback ? [this.fallback.source] : [])];
  }

  /**
   * The price of a call by `provider` (as resolveProvider names it) of the first model value that has one
   * (response model, request model, model_name; null for none), at the call's start (µs since the epoch).
   * The file wins over the manifest, and the manifest over the fallback list, whichever of the model values
   * each matched.
   */
  find(provider: string | null, m0: string | null, m1: string | null = null, m2: string | null = null, startUs = Date.now() * 1000): Priced | null {
    const ms = startUs / 1000;
    if (m1 === m0) m1 = null;
    if (m2 === m0 || m2 === m1) m2 = null;
    // Each model value's memo is looked up once, when first needed: most calls stop at m0's manifest entry,
    // and a call no source prices costs three lookups, not one per source and model value.
    const a = this.memoOf(provider, m0);
    let b: Memo | null | undefined; // undefined: not looked up yet
    let c: Memo | null | undefined;
    if (this.file !== null) {
      let f = a === null ? null : inForce(a.file!, ms);
      if (f === null) { b = this.memoOf(provider, m1); f = b === null ? null : inForce(b.file!, ms); }
      if (f === null) { c = this.memoOf(provider, m2); f = c === null ? null : inForce(c.file!, ms); }
      if (f !== null) return f;
    }
    if (this.useManifest) {
      if (a !== null && a.manifest !== null) return a.manifest(ms);
      if (b === undefined) b = this.memoOf(provider, m1);
      if (b !== null && b.manifest !== null) return b.manifest(ms);
      if (c === undefined) c = this.memoOf(provider, m2);
      if (c !== null && c.manifest !== null) return c.manifest(ms);
    }
    if (this.fallback === null) return null;
    if (b === undefined) b = this.memoOf(provider, m1);
    if (c === undefined) c = this.memoOf(provider, m2);
    return fallbackAt(a, ms) ?? fallbackAt(b, ms) ?? fallbackAt(c, ms);
  }

  /** The memo of a model value; null for none. */
  private memoOf(provider: string | null, model: string | null): Memo | null {
    return model === null || model === '' ? null : this.lookup(provider, model);
  }

  private lookup(provider: string | null, model: string): Memo {
    let byModel = this.memo.get(provider ?? '');
    let memo = byModel?.get(model);
    if (memo === undefined) {
      memo = this.resolve(provider, model);
      if (this.memoSize >= CACHE_LIMIT) { this.memo.clear(); this.memoSize = 0; byModel = undefined; }
      if (byModel === undefined) this.memo.set(provider ?? '', byModel = new Map());
      byModel.set(model, memo);
      this.memoSize++;
    }
    return memo;
  }

  private resolve(provider: string | null, model: string): Memo {
    const candidates = priceCandidates(model);
    const pk = providerKey(provider);
    const file = this.file === null ? null : matching(this.file, pk, candidates);
    const fb = this.fallback === null ? null : matching(this.fallback, pk, candidates);
    let manifest: ManifestHit | null = null;
    if (provider !== null && SELF_HOSTED.has(provider.toLowerCase().trim())) return { file, manifest: null, fallback: null };
    if (this.useManifest) {
      const vendor = modelIdParts(model).vendor;
      const pid = manifestProvider(provider) ?? manifestProvider(vendor);
      // exact ids first (in any catalogue), then the family of a snapshot or alias the manifest does not list
      const family = familyCandidates(candidates);
      const e = resolveManifestModel(pid, candidates) ?? (family.length > 0 ? resolveManifestModel(pid, family) : null);
      if (e !== null) {
        const ref = `${this.manifestSource}:${e.provider}/${e.model.id}`;
        manifest = compileSchedule(e.model, (price) => ({ price, ref }));
      }
    }
    return { file, manifest, fallback: fb === null || fb.length === 0 ? null : fb };
  }
}

/** The entries of `f` that match a model's candidate ids: most specific id first, then in file order (the first in force wins). */
function matching(f: PriceFile, provider: string | null, candidates: readonly string[]): FileEntry[] {
  const out: FileEntry[] = [];
  for (const c of candidates) for (const e of f.candidates(provider, c)) if (!out.includes(e)) out.push(e);
  return out;
}

function fallbackAt(m: Memo | null, ms: number): FileEntry | null {
  return m === null || m.fallback === null ? null : inForce(m.fallback, ms);
}

/** The first entry of a matching list in force at `ms` (entries with a `from` date are listed newest first). */
function inForce(list: readonly FileEntry[], ms: number): FileEntry | null {
  for (const e of list) if (e.fromMs <= ms) return e;
  return null;
}

/**
 * The manifest, with the override file at `path` (if any) winning and the shipped fallback list filling the
 * manifest's gaps. Throws on an unreadable or invalid file.
 */
export function loadPriceTable(path?: string | null, opts: PriceTableOptions = {}): PriceTable {
  return new PriceTable(path === undefined || path === null || path === '' ? null : loadPriceFile(path), opts);
}
