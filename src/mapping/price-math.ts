/**
 * Exact price math. A price (USD per 1M tokens, or per 1k requests) is held as an integer at 10^-scale, so
 * a cost is an integer sum, rounded once (half up) to the ledger's unit of 1e-10 USD (numeric(20,10)):
 * no float artefacts such as 0.14773699999999998. Plain numbers while the sums stay below 2^53, BigInt beyond.
 */
import type { Usage } from './usage.js';
import type { ModalityTokens } from './types.js';

/** The ledger's cost scale: integer units of 1e-10 USD. */
export const UNITS_PER_USD = 1e10;
/** Decimals a price per 1M tokens keeps (1e-16 USD per token); manifest values such as 0.18000000000000002 round here. */
export const PRICE_DECIMALS = 10;

/** Prices above a token threshold: the tier whose start the call's total input exceeds (strictly) applies. */
export interface ScaledPrice {
  base: number;
  /** ascending by start; null when the price is flat */
  tiers: readonly { start: number; price: number }[] | null;
}

/** One model's prices, all at the same scale. null: not priced separately (the parent price applies). */
export interface CompiledPrice {
  /** decimals of every price below (integers at 10^-scale USD per 1M tokens) */
  scale: number;
  input: ScaledPrice | null;
  output: ScaledPrice | null;
  /** default: input */
  cacheRead: ScaledPrice | null;
  /** 5-minute cache writes; default: input */
  cacheWrite: ScaledPrice | null;
  /** 1-hour cache writes; default: cacheWrite */
  cacheWrite1h: ScaledPrice | null;
  /** default: output */
  reasoning: ScaledPrice | null;
  /** per 1k requests (a fee per call, in the total only) */
  requests: ScaledPrice | null;
  /** audio and image input, default: input; their cache reads, default: cacheRead where the model has one, else theirs */
  inputAudio: ScaledPrice | null;
  cacheAudioRead: ScaledPrice | null;
  inputImage: ScaledPrice | null;
  cacheImageRead: ScaledPrice | null;
  /** audio and image output, default: output */
  outputAudio: ScaledPrice | null;
  outputImage: ScaledPrice | null;
  /** the effective prices when none is tiered (the common case: no per-call tier lookup) */
  flat: Effective | null;
}

/** The prices that apply to one call, defaults resolved. */
export interface Effective {
  input: number; read: number; write: number; write1h: number; output: number; reason: number; fee: number;
  audioIn: number; audioRead: number; imageIn: number; imageRead: number; audioOut: number; imageOut: number;
}

export interface RawPrice {
  base: number;
  tiers?: readonly { start: number; price: number }[];
}
export type RawPrices = Partial<Record<Exclude<keyof CompiledPrice, 'scale'>, RawPrice | null>>;

/** A price as decimal text with at most PRICE_DECIMALS decimals (trailing zeros dropped). */
function decimalText(v: number): string {
  if (!(Number.isFinite(v) && v >= 0 && v < 1e9)) throw new Error(`price ${v} is not a number in [0, 1e9)`);
  const s = v.toFixed(PRICE_DECIMALS).replace(/0+$/, '');
  return s.endsWith('.') ? s.slice(0, -1) : s;
}
const decimalsOf = (s: string) => { const i = s.indexOf('.'); return i < 0 ? 0 : s.length - i - 1; };
function scaled(s: string, scale: number): number {
  const i = s.indexOf('.');
  const int = i < 0 ? s : s.slice(0, i);
  const frac = i < 0 ? '' : s.slice(i + 1);
  return Number(int + frac.padEnd(scale, '0'));
}

/** Compile prices (any of them absent) to integers at one scale, the largest number of decimals among them. */
export function compilePrice(raw: RawPrices): CompiledPrice {
  const keys = ['input', 'output', 'cacheRead', 'cacheWrite', 'cacheWrite1h', 'reasoning', 'requests', 'inputAudio',
    'cacheAudioRead', 'inputImage', 'cacheImageRead', 'outputAudio', 'outputImage'] as const;
  let scale = 0;
  const texts = new Map<string, { base: string; tiers: { start: number; price: string }[] | null }>();
  for (const k of keys) {
    const r = raw[k];
    if (r === undefined || r === null) continue;
    const t = {
      base: decimalText(r.base),
      tiers: r.tiers && r.tiers.length > 0
        ? [...r.tiers].sort((a, b) => a.start - b.start).map((x) => ({ start: x.start, price: decimalText(x.price) })) : null,
    };
    scale = Math.max(scale, decimalsOf(t.base), ...(t.tiers ?? []).map((x) => decimalsOf(x.price)));
    texts.set(k, t);
  }
  const out: CompiledPrice = {
    scale, input: null, output: null, cacheRead: null, cacheWrite: null, cacheWrite1h: null, reasoning: null, requests: null,
    inputAudio: null, cacheAudioRead: null, inputImage: null, cacheImageRead: null, outputAudio: null, outputImage: null, flat: null,
  };
  for (const [k, t] of texts) {
    out[k as (typeof keys)[number]] = {
      base: scaled(t.base, scale), tiers: t.tiers && t.tiers.map((x) => ({ start: x.start, price: scaled(x.price, scale) })),
    };
  }
  if (keys.every((k) => out[k] === null || out[k]!.tiers === null)) out.flat = effective(out, 0);
  return out;
}

function at(p: ScaledPrice | null, totalInput: number): number | null {
  if (p === null) return null;
  let v = p.base;
  if (p.tiers !== null) for (const t of p.tiers) if (totalInput > t.start) v = t.price;
  return v;
}

function effective(p: CompiledPrice, totalIn: number): Effective {
  const input = at(p.input, totalIn) ?? 0;
  const write = at(p.cacheWrite, totalIn) ?? input;
  const output = at(p.output, totalIn) ?? 0;
  const read = at(p.cacheRead, totalIn) ?? input;
  const audioIn = at(p.inputAudio, totalIn) ?? input;
  const imageIn = at(p.inputImage, totalIn) ?? input;
  return {
    input, read, write, write1h: at(p.cacheWrite1h, totalIn) ?? write,
    output, reason: at(p.reasoning, totalIn) ?? output, fee: at(p.requests, totalIn) ?? 0,
    // a cached audio token is a cache read where the model prices cache reads, else an audio token (the
    // manifest prices the pair whenever a model has both: cache_audio_read_mtok)
    audioIn, audioRead: at(p.cacheAudioRead, totalIn) ?? (p.cacheRead !== null ? read : audioIn),
    imageIn, imageRead: at(p.cacheImageRead, totalIn) ?? (p.cacheRead !== null ? read : imageIn),
    audioOut: at(p.outputAudio, totalIn) ?? output, imageOut: at(p.outputImage, totalIn) ?? output,
  };
}

/** Costs in integer units of 1e-10 USD; total = input + output + the per-request fee. */
export interface CostUnits { input: number; output: number; total: number }

/**
 * 10^0 … 10^PRICE_DECIMALS, exact. A table, not `10 ** n`: V8 computes a power with a variable exponent by a
 * slow call (bench: a scale-1 price such as 0.9 cost ~120 ns to price against ~30 ns for a table lookup).
 */
const POW10: readonly number[] = Array.from({ length: PRICE_DECIMALS + 1 }, (_, i) => Number(`1e${i}`));

/** fine (10^-(scale+6) USD) → units of 1e-10 USD, rounded half up. */
function toUnits(fine: number, scale: number): number {
  if (scale <= 4) return fine * POW10[4 - scale]!;
  const d = POW10[scale - 4]!;
  let q = Math.floor(fine / d);
  let r = fine - q * d;
  if (r < 0) { q -= 1; r += d; } else if (r >= d) { q += 1; r -= d; }
  return 2 * r >= d ? q + 1 : q;
}
function toUnitsBig(fine: bigint, scale: number): number {
  if (scale <= 4) return Number(fine * 10n ** BigInt(4 - scale));
  const d = 10n ** BigInt(scale - 4);
  return Number(fine / d + (2n * (fine % d) >= d ? 1n : 0n));
}

/**
 * The modality parts when they fit in their totals (calcPrice refuses parts above them), else null: a part
 * above its total is a producer's bug, priced at the text rate rather than above the call's reported tokens.
 */
function consistentParts(u: Usage): ModalityTokens | null {
  const m = u.modalityTokens;
  if (!m) return null;
  const ai = m.audio_input ?? 0, ar = m.audio_cache_read ?? 0, ii = m.image_input ?? 0, ir = m.image_cache_read ?? 0;
  return ai + ii <= (u.inputTokens ?? 0) && ar + ir <= (u.cacheReadTokens ?? 0) && ar <= ai && ir <= ii &&
    (m.audio_output ?? 0) + (m.image_output ?? 0) <= (u.outputTokens ?? 0) ? m : null;
}

/**
 * Token counts follow OTel: input includes cache reads and writes, output includes reasoning, and the modality
 * parts (Usage.modalityTokens) are parts of input, cache reads and output. Each part is priced once at its own
 * rate (or its parent's, when the model has no separate price), as genai-prices' calcPrice prices the most
 * specific unit first: audio input at the audio rate, its cache reads at the cached-audio rate, the rest of the
 * cache reads at the cache rate, the rest of the input at the input rate. A detail count larger than its total
 * clamps the rest at zero; modality parts larger than theirs are left out (consistentParts). The tier is chosen
 * on the total input (cached tokens included), the larger of the reported input and the cache reads plus writes.
 * `cacheWrite1hTokens` is the 1-hour part of cacheWriteTokens (no span attribute carries it yet).
 */
export function priceUnits(u: Usage, p: CompiledPrice, cacheWrite1hTokens = 0): CostUnits {
  const input = u.inputTokens ?? 0;
  const cacheRead = u.cacheReadTokens ?? 0;
  const cacheWrite = u.cacheWriteTokens ?? 0;
  const output = u.outputTokens ?? 0;
  const reasoning = u.reasoningTokens ?? 0;
  const m = consistentParts(u);
  const audioRead = m?.audio_cache_read ?? 0;
  const imageRead = m?.image_cache_read ?? 0;
  const audioIn = Math.max(0, (m?.audio_input ?? 0) - audioRead);
  const imageIn = Math.max(0, (m?.image_input ?? 0) - imageRead);
  const audioOut = m?.audio_output ?? 0;
  const imageOut = m?.image_output ?? 0;
  const e = p.flat ?? effective(p, Math.max(input, cacheRead + cacheWrite));
  const pIn = e.input, pRead = e.read, pWrite = e.write, pWrite1h = e.write1h, pOut = e.output, pReason = e.reason, fee = e.fee;
  const textRead = Math.max(0, cacheRead - audioRead - imageRead);
  const plainIn = Math.max(0, input - cacheWrite - textRead - audioRead - imageRead - audioIn - imageIn);
  const write1h = Math.min(cacheWrite1hTokens, cacheWrite);
  const write5m = cacheWrite - write1h;
  const plainOut = Math.max(0, output - reasoning - audioOut - imageOut);
  // fine units: 10^-(scale+6) USD (a price per 1M tokens times tokens); a fee per 1k requests is price * 1000
  const inFine = plainIn * pIn + textRead * pRead + write5m * pWrite + write1h * pWrite1h +
    audioIn * e.audioIn + audioRead * e.audioRead + imageIn * e.imageIn + imageRead * e.imageRead;
  const outFine = plainOut * pOut + reasoning * pReason + audioOut * e.audioOut + imageOut * e.imageOut;
  const feeFine = fee * 1000;
  let inU: number, outU: number, feeU: number;
  if (inFine + outFine + feeFine <= Number.MAX_SAFE_INTEGER) { // products and sums exact (see the header)
    inU = toUnits(inFine, p.scale); outU = toUnits(outFine, p.scale); feeU = toUnits(feeFine, p.scale);
  } else {
    const B = BigInt;
    inU = toUnitsBig(B(plainIn) * B(pIn) + B(textRead) * B(pRead) + B(write5m) * B(pWrite) + B(write1h) * B(pWrite1h) +
      B(audioIn) * B(e.audioIn) + B(audioRead) * B(e.audioRead) + B(imageIn) * B(e.imageIn) + B(imageRead) * B(e.imageRead), p.scale);
    outU = toUnitsBig(B(plainOut) * B(pOut) + B(reasoning) * B(pReason) + B(audioOut) * B(e.audioOut) + B(imageOut) * B(e.imageOut), p.scale);
    feeU = toUnitsBig(B(fee) * 1000n, p.scale);
  }
  return { input: inU, output: outU, total: inU + outU + feeU };
}
