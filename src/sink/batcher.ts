/**
 * Bounded group-commit queue. Requests wait here until a writer commits them; a writer takes every
 * queued request up to batchMaxSpans into one transaction. Capacity counts queued and in-flight spans,
 * so memory stays bounded: beyond it submissions fail fast with queue_full (429 / RESOURCE_EXHAUSTED).
 */
import type { PreparedSpan } from './prepare.js';
import { GatewayError } from '../errors.js';
import { classifyPgError } from './pg-errors.js';
import type { WriteOutcome } from './writer.js';

export interface SubmitResult {
  /** spans PostgreSQL refused (isolated by bisection), reported as partial success */
  rejected: number;
  errors: string[];
}

export interface BatcherOptions {
  queueMaxSpans: number;
  batchMaxSpans: number;
  writers: number;
  retryAfterSeconds: number;
  /** write one batch in one transaction */
  write: (items: PreparedSpan[]) => Promise<WriteOutcome>;
  onBatch?: (info: { spans: number; requests: number; ms: number; ok: boolean }) => void;
  onWrite?: (out: WriteOutcome) => void;
}

type Settlement = { ok: true; result: SubmitResult } | { ok: false; error: GatewayError };

interface Pending {
  items: PreparedSpan[];
  resolve: (r: SubmitResult) => void;
  reject: (e: unknown) => void;
}

export class Batcher {
  private queue: Pending[] = [];
  private held = 0; // queued + in-flight spans
  private active = 0;
  private queuedSpans = 0; // spans in this.queue
  private newestBatch = 0; // spans of the batch started last
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: BatcherOptions) {}

  get depth(): number { return this.held; }

  submit(items: PreparedSpan[]): Promise<SubmitResult> {
    if (this.closed) return Promise.reject(new GatewayError('unavailable', 'gateway is shutting down', this.opts.retryAfterSeconds));
    if (items.length === 0) return Promise.resolve({ rejected: 0, errors: [] });
    // A request larger than the whole queue is still taken when nothing else is held.
    if (this.held > 0 && this.held + items.length > this.opts.queueMaxSpans) {
      return Promise.reject(new GatewayError('queue_full', `ingest queue is full (${this.held} spans pending)`, this.opts.retryAfterSeconds));
    }
    this.held += items.length;
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.queuedSpans += items.length;
      this.pump();
    });
  }

  /**
   * Why a request body should not even be read now (src/sink/admission.ts asks before admitting one):
   * the queue is full (429), or the gateway is shutting down (503); null when bodies are welcome.
   */
  refusal(): GatewayError | null {
    if (this.closed) return new GatewayError('unavailable', 'gateway is shutting down', this.opts.retryAfterSeconds);
    if (this.held >= this.opts.queueMaxSpans) {
      return new GatewayError('queue_full', `ingest queue is full (${this.held} spans pending)`, this.opts.retryAfterSeconds);
    }
    return null;
  }

  /** Stop taking requests and wait for everything queued to be written. */
  async drain(): Promise<void> {
    this.closed = true;
    if (this.held === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Start batches on free writers. With no batch being written, whatever is queued starts at once (no
   * added latency). While others are written, a further batch starts only once the queue holds as many
   * spans as the newest of them (or batchMaxSpans): concurrent batches stay about equal in size instead of
   * a free writer taking each request alone. Big batches are what makes COPY cheap for PostgreSQL (per
   * COPY statement and per transaction costs; 512-span batches cost it ~15% more per span than 4096-span
   * ones), while two of them still overlap the gateway's work with the database's.
   */
  private pump(): void {
    while (this.active < this.opts.writers && this.queue.length > 0) {
      if (this.active > 0 && this.queuedSpans < Math.min(this.opts.batchMaxSpans, this.newestBatch)) return;
      const batch: Pending[] = [];
      let spans = 0;
      while (this.queue.length > 0 && (batch.length === 0 || spans + this.queue[0]!.items.length <= this.opts.batchMaxSpans)) {
        const p = this.queue.shift()!;
        batch.push(p);
        spans += p.items.length;
      }
      this.active++;
      this.queuedSpans -= spans;
      this.newestBatch = spans;
      void this.run(batch, spans);
    }
  }

  private async run(batch: Pending[], spans: number): Promise<void> {
    const t0 = performance.now();
    const settle = await this.writeGroup(batch);
    this.opts.onBatch?.({ spans, requests: batch.length, ms: performance.now() - t0, ok: settle.every((s) => s.ok) });
    // Release capacity before acknowledging, so a client that was acked can submit again at once.
    this.active--;
    this.held -= spans;
    batch.forEach((p, i) => {
      const s = settle[i]!;
      if (s.ok) p.resolve(s.result);
      else p.reject(s.error);
    });
    if (this.held === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.pump();
  }

  /** Write requests together; a data error isolates the culprit request(s) and span(s). */
  private async writeGroup(batch: Pending[]): Promise<Settlement[]> {
    const items = batch.length === 1 ? batch[0]!.items : batch.flatMap((p) => p.items);
    try {
      await this.writeRetrying(items);
      return batch.map(() => ({ ok: true, result: { rejected: 0, errors: [] } }));
    } catch (e) {
      if (classifyPgError(e) !== 'data') {
        const error = this.toGatewayError(e);
        return batch.map(() => ({ ok: false, error }));
      }
    }
    const out: Settlement[] = [];
    for (const p of batch) {
      try {
        out.push({ ok: true, result: await this.bisect(p.items) });
      } catch (e) {
        out.push({ ok: false, error: this.toGatewayError(e) });
      }
    }
    return out;
  }

  /** Split a request until the spans PostgreSQL refuses are isolated; store the rest. */
  private async bisect(items: PreparedSpan[]): Promise<SubmitResult> {
    try {
      await this.writeRetrying(items);
      return { rejected: 0, errors: [] };
    } catch (e) {
      if (classifyPgError(e) !== 'data') throw e;
      if (items.length === 1) {
        const s = items[0]!.span;
        return { rejected: 1, errors: [`span ${s.spanId} of trace ${s.traceId} refused by the database: ${(e as Error).message}`] };
      }
      const mid = items.length >> 1;
      const a = await this.bisect(items.slice(0, mid));
      const b = await this.bisect(items.slice(mid));
      return { rejected: a.rejected + b.rejected, errors: [...a.errors, ...b.errors].slice(0, 5) };
    }
  }

  /** Serialization failures and deadlocks are retried a few times before giving up. */
  private async writeRetrying(items: PreparedSpan[]): Promise<WriteOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.opts.write(items);
        this.opts.onWrite?.(out);
        return out;
      } catch (e) {
        if (classifyPgError(e) !== 'retry' || attempt >= 4) throw e;
        await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
      }
    }
  }

  private toGatewayError(e: unknown): GatewayError {
    if (e instanceof GatewayError) return e;
    const cls = classifyPgError(e);
    if (cls === 'unavailable' || cls === 'retry') {
      return new GatewayError('unavailable', `database unavailable: ${(e as Error).message}`, this.opts.retryAfterSeconds);
    }
    return new GatewayError('internal', `write failed: ${(e as Error).message}`);
  }
}
