/** Batcher logic with a scripted write function (the database itself is covered by writer.test.ts). */
import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';
import { GatewayError } from '../errors.js';
import { hex, mapped, span } from '../../test/helpers/spans.js';
import type { PreparedSpan } from './prepare.js';

const items = (n: number, name = 'ok') => Array.from({ length: n }, () => mapped(span({ traceId: hex(16), spanId: hex(8), name })));
const pgError = (code: string, message = code) => Object.assign(new Error(message), { code });

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Batcher', () => {
  it('groups queued requests into one transaction while a writer is busy', async () => {
    const gate = deferred();
    const batches: number[] = [];
    const b = new Batcher({
      queueMaxSpans: 100, batchMaxSpans: 50, writers: 1, retryAfterSeconds: 1,
      write: async (xs) => { batches.push(xs.length); if (batches.length === 1) await gate.promise; return { inserted: xs.length, duplicates: 0 }; },
    });
    const first = b.submit(items(5));
    const rest = [b.submit(items(10)), b.submit(items(10)), b.submit(items(10))];
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([5, 30]);
    expect(b.depth).toBe(0);
  });

  it('starts a further concurrent batch only once it would be as big as the one being written', async () => {
    const gates = [deferred(), deferred(), deferred()];
    const batches: number[] = [];
    const b = new Batcher({
      queueMaxSpans: 1000, batchMaxSpans: 40, writers: 2, retryAfterSeconds: 1,
      write: async (xs) => {
        const i = batches.push(xs.length) - 1;
        await gates[i]?.promise;
        return { inserted: xs.length, duplicates: 0 };
      },
    });
    const tick = () => new Promise((r) => setImmediate(r));
    const done = [b.submit(items(30))]; // no batch being written: starts at once, however small
    await tick();
    expect(batches).toEqual([30]);
    done.push(b.submit(items(10)), b.submit(items(10)));
    await tick();
    expect(batches).toEqual([30]); // 20 queued < 30 being written: the second writer waits
    done.push(b.submit(items(10)));
    await tick();
    expect(batches).toEqual([30, 30]); // 30 queued: a batch as big as the other starts beside it
    done.push(b.submit(items(5)));
    gates[0]!.resolve();
    await tick();
    expect(batches).toEqual([30, 30]); // a writer finished: with the other still busy, 5 < 30 waits...
    gates[1]!.resolve();
    await tick();
    expect(batches).toEqual([30, 30, 5]); // ...until no batch is being written
    gates[2]!.resolve();
    await Promise.all(done);
    done.push(b.submit(items(45))); // a request beyond batchMaxSpans is still taken, alone
    await Promise.all(done);
    expect(batches).toEqual([30, 30, 5, 45]);
  });

  it('refuses with queue_full beyond capacity, counting in-flight spans', async () => {
    const gate = deferred();
    const b = new Batcher({
      queueMaxSpans: 20, batchMaxSpans: 20, writers: 1, retryAfterSeconds: 3,
      write: async (xs) => { await gate.promise; return { inserted: xs.length, duplicates: 0 }; },
    });
    const a = b.submit(items(15));
    const err = await b.submit(items(10)).catch((e) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ kind: 'queue_full', retryAfterSeconds: 3, httpStatus: 429, grpcCode: 8 });
    gate.resolve();
    await a;
    await expect(b.submit(items(10))).resolves.toEqual({ rejected: 0, errors: [] });
  });

  it('takes a request larger than the queue when nothing else is held', async () => {
    const b = new Batcher({ queueMaxSpans: 10, batchMaxSpans: 10, writers: 1, retryAfterSeconds: 1,
      write: async (xs) => ({ inserted: xs.length, duplicates: 0 }) });
    await expect(b.submit(items(25))).resolves.toEqual({ rejected: 0, errors: [] });
  });

  it('fails every request of a batch with unavailable when the database is down', async () => {
    const b = new Batcher({ queueMaxSpans: 100, batchMaxSpans: 100, writers: 1, retryAfterSeconds: 5,
      write: async () => { throw pgError('ECONNREFUSED'); } });
    const errs = await Promise.all([b.submit(items(3)).catch((e) => e), b.submit(items(3)).catch((e) => e)]);
    for (const e of errs) expect(e).toMatchObject({ kind: 'unavailable', httpStatus: 503, grpcCode: 14, retryAfterSeconds: 5 });
  });

  it('isolates spans the database refuses and stores the rest (partial success)', async () => {
    const stored: PreparedSpan[] = [];
    const b = new Batcher({
      queueMaxSpans: 100, batchMaxSpans: 100, writers: 1, retryAfterSeconds: 1,
      write: async (xs) => {
        if (xs.some((m) => m.span.name === 'bad')) throw pgError('22P05', 'unsupported Unicode escape sequence');
        stored.push(...xs);
        return { inserted: xs.length, duplicates: 0 };
      },
    });
    const good = items(3);
    const mixed = [...items(4), ...items(2, 'bad'), ...items(5)];
    const [r1, r2] = await Promise.all([b.submit(good), b.submit(mixed)]);
    expect(r1).toEqual({ rejected: 0, errors: [] });
    expect(r2.rejected).toBe(2);
    expect(r2.errors[0]).toMatch(/unsupported Unicode/);
    expect(stored.filter((m) => m.span.name === 'bad')).toHaveLength(0);
    expect(stored).toHaveLength(12);
  });

  it('retries deadlocks and serialization failures', async () => {
    let calls = 0;
    const b = new Batcher({ queueMaxSpans: 100, batchMaxSpans: 100, writers: 1, retryAfterSeconds: 1,
      write: async (xs) => { if (++calls < 3) throw pgError('40P01'); return { inserted: xs.length, duplicates: 0 }; } });
    await expect(b.submit(items(2))).resolves.toEqual({ rejected: 0, errors: [] });
    expect(calls).toBe(3);
  });

  it('drain waits for accepted spans, then refuses new ones', async () => {
    const gate = deferred();
    let written = 0;
    const b = new Batcher({ queueMaxSpans: 100, batchMaxSpans: 100, writers: 1, retryAfterSeconds: 1,
      write: async (xs) => { await gate.promise; written += xs.length; return { inserted: xs.length, duplicates: 0 }; } });
    const p = b.submit(items(4));
    const drained = b.drain();
    await expect(b.submit(items(1))).rejects.toMatchObject({ kind: 'unavailable' });
    gate.resolve();
    await drained;
    await p;
    expect(written).toBe(4);
  });
  it('refuses request bodies before they are read while the queue is full (429), and once draining (503)', async () => {
    // The byte budget of bodies being read and decoded is src/sink/admission.ts (admission.test.ts).
    const gate = deferred();
    const b = new Batcher({ queueMaxSpans: 10, batchMaxSpans: 10, writers: 1, retryAfterSeconds: 2,
      write: async (xs) => { await gate.promise; return { inserted: xs.length, duplicates: 0 }; } });
    expect(b.refusal()).toBeNull();
    const held = b.submit(items(10));
    expect(b.refusal()).toMatchObject({ kind: 'queue_full', httpStatus: 429, retryAfterSeconds: 2 });
    gate.resolve();
    await held;
    expect(b.refusal()).toBeNull();
    await b.drain();
    expect(b.refusal()).toMatchObject({ kind: 'unavailable', httpStatus: 503 });
  });
});

describe('Batcher, spans of a run another transaction holds (deferred by the writer)', () => {
  const traceOf = (xs: PreparedSpan[]) => xs[0]!.span.traceId;
  const run = (n: number) => { const t = hex(16); return Array.from({ length: n }, () => mapped(span({ traceId: t, spanId: hex(8) }))); };

  it('retries them, counting them in the queue, and resolves the request once all its spans are committed', async () => {
    const locked = run(3);
    const free = run(2);
    let holds = 3; // the run is held for the first three writes
    const committed: string[] = [];
    const b = new Batcher({ queueMaxSpans: 100, batchMaxSpans: 100, writers: 1, retryAfterSeconds: 1, runLockWaitMs: 5000,
      write: async (xs) => {
        const deferred = holds-- > 0 ? xs.filter((m) => m.span.traceId === traceOf(locked)) : [];
        for (const m of xs) if (!deferred.includes(m)) committed.push(m.span.spanId);
        return { inserted: xs.length - deferred.length, duplicates: 0, ...(deferred.length ? { deferred } : {}) };
      } });
    const other = b.submit(run(4)); // written alongside, never held
    const mixed = b.submit([...locked, ...free]);
    await expect(other).resolves.toEqual({ rejected: 0, errors: [] });
    expect(b.depth).toBeGreaterThan(0); // the locked run's spans still wait
    await expect(mixed).resolves.toEqual({ rejected: 0, errors: [] });
    expect(b.depth).toBe(0);
    expect(committed.length).toBe(4 + 3 + 2);
    expect(new Set(committed).size).toBe(committed.length); // each span written once
  });

  it('answers the request unavailable (503, Retry-After) once they were retried for runLockWaitMs', async () => {
    const locked = run(2);
    const writes: number[] = [];
    const b = new Batcher({ queueMaxSpans: 100, batchMaxSpans: 100, writers: 1, retryAfterSeconds: 4, runLockWaitMs: 150,
      write: async (xs) => { writes.push(xs.length); return { inserted: 0, duplicates: 0, deferred: xs.filter((m) => locked.includes(m)) }; } });
    const t0 = performance.now();
    const err = await b.submit(locked).catch((e) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ kind: 'unavailable', retryAfterSeconds: 4, httpStatus: 503, grpcCode: 14 });
    expect(err.message).toMatch(/locked by another transaction/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    expect(writes.length).toBeGreaterThan(2); // tried again in between, backing off
    expect(b.depth).toBe(0);
    await b.drain();
  });

  it('settles the requests without the culprit before bisecting the request that holds a span PostgreSQL refuses', async () => {
    const bad = run(1)[0]!;
    const culprit = [...run(7), bad];
    const order: string[] = [];
    const b = new Batcher({ queueMaxSpans: 100, batchMaxSpans: 100, writers: 1, retryAfterSeconds: 1,
      write: async (xs) => {
        if (xs.includes(bad)) throw pgError('22003', 'numeric field overflow');
        return { inserted: xs.length, duplicates: 0 };
      } });
    // the first request is written alone (no batch under way); the next two together: the culprit's data
    // error makes them written one by one
    const innocent = b.submit(run(5)).then((r) => { order.push('innocent'); return r; });
    const guilty = b.submit(culprit).then((r) => { order.push('culprit'); return r; });
    const innocent2 = b.submit(run(3)).then((r) => { order.push('innocent2'); return r; });
    await Promise.all([innocent, guilty, innocent2]);
    expect(await guilty).toMatchObject({ rejected: 1 });
    expect(order.indexOf('culprit')).toBe(2); // both innocent requests were answered before the bisection ended
  });
});
