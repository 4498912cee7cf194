/** Reading bodies under admission: counted chunk by chunk, cut when too slow, the rest of a refused body dropped. */
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { dropBody, readCounted, watchRate, type BodyLimits } from './body.js';
import { decompress } from './decompress.js';
import { AdmissionBudget } from '../sink/admission.js';

const limits: BodyLimits = { maxBodyBytes: 1 << 20, graceSeconds: 0.3, minBytesPerSecond: 1000 };
const budget = () => new AdmissionBudget({ budgetBytes: 4 << 20, sharePercent: 50, retryAfterSeconds: 1 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A body trickling `piece` bytes every `everyMs` until stopped. */
function trickle(piece: number, everyMs: number): { source: PassThrough; stop(): void } {
  const source = new PassThrough();
  const t = setInterval(() => source.write(Buffer.alloc(piece, 1)), everyMs);
  return { source, stop: () => clearInterval(t) };
}

describe('request bodies', () => {
  it('counts every chunk in the admission as it arrives, and the declared length only once it arrived', async () => {
    const b = budget();
    const a = b.admit('t', 3000);
    const source = new PassThrough();
    const body = readCounted(source, a, limits, 3000);
    source.write(Buffer.alloc(1000, 7));
    await sleep(10);
    expect(a.bytes).toBe(1000);
    source.end(Buffer.alloc(2000, 7));
    expect((await body).length).toBe(3000);
    expect(a.bytes).toBe(3000);
    a.release();
  });

  it('cuts a body arriving below the minimum rate soon after the grace (503 / DEADLINE_EXCEEDED)', async () => {
    const b = budget();
    const a = b.admit('t');
    const slow = trickle(1, 100); // 10 bytes/s, the minimum is 1000
    const t0 = performance.now();
    await expect(readCounted(slow.source, a, limits, NaN)).rejects.toMatchObject({ kind: 'deadline_exceeded', httpStatus: 503, grpcCode: 4 });
    const ms = performance.now() - t0;
    slow.stop();
    // due at 0.3 s + 1 ms per byte received: cut at about 0.31 s
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(1000);
    expect(slow.source.isPaused()).toBe(true);
    a.release();
  });

  it('lets a body keeping up the minimum rate after the grace through, however long it takes', async () => {
    const b = budget();
    const a = b.admit('t');
    const steady = trickle(120, 100); // 1200 bytes/s, starting 100 ms late
    const body = readCounted(steady.source, a, limits, NaN);
    await sleep(1500);
    steady.stop();
    steady.source.end();
    expect((await body).length).toBeGreaterThan(1000);
    a.release();
  });

  it('refuses a chunk the admission cannot take, leaving the stream paused with the bytes seen so far', async () => {
    const b = new AdmissionBudget({ budgetBytes: 1 << 20, sharePercent: 25, retryAfterSeconds: 1 }); // 256 KiB share
    const a = b.admit('greedy');
    const source = new PassThrough();
    const progress = { received: 0 };
    const body = readCounted(source, a, limits, NaN, progress);
    source.write(Buffer.alloc(100_000));
    source.write(Buffer.alloc(200_000));
    await expect(body).rejects.toMatchObject({ kind: 'payload_too_large' });
    expect(progress.received).toBe(300_000);
    expect(a.bytes).toBe(100_000);
    expect(source.isPaused()).toBe(true);
    a.release();
    expect(b.admittedBytes).toBe(0);
  });

  it('drops what is left of a refused body: ended, too long, or cut when too slow', async () => {
    const ended = new PassThrough();
    const dropped = dropBody(ended, limits, 1000);
    ended.end(Buffer.alloc(900));
    expect(await dropped).toBe('ended');
    const long = new PassThrough();
    const tooLong = dropBody(long, limits, 1000);
    long.write(Buffer.alloc(1001));
    expect(await tooLong).toBe('too-long');
    const slow = trickle(1, 100);
    expect(await dropBody(slow.source, limits, 1000)).toBe('cut');
    slow.stop();
  });

  it('counts decompressed output as it is produced, and stops when the admission refuses it', async () => {
    const raw = zlib.gzipSync(Buffer.alloc(512 * 1024, 3));
    const counted: number[] = [];
    const out = await decompress(raw, 'gzip', 1 << 20, (n) => counted.push(n));
    expect(out.length).toBe(512 * 1024);
    expect(counted.length).toBeGreaterThan(2); // pieces as they came out, then the joined copy
    expect(counted.at(-1)).toBe(512 * 1024);
    let allowed = 100_000;
    const refusing = (n: number) => { if ((allowed -= n) < 0) throw Object.assign(new Error('refused'), { kind: 'queue_full' }); };
    await expect(decompress(raw, 'gzip', 1 << 20, refusing)).rejects.toThrow('refused');
  });

  it('watchRate does nothing when the minimum rate is 0', async () => {
    let cut = false;
    const stop = watchRate({ ...limits, minBytesPerSecond: 0 }, () => 0, () => { cut = true; });
    await sleep(400);
    stop();
    expect(cut).toBe(false);
  });
});
