/** The admission budget of request bodies: bytes counted as they arrive, bounded shares, early refusals. */
import { describe, expect, it } from 'vitest';
import { ADMISSION_MIN_BUDGET_BYTES, ADMISSION_SLOT_BYTES, AdmissionBudget, admissionBudgetBytes } from './admission.js';
import { GatewayError } from '../errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SLOT = ADMISSION_SLOT_BYTES;
const refusal = (f: () => unknown): unknown => { try { f(); } catch (e) { return e; } return null; };
const budget = (sharePercent = 50, extra: { refusal?: () => GatewayError | null } = {}) =>
  new AdmissionBudget({ budgetBytes: 4 * MiB, sharePercent, retryAfterSeconds: 2, ...extra });

describe('AdmissionBudget', () => {
  it('is 1 KiB per span of queue capacity, at least 1 MiB', () => {
    expect(admissionBudgetBytes(65_536)).toBe(64 * MiB);
    expect(admissionBudgetBytes(4096)).toBe(4 * MiB);
    expect(admissionBudgetBytes(8)).toBe(ADMISSION_MIN_BUDGET_BYTES);
  });

  it('never reserves a declared length: a body counts its slot, then its bytes as they arrive', () => {
    const b = budget();
    // One client declares the most it may send, and sends nothing (the 1-byte/s upload of issue 9).
    const slow = b.admit('tenant evil', b.maxBodyBytes);
    expect(b.admittedBytes).toBe(SLOT);
    slow.grow(1);
    expect(b.admittedBytes).toBe(SLOT + 1);
    // Everyone else still gets in, up to what is really free.
    const each = MiB / 2 - SLOT; // within their guaranteed part
    const others = Array.from({ length: 7 }, (_, i) => b.admit(`tenant t${i}`, each));
    for (const a of others) a.grow(each);
    expect(b.admittedBytes).toBe(SLOT + 1 + 7 * (MiB / 2));
    for (const a of [slow, ...others]) a.release();
    expect(b.admittedBytes).toBe(0);
  });

  it('refuses early by a declared length: 413 beyond what one body may hold, 429 when it does not fit now', () => {
    const b = budget(100);
    expect(b.maxBodyBytes).toBe(4 * MiB - SLOT);
    expect(refusal(() => b.admit('a', 4 * MiB))).toMatchObject({ kind: 'payload_too_large', httpStatus: 413 });
    const big = b.admit('a', 0);
    big.grow(2 * MiB);
    const other = b.admit('b', 0);
    other.grow(MiB);
    // 4 MiB − (3 MiB + 2 slots) free: a declared 1 MiB does not fit now; nothing was counted for it.
    const before = b.admittedBytes;
    expect(refusal(() => b.admit('c', MiB))).toMatchObject({ kind: 'queue_full', httpStatus: 429, retryAfterSeconds: 2 });
    expect(b.admittedBytes).toBe(before);
    expect(b.heldBy('c')).toBe(0);
    b.admit('c', 512 * KiB).release();
    // A declared length beyond what one body may hold is 413 even while the queue refuses everything.
    const full = new AdmissionBudget({ budgetBytes: 4 * MiB, sharePercent: 50, retryAfterSeconds: 2, refusal: () => new GatewayError('queue_full', 'full', 2) });
    expect(refusal(() => full.admit('a', 3 * MiB))).toMatchObject({ kind: 'payload_too_large' });
  });

  it('caps what one holder holds at its share, so the others keep the rest of the budget', () => {
    const b = budget(50);
    expect([b.shareBytes, b.guaranteedBytes, b.reserveBytes]).toEqual([2 * MiB, MiB, MiB]);
    const mine = [b.admit('tenant greedy'), b.admit('tenant greedy')];
    mine[0]!.grow(MiB);
    mine[1]!.grow(MiB - 2 * SLOT);
    expect(b.heldBy('tenant greedy')).toBe(2 * MiB);
    // Its share is full: a third body of its own is refused, growing one of its bodies too.
    expect(refusal(() => b.admit('tenant greedy'))).toMatchObject({ kind: 'queue_full' });
    expect(refusal(() => mine[0]!.grow(1))).toMatchObject({ kind: 'queue_full', message: expect.stringMatching(/share/) });
    // A second greedy holder goes beyond its guaranteed part only while a quarter of the budget stays free.
    const other = b.admit('tenant other greedy');
    other.grow(MiB - SLOT);
    expect(refusal(() => other.grow(1))).toMatchObject({ kind: 'queue_full', message: expect.stringMatching(/others need room/) });
    // The others get that quarter (each may take up to its guaranteed part, a quarter too).
    const theirs = [b.admit('tenant a'), b.admit('tenant b')];
    theirs[0]!.grow(MiB / 2 - SLOT);
    theirs[1]!.grow(MiB / 2 - SLOT);
    expect(b.admittedBytes).toBe(4 * MiB);
    expect(refusal(() => b.admit('tenant c'))).toMatchObject({ kind: 'queue_full', message: expect.stringMatching(/queue is full/) });
    for (const a of [...mine, other, ...theirs]) a.release();
    expect(b.admittedBytes).toBe(0);
    expect(b.heldBy('tenant greedy')).toBe(0);
  });

  it('lets one holder use its whole share when nobody else needs the budget, and takes nothing from the others', () => {
    const b = budget(100); // S = B: the reserve is gone, the guaranteed part is B/4
    expect([b.guaranteedBytes, b.reserveBytes]).toEqual([MiB, 0]);
    const a = b.admit('only');
    a.grow(4 * MiB - SLOT);
    expect(b.admittedBytes).toBe(4 * MiB);
    a.release();
  });

  it('refuses a body with 413 once it alone outgrows what one request may hold (decompressed bytes count too)', () => {
    const b = budget(50);
    const a = b.admit('x');
    a.grow(MiB); // compressed bytes as they arrived
    expect(refusal(() => a.grow(MiB))).toMatchObject({ kind: 'payload_too_large', httpStatus: 413 });
    expect(a.bytes).toBe(MiB);
    a.resize(100); // recount what is still held (e.g. the decompressed form alone)
    expect(b.admittedBytes).toBe(SLOT + 100);
    a.release();
    a.release(); // idempotent
    a.grow(5); // no effect once released
    expect(b.admittedBytes).toBe(0);
  });

  it('holds a slot per body, so at most budget / 64 KiB bodies are in flight', () => {
    const b = budget(100);
    const all = Array.from({ length: (4 * MiB) / SLOT }, (_, i) => b.admit(`h${i % 3}`));
    expect(refusal(() => b.admit('h9'))).toMatchObject({ kind: 'queue_full' });
    for (const a of all) a.release();
    expect(b.admittedBytes).toBe(0);
  });

  it("asks the queue first: a full queue or a shutdown refuses before anything is counted", () => {
    let why: GatewayError | null = new GatewayError('queue_full', 'ingest queue is full', 2);
    const b = budget(50, { refusal: () => why });
    expect(refusal(() => b.admit('a'))).toMatchObject({ kind: 'queue_full' });
    why = new GatewayError('unavailable', 'gateway is shutting down', 2);
    expect(refusal(() => b.admit('a'))).toMatchObject({ kind: 'unavailable', httpStatus: 503 });
    expect(b.admittedBytes).toBe(0);
    why = null;
    b.admit('a').release();
  });
});
