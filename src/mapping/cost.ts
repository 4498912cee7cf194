/**
 * Node cost: a cost reported on the span wins (`gen_ai.usage.cost` → `llm.cost.total`, with
 * `llm.cost.prompt` / `llm.cost.completion` as the split → LiteLLM's `gen_ai.cost.*`), else it is computed from the price table
 * (override file, then the genai-prices manifest, then the shipped fallback list; prices.ts) at the price in
 * force when the call started, else it is unknown (null: unknown model or no tokens). Computed costs are exact
 * at the ledger's 1e-10 USD.
 */
import type { AttrValue, Attributes } from '../otlp/types.js';
import type { CostSource } from './types.js';
import type { PriceTable } from './prices.js';
import type { Usage } from './usage.js';
import { asNonNegative } from './attrs.js';
import { UNITS_PER_USD, priceUnits, type CompiledPrice } from './price-math.js';

export interface Cost {
  inputCost: number | null;
  outputCost: number | null;
  totalCost: number | null;
  costSource: CostSource | null;
  /** where a computed price came from (prices.ts Priced.ref); null for reported or unknown costs */
  priceRef: string | null;
}

const NO_COST: Cost = { inputCost: null, outputCost: null, totalCost: null, costSource: null, priceRef: null };

/**
 * Price math in USD (see price-math.ts priceUnits): each amount is an exact multiple of 1e-10 USD, so the
 * number is the double nearest that decimal and prints as it (0.147737, not 0.14773699999999998).
 */
export function priceUsage(u: Usage, p: CompiledPrice): { inputCost: number; outputCost: number; totalCost: number } {
  const c = priceUnits(u, p);
  return { inputCost: c.input / UNITS_PER_USD, outputCost: c.output / UNITS_PER_USD, totalCost: c.total / UNITS_PER_USD };
}

/**
 * A reported cost above this (USD, one call) is not a cost but a bug in the reporter; it is ignored so the
 * span is still stored (the ledger keeps numeric(20,10): below 1e10).
 */
export const MAX_REPORTED_COST = 1e6;

function plausibleCost(v: AttrValue | undefined): number | null {
  const n = asNonNegative(v);
  return n !== null && n < MAX_REPORTED_COST ? n : null;
}

/** Where a producer reports a call's cost: its total, and the input and output halves. */
interface CostKeys { totals: readonly string[]; prompt: string; completion: string; zeroIsUnknown: boolean }

/**
 * Reporters in order. LiteLLM (litellm/integrations/opentelemetry.py: its CostBreakdown as `gen_ai.cost.*`)
 * reports the spend it bills, after its discounts and with its tool-usage cost, so its total wins over our
 * catalogue price, which misses its cache discount (it sends no cache counts). But it writes 0.0 for a call it
 * could not price (a model on hosted_vllm): its zero means unknown, and the price table decides.
 */
const REPORTERS: readonly CostKeys[] = [
  { totals: ['gen_ai.usage.cost', 'llm.cost.total'], prompt: 'llm.cost.prompt', completion: 'llm.cost.completion', zeroIsUnknown: false },
  { totals: ['gen_ai.cost.total_cost'], prompt: 'gen_ai.cost.input_cost', completion: 'gen_ai.cost.output_cost', zeroIsUnknown: true },
];

/**
 * A reported cost: a total, or both halves. One half alone is not the call's cost (a reported prompt cost of
 * $0.25 replaced a computed $0.35): the price table decides. The split is kept only when its halves add up to the
 * total (total $0.35 with halves of $5 each summed to 28× the total).
 */
function reportedCost(a: Attributes): Cost | null {
  for (const r of REPORTERS) {
    // a reporter whose zero means unknown always sends its total: without one it reported nothing (one lookup)
    if (r.zeroIsUnknown && a[r.totals[0]!] === undefined) continue;
    const prompt = plausibleCost(a[r.prompt]);
    const completion = plausibleCost(a[r.completion]);
    const both = prompt !== null && completion !== null;
    let total: number | null = null;
    for (let i = 0; i < r.totals.length && total === null; i++) total = plausibleCost(a[r.totals[i]!]);
    total ??= both ? prompt + completion : null;
    if (total === null || (total === 0 && r.zeroIsUnknown)) continue;
    const split = both && Math.abs(prompt + completion - total) <= 1e-9 * Math.max(1, total);
    return { inputCost: split ? prompt : null, outputCost: split ? completion : null, totalCost: total, costSource: 'reported', priceRef: null };
  }
  return null;
}

/**
 * A price applies to counted input: without an input count (missing, or not a count) the call's cost is unknown.
 * Priced as zero input, an output-only usage was stored as a complete cost.
 */
function hasTokens(u: Usage): boolean {
  return u.inputTokens !== null;
}

/** The models a price is looked up by, most telling first: the one that answered, the one asked for, model_name. */
export interface PricedModels { responseModel: string | null; requestModel: string | null; modelName: string | null }

/** The node's cost; `startUs` (the span's start) picks the price in force at the time of the call. */
export function resolveCost(
  a: Attributes, usage: Usage, prices: PriceTable, provider: string | null, models: PricedModels, startUs: number,
): Cost {
  const reported = reportedCost(a);
  if (reported !== null) return reported;
  if (!hasTokens(usage)) return NO_COST;
  const priced = prices.find(provider, models.responseModel, models.requestModel, models.modelName, startUs);
  if (priced === null) return NO_COST;
  const c = priceUnits(usage, priced.price);
  const totalCost = c.total / UNITS_PER_USD;
  if (!(totalCost < MAX_REPORTED_COST)) return NO_COST; // as implausible as a reported one: unknown
  return { inputCost: c.input / UNITS_PER_USD, outputCost: c.output / UNITS_PER_USD, totalCost, costSource: 'price_table', priceRef: priced.ref };
}
