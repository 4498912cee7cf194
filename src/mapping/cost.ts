/**
 * Node cost: a cost reported on the span wins (`gen_ai.usage.cost` → `llm.cost.total`, with
 * `llm.cost.prompt` / `llm.cost.completion` as the split), else it is computed from the price table,
 * else it is unknown (null: unknown model or no tokens).
 */
import type { AttrValue, Attributes } from '../otlp/types.js';
import type { CostSource } from './types.js';
import type { Price, PriceTable } from './prices.js';
import type { Usage } from './usage.js';
import { asNonNegative } from './attrs.js';

export interface Cost {
  inputCost: number | null;
  outputCost: number | null;
  totalCost: number | null;
  costSource: CostSource | null;
}

const NO_COST: Cost = { inputCost: null, outputCost: null, totalCost: null, costSource: null };

/**
 * Price math, USD. Input tokens include cache reads/writes and output tokens include reasoning
 * (OTel convention), so each part is priced once at its own rate:
 *   input  = (input - cacheRead - cacheWrite) * in + cacheRead * cacheReadPrice + cacheWrite * cacheWritePrice
 *   output = (output - reasoning) * out + reasoning * reasoningPrice
 * A detail count larger than its total (a producer that reports cached tokens outside input_tokens)
 * clamps the plain part at zero rather than going negative.
 */
export function priceUsage(u: Usage, p: Price): { inputCost: number; outputCost: number; totalCost: number } {
  const input = u.inputTokens ?? 0;
  const cacheRead = u.cacheReadTokens ?? 0;
  const cacheWrite = u.cacheWriteTokens ?? 0;
  const output = u.outputTokens ?? 0;
  const reasoning = u.reasoningTokens ?? 0;
  const plainIn = Math.max(0, input - cacheRead - cacheWrite);
  const plainOut = Math.max(0, output - reasoning);
  const inputCost = (plainIn * p.input + cacheRead * p.cacheRead + cacheWrite * p.cacheWrite) / 1e6;
  const outputCost = (plainOut * p.output + reasoning * p.reasoning) / 1e6;
  return { inputCost, outputCost, totalCost: inputCost + outputCost };
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

function reportedCost(a: Attributes): Cost | null {
  const prompt = plausibleCost(a['llm.cost.prompt']);
  const completion = plausibleCost(a['llm.cost.completion']);
  let total = plausibleCost(a['gen_ai.usage.cost']) ?? plausibleCost(a['llm.cost.total']);
  if (total === null && (prompt !== null || completion !== null)) total = (prompt ?? 0) + (completion ?? 0);
  if (total === null) return null;
  return { inputCost: prompt, outputCost: completion, totalCost: total, costSource: 'reported' };
}

function hasTokens(u: Usage): boolean {
  return u.inputTokens !== null || u.outputTokens !== null || u.cacheReadTokens !== null ||
    u.cacheWriteTokens !== null || u.reasoningTokens !== null;
}

/** The node's cost; the price is looked up by model name, then by request model (e.g. an alias). */
export function resolveCost(
  a: Attributes, usage: Usage, prices: PriceTable, modelName: string | null, requestModel: string | null,
): Cost {
  const reported = reportedCost(a);
  if (reported !== null) return reported;
  if (!hasTokens(usage)) return NO_COST;
  const price = prices.price(modelName) ?? (requestModel !== modelName ? prices.price(requestModel) : null);
  if (price === null) return NO_COST;
  const c = priceUsage(usage, price);
  if (!(c.totalCost < MAX_REPORTED_COST)) return NO_COST; // as implausible as a reported one: unknown
  return { inputCost: c.inputCost, outputCost: c.outputCost, totalCost: c.totalCost, costSource: 'price_table' };
}
