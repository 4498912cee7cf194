/** Exact cost units and what counts as usage. */
import { describe, expect, it } from 'vitest';
import { costUnits, hasUsage, unitsToDecimal } from './amounts.js';

describe('ledger value helpers', () => {
  it('keeps costs exact at numeric(20,10) scale', () => {
    expect(unitsToDecimal(costUnits(0.1)! + costUnits(0.2)!)).toBe('0.3000000000');
    expect(unitsToDecimal(costUnits(0.00000015)!)).toBe('0.0000001500');
    expect(unitsToDecimal(-costUnits(1.5)!)).toBe('-1.5000000000');
  });
});

describe('hasUsage', () => {
  const none = { inputTokens: null, outputTokens: null, totalTokens: null, totalCost: null };
  it('is true for tokens or a cost that is stored as more than zero', () => {
    expect(hasUsage(none)).toBe(false);
    expect(hasUsage({ ...none, inputTokens: 0, totalTokens: 0, totalCost: 0 })).toBe(false);
    expect(hasUsage({ ...none, outputTokens: 1 })).toBe(true);
    expect(hasUsage({ ...none, totalCost: 1e-10 })).toBe(true);
    // rounds to 0 at the ledger's scale (1e-10 USD): stored as 0, so it is no usage (repair agrees)
    expect(hasUsage({ ...none, totalCost: 4e-11 })).toBe(false);
    // too large to store exactly (stored NULL with its cost_source): still usage, as repair counts it
    expect(hasUsage({ ...none, totalCost: 950_000 })).toBe(true);
  });
});
