/**
 * Token and cost amounts as the ledger keeps them: costs as exact integer units of 1e-10 USD (the
 * numeric(20,10) scale of the nodes and runs columns), what counts as usage, and exact run sums. One home
 * for these rules, used by the row encoder, the rollups and reprice alike, so they cannot drift apart.
 */
import type { NodeRecord } from '../mapping/types.js';

/**
 * Cost in USD rounded to the ledger's numeric(20,10) scale, as integer units of 1e-10 USD; null (unknown)
 * when that is not an exact (safe) integer, so the node row (NULL) and the run rollup (adds nothing) agree.
 */
export const COST_SCALE = 1e10;
export function costUnits(usd: number | null): number | null {
  if (usd === null) return null;
  const units = Math.round(usd * COST_SCALE);
  return Number.isSafeInteger(units) ? units : null;
}

/** Integer cost units (a safe integer or a BigInt) → exact decimal text (numeric input). */
export function unitsToDecimal(units: number | bigint): string {
  const neg = units < 0;
  const s = String(neg ? -units : units).padStart(11, '0');
  return (neg ? '-' : '') + s.slice(0, -10) + '.' + s.slice(-10);
}

/** True when the node carries usage (tokens or cost) that can count toward run totals (SQL: rollup/sql.ts hasUsageSql). */
export function hasUsage(n: Pick<NodeRecord, 'inputTokens' | 'outputTokens' | 'totalTokens' | 'totalCost'>): boolean {
  return (
    (n.inputTokens ?? 0) > 0 || (n.outputTokens ?? 0) > 0 || (n.totalTokens ?? 0) > 0 || costIsUsage(n.totalCost)
  );
}

/**
 * A cost counts as stored (units of 1e-10 USD), as `runledger repair` sees it: one that rounds to 0 is
 * no usage; one too large to store exactly (stored NULL, with its cost_source) still is.
 */
function costIsUsage(usd: number | null): boolean {
  if (usd === null) return false;
  const units = costUnits(usd);
  return units === null ? usd > 0 : units > 0;
}

export type UsageFields = Pick<NodeRecord, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'reasoningTokens' | 'totalTokens' | 'totalCost'>;
export type UsageKey = 'input' | 'output' | 'cacheRead' | 'cacheWrite' | 'reasoning' | 'total' | 'costUnits';

const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Token and cost sums of a run's counted nodes; cost in integer units of 1e-10 USD. Sums stay exact:
 * numbers while every partial sum is a safe integer (one comparison per field), BigInt from the addition
 * that would leave that range (a tenant's absurd values: thousands of calls of 10^12 tokens or $900k).
 */
export class UsageTotals {
  input = 0; output = 0; cacheRead = 0; cacheWrite = 0; reasoning = 0; total = 0; costUnits = 0;
  /** the exact sums once a number sum would have lost precision */
  big: Record<UsageKey, bigint> | null = null;

  add(n: UsageFields, sign: 1 | -1 = 1): void {
    const cost = costUnits(n.totalCost) ?? 0;
    if (this.big === null) {
      const input = this.input + sign * (n.inputTokens ?? 0);
      const output = this.output + sign * (n.outputTokens ?? 0);
      const cacheRead = this.cacheRead + sign * (n.cacheReadTokens ?? 0);
      const cacheWrite = this.cacheWrite + sign * (n.cacheWriteTokens ?? 0);
      const reasoning = this.reasoning + sign * (n.reasoningTokens ?? 0);
      const total = this.total + sign * (n.totalTokens ?? 0);
      const units = this.costUnits + sign * cost;
      if (Math.abs(input) <= SAFE && Math.abs(output) <= SAFE && Math.abs(cacheRead) <= SAFE && Math.abs(cacheWrite) <= SAFE &&
        Math.abs(reasoning) <= SAFE && Math.abs(total) <= SAFE && Math.abs(units) <= SAFE) {
        this.input = input; this.output = output; this.cacheRead = cacheRead; this.cacheWrite = cacheWrite;
        this.reasoning = reasoning; this.total = total; this.costUnits = units;
        return;
      }
      this.big = {
        input: BigInt(this.input), output: BigInt(this.output), cacheRead: BigInt(this.cacheRead), cacheWrite: BigInt(this.cacheWrite),
        reasoning: BigInt(this.reasoning), total: BigInt(this.total), costUnits: BigInt(this.costUnits),
      };
    }
    const b = this.big;
    const s = BigInt(sign);
    b.input += s * BigInt(n.inputTokens ?? 0);
    b.output += s * BigInt(n.outputTokens ?? 0);
    b.cacheRead += s * BigInt(n.cacheReadTokens ?? 0);
    b.cacheWrite += s * BigInt(n.cacheWriteTokens ?? 0);
    b.reasoning += s * BigInt(n.reasoningTokens ?? 0);
    b.total += s * BigInt(n.totalTokens ?? 0);
    b.costUnits += s * BigInt(cost);
  }

  /** A sum, exact. */
  get(k: UsageKey): number | bigint {
    return this.big === null ? this[k] : this.big[k];
  }
}
