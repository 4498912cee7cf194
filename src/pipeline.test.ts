/** The pipeline's bound on the bytes of queued spans, with a scripted writer (the database is covered elsewhere). */
import { describe, expect, it } from 'vitest';
import { Pipeline } from './pipeline.js';
import { Batcher } from './sink/batcher.js';
import { createMapper } from './mapping/index.js';
import { loadPriceTable } from './mapping/prices.js';
import { QUEUED_BYTES_PER_SPAN } from './sink/admission.js';
import { hex, span } from '../test/helpers/spans.js';

const mapper = createMapper({ maxContentChars: 16_384, captureContent: true, prices: loadPriceTable() });
/** One span carrying `kb` KiB in an attribute. */
const fat = (kb: number) => ({ spans: [span({ traceId: hex(16), spanId: hex(8), attributes: { blob: 'x'.repeat(kb * 1024) } })], rejected: 0, errors: [] });

describe('Pipeline', () => {
  it('bounds the queue in bytes too: requests of unusually large spans get 429 once their rows fill it', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const batcher = new Batcher({ queueMaxSpans: 16, batchMaxSpans: 16, writers: 1, retryAfterSeconds: 3,
      write: async (xs) => { await gate; return { inserted: xs.length, duplicates: 0 }; } });
    const pipeline = new Pipeline({ mapper, batcher, maxSpans: 16 });
    expect(pipeline.maxQueuedBytes).toBe(16 * QUEUED_BYTES_PER_SPAN); // 64 KiB
    expect(pipeline.refusal()).toBeNull();
    const first = pipeline.exportDecoded(fat(80)); // alone: taken whatever its size
    await new Promise((r) => setImmediate(r));
    expect(batcher.depth).toBe(1); // 1 span of the 16 the queue counts, yet its bytes fill it
    expect(pipeline.refusal()).toMatchObject({ kind: 'queue_full', httpStatus: 429, retryAfterSeconds: 1 });
    expect(() => pipeline.admit('t')).toThrow(/bytes of spans and log records pending/); // no new body is even read
    await expect(pipeline.exportDecoded(fat(8))).rejects.toMatchObject({ kind: 'queue_full' });
    open();
    await expect(first).resolves.toMatchObject({ rejected: 0 });
    expect(pipeline.refusal()).toBeNull();
    await expect(pipeline.exportDecoded(fat(8))).resolves.toMatchObject({ rejected: 0 });
  });
});
