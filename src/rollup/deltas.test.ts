/** Run sums stay exact whatever a tenant reports (issue 9): numbers while safe, BigInt beyond. */
import { describe, expect, it } from 'vitest';
import { UsageTotals } from './amounts.js';
import { unitsToDecimal } from './amounts.js';
import { RowWriter } from '../sink/binary.js';

const call = (tokens: number, cost: number | null) => ({
  inputTokens: tokens, outputTokens: 1, cacheReadTokens: null, cacheWriteTokens: null, reasoningTokens: null,
  totalTokens: tokens + 1, totalCost: cost,
});

describe('UsageTotals', () => {
  it('stays a number while every partial sum is a safe integer', () => {
    const u = new UsageTotals();
    for (let i = 0; i < 1000; i++) u.add(call(1000, 0.002));
    expect(u.big).toBeNull();
    expect(u.get('input')).toBe(1_000_000);
    expect(unitsToDecimal(u.get('costUnits'))).toBe('2.0000000000');
  });

  it('switches to exact BigInt sums at the addition that would lose precision, subtraction included', () => {
    const u = new UsageTotals();
    for (let i = 0; i < 10_000; i++) u.add(call(1e12, 900_000)); // 10^16 tokens, $9e9: both past 2^53 in their units
    expect(u.big).not.toBeNull();
    expect(u.get('input')).toBe(10n ** 16n);
    expect(u.get('total')).toBe(10n ** 16n + 10_000n);
    expect(unitsToDecimal(u.get('costUnits'))).toBe('9000000000.0000000000');
    u.add(call(1e12, 900_000), -1);
    expect(u.get('input')).toBe(10n ** 16n - 10n ** 12n);
    expect(unitsToDecimal(u.get('costUnits'))).toBe('8999100000.0000000000');
  });

  it('encodes an exact bigint column from a number or a BigInt, and refuses what a bigint cannot hold', () => {
    const w = new RowWriter();
    w.beginRow(2);
    w.int8Exact(2 ** 53 - 1);
    w.int8Exact(2n ** 62n);
    w.endRow();
    const row = w.rows()[0]!;
    const view = Buffer.from(row.buffer, row.byteOffset, row.byteLength);
    expect(view.readBigInt64BE(2 + 4)).toBe(2n ** 53n - 1n);
    expect(view.readBigInt64BE(2 + 12 + 4)).toBe(2n ** 62n);
    expect(() => w.int8Exact(2 ** 53)).toThrow(/not an exact integer/);
    expect(() => w.int8Exact(2n ** 63n)).toThrow(/out of range/);
  });
});
