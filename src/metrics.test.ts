/** Prometheus metrics: calls without a price counted by model. */
import { describe, expect, it } from 'vitest';
import { MAX_MODEL_LABELS, Metrics } from './metrics.js';
import { unpricedByModel } from './pipeline.js';
import type { PreparedSpan } from './sink/prepare.js';

describe('runledger_unpriced_calls_total', () => {
  it(`keeps at most ${MAX_MODEL_LABELS} model labels; later models count as "other"`, async () => {
    const m = new Metrics();
    m.unpricedCalls(new Map(Array.from({ length: MAX_MODEL_LABELS + 5 }, (_, i) => [`m${i}`, 1] as [string, number])));
    m.unpricedCalls(new Map([['m0', 2], [null, 3], ['m104', 1]]));
    const lines = (await m.expose()).body.split('\n').filter((l) => l.startsWith('runledger_unpriced_calls_total{'));
    expect(lines).toHaveLength(MAX_MODEL_LABELS + 1);
    expect(lines).toContain('runledger_unpriced_calls_total{model="m0"} 3');
    expect(lines).toContain('runledger_unpriced_calls_total{model="other"} 9'); // m100-m104, then "unknown" (3) and m104 again
    expect(lines.some((l) => l.includes('"m100"'))).toBe(false);
  });

  it('counts nodes with tokens and no cost, by model', () => {
    const node = (modelName: string | null, inputTokens: number | null, totalCost: number | null) =>
      ({ node: { modelName, inputTokens, outputTokens: null, cacheReadTokens: null, cacheWriteTokens: null, reasoningTokens: null, totalCost } }) as unknown as PreparedSpan;
    expect(unpricedByModel([node('a', 10, null), node('a', 0, null), node('b', 10, 0.1), node('c', null, null), node(null, 5, null),
      { node: null } as unknown as PreparedSpan])).toEqual(new Map([['a', 2], [null, 1]]));
  });
});
