/**
 * Node prices: the override file (RUNLEDGER_PRICES_FILE, see price-file.ts) first, then the shipped
 * @pydantic/genai-prices manifest (manifest.ts). Resolution is memoised per (provider, model value), so a
 * priced span costs a map lookup and the integer price math; the price in force is picked per call by its
 * start time (prices that change on a date, DeepSeek's UTC off-peak hours).
 */
import { MANIFEST_VERSION, compileSchedule, manifestProvider, resolveManifestModel, type PriceAt } from './manifest.js';
import { loadPriceFile, providerKey, type FileEntry, type PriceFile } from './price-file.js';
import { familyCandidates, modelIdParts, priceCandidates } from './model-id.js';
import type { CompiledPrice } from './price-math.js';

/** The manifest as a price source: `genai-prices@<version>` (price references start with it). */
export const MANIFEST_SOURCE = `genai-prices@${MANIFEST_VERSION}`;

export interface Priced {
  price: CompiledPrice;
  /** where the price came from: `genai-prices@<version>:<provider>/<model id>` or `prices-file@<hash>:<match>` */
  ref: string;
}

interface ManifestHit { at: PriceAt; ref: string }
interface Memo { file: readonly FileEntry[] | null; manifest: ManifestHit | null }

const CACHE_LIMIT = 4096;

export interface PriceTableOptions {
  /** price from the manifest too (default true) */
  manifest?: boolean;
  /** the manifest's source name in references (tests simulate an upgrade with another version) */
  manifestSource?: string;
}

export class PriceTable {
  /** provider ('' for none) → model value → resolution; two levels, so no key string is built per span */
  private readonly memo = new Map<string, Map<string, Memo>>();
  private memoSize = 0;
  private readonly useManifest: boolean;
  readonly manifestSource: string;

  constructor(readonly file: PriceFile | null = null, opts: PriceTableOptions = {}) {
    this.useManifest = opts.manifest ?? true;
    this.manifestSource = opts.manifestSource ?? MANIFEST_SOURCE;
  }

  /** The price sources in force (`<name>@<version>`): a node priced under another one is stale. */
  get sources(): string[] {
    return [...(this.file ? [this.file.source] : []), ...(this.useManifest ? [this.manifestSource] : [])];
  }

  /**
   * The price of a call by `provider` (as resolveProvider names it) of the first of `models` (response,
   * request, model_name) that has one, at the call's start (µs since the epoch). The file wins over the
   * manifest whichever of the model values it matched.
   */
  find(provider: string | null, models: readonly (string | null)[], startUs: number): Priced | null {
    const ms = startUs / 1000;
    if (this.file !== null) {
      for (let i = 0; i < models.length; i++) {
        const m = models[i]!;
        if (m === null || m === '' || (i > 0 && m === models[i - 1])) continue;
        const entries = this.lookup(provider, m).file!;
        for (const e of entries) if (e.fromMs <= ms) return { price: e.price, ref: e.ref };
      }
    }
    if (!this.useManifest) return null;
    for (let i = 0; i < models.length; i++) {
      const m = models[i]!;
      if (m === null || m === '' || (i > 0 && m === models[i - 1])) continue;
      const hit = this.lookup(provider, m).manifest;
      if (hit !== null) return { price: hit.at(ms), ref: hit.ref };
    }
    return null;
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
    let file: FileEntry[] | null = null;
    if (this.file !== null) {
      const pk = providerKey(provider);
      file = [];
      for (const c of candidates) for (const e of this.file.candidates(pk, c)) if (!file.includes(e)) file.push(e);
    }
    let manifest: ManifestHit | null = null;
    if (this.useManifest) {
      const vendor = modelIdParts(model).vendor;
      const pid = manifestProvider(provider) ?? manifestProvider(vendor);
      // exact ids first (in any catalogue), then the family of a snapshot or alias the manifest does not list
      const family = familyCandidates(candidates);
      const e = resolveManifestModel(pid, candidates) ?? (family.length > 0 ? resolveManifestModel(pid, family) : null);
      if (e !== null) manifest = { at: compileSchedule(e.model), ref: `${this.manifestSource}:${e.provider}/${e.model.id}` };
    }
    return { file, manifest };
  }
}

/** The manifest, with the override file at `path` (if any) winning. Throws on an unreadable or invalid file. */
export function loadPriceTable(path?: string | null, opts: PriceTableOptions = {}): PriceTable {
  return new PriceTable(path === undefined || path === null || path === '' ? null : loadPriceFile(path), opts);
}
