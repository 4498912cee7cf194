/**
 * Bounded group-commit queue. Requests wait here until a writer commits them; a writer takes every
 * queued request up to batchMaxSpans into one transaction. Capacity counts queued and in-flight spans,
 * so memory stays bounded: beyond it submissions fail fast with queue_full (429 / RESOURCE_EXHAUSTED).
 * Spans whose run another transaction holds come back deferred and are retried for runLockWaitMs; a
 * request resolves once all its spans are committed (or rejected), so one locked run delays only itself.
 */
import type { PreparedSpan } from './prepare.js';
import { GatewayError } from '../errors.js';
import { MAX_ERRORS } from '../constants.js';
import { classifyPgError, gatewayErrorOf, withRetries } from './pg-errors.js';
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
  /**
   * How long spans whose run another transaction holds are retried (from when they were first deferred)
   * before their request is answered unavailable (503 / UNAVAILABLE, Retry-After).
   */
  runLockWaitMs?: number;
  /** write one batch in one transaction */
  write: (items: PreparedSpan[]) => Promise<WriteOutcome>;
  onBatch?: (info: { spans: number; requests: number; ms: number; ok: boolean }) => void;
}

/** One submitted request: resolved once every span of it is committed or rejected. */
interface Request {
  resolve: (r: SubmitResult) => void;
  reject: (e: unknown) => void;
  /** spans neither committed, rejected nor given up yet */
  open: number;
  rejected: number;
  errors: string[];
  failed: boolean;
  /** performance.now() when spans of this request were first deferred (their run was locked) */
  deferredSince: number | null;
}

/** Spans of one request waiting in the queue or being written together. */
interface Chunk {
  req: Request;
  items: PreparedSpan[];
  /** not written before this performance.now() (a deferred chunk's back-off) */
  notBefore: number;
  /** times this chunk's spans were deferred */
  deferrals: number;
}

/** Back-off of deferred spans: 10 ms doubling to 200 ms (a writer's transaction takes ~10–100 ms). */
const deferralDelayMs = (deferrals: number) => Math.min(200, 10 * 2 ** Math.min(deferrals, 5));

const DEFAULT_RUN_LOCK_WAIT_MS = 3000;

export class Batcher {
  private queue: Chunk[] = [];
  private held = 0; // queued + in-flight spans
  private active = 0;
  private queuedSpans = 0; // spans in this.queue
  private newestBatch = 0; // spans of the batch started last
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private wake: NodeJS.Timeout | null = null;

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
      const req: Request = { resolve, reject, open: items.length, rejected: 0, errors: [], failed: false, deferredSince: null };
      this.queue.push({ req, items, notBefore: 0, deferrals: 0 });
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
   * ones), while two of them still overlap the gateway's work with the database's. Deferred chunks wait
   * out their back-off first.
   */
  private pump(): void {
    while (this.active < this.opts.writers && this.queue.length > 0) {
      const now = performance.now();
      let ready = 0;
      let nextWake = Infinity;
      for (const c of this.queue) {
        if (c.notBefore <= now) ready += c.items.length;
        else nextWake = Math.min(nextWake, c.notBefore);
      }
      if (ready === 0) return this.wakeAt(nextWake - now);
      if (this.active > 0 && ready < Math.min(this.opts.batchMaxSpans, this.newestBatch)) return;
      const batch: Chunk[] = [];
      let spans = 0;
      const rest: Chunk[] = [];
      for (const c of this.queue) {
        if (c.req.failed) { this.queuedSpans -= c.items.length; this.release(c.req, c.items.length); continue; }
        if (c.notBefore > now || (batch.length > 0 && spans + c.items.length > this.opts.batchMaxSpans)) { rest.push(c); continue; }
        batch.push(c);
        spans += c.items.length;
      }
      this.queue = rest;
      if (batch.length === 0) continue;
      this.active++;
      this.queuedSpans -= spans;
      this.newestBatch = spans;
      void this.run(batch, spans);
    }
  }

  private wakeAt(ms: number): void {
    if (this.wake !== null || !Number.isFinite(ms)) return;
    this.wake = setTimeout(() => { this.wake = null; this.pump(); }, Math.max(1, ms));
  }

  private async run(batch: Chunk[], spans: number): Promise<void> {
    const t0 = performance.now();
    const ok = await this.writeGroup(batch);
    this.opts.onBatch?.({ spans, requests: batch.length, ms: performance.now() - t0, ok });
    this.active--;
    this.pump();
  }

  /**
   * Write chunks together; settles each chunk as soon as its spans are written. A data error writes the
   * chunks one by one, settling those without the culprit at once, then isolates the culprit span(s) by
   * bisection (so a request that did nothing wrong does not wait for the bisection of another).
   */
  private async writeGroup(batch: Chunk[]): Promise<boolean> {
    const items = batch.length === 1 ? batch[0]!.items : batch.flatMap((c) => c.items);
    try {
      this.settleWritten(batch, await this.writeRetrying(items));
      return true;
    } catch (e) {
      if (classifyPgError(e) !== 'data') {
        const error = this.toGatewayError(e);
        for (const c of batch) this.fail(c, error);
        return false;
      }
    }
    const culprits: Chunk[] = [];
    for (const c of batch) {
      if (batch.length === 1) { culprits.push(c); break; }
      try {
        this.settleWritten([c], await this.writeRetrying(c.items));
      } catch (e) {
        if (classifyPgError(e) === 'data') culprits.push(c);
        else this.fail(c, this.toGatewayError(e));
      }
    }
    for (const c of culprits) {
      try {
        const r = await this.bisect(c.items);
        c.req.rejected += r.rejected;
        if (c.req.errors.length < MAX_ERRORS) c.req.errors.push(...r.errors.slice(0, MAX_ERRORS - c.req.errors.length));
        this.settleWritten([c], { inserted: 0, duplicates: 0, deferred: r.deferred });
      } catch (e) {
        this.fail(c, this.toGatewayError(e));
      }
    }
    return false;
  }

  /** Chunks written: every span is committed (or, after a bisection, refused) except the deferred ones. */
  private settleWritten(chunks: Chunk[], out: WriteOutcome): void {
    const deferred = out.deferred !== undefined && out.deferred.length > 0 ? new Set(out.deferred) : null;
    for (const c of chunks) {
      const later = deferred === null ? [] : c.items.filter((m) => deferred.has(m));
      this.release(c.req, c.items.length - later.length);
      if (later.length > 0) this.defer(c, later);
    }
  }

  /** Spans whose run another transaction holds: tried again after a back-off, until runLockWaitMs. */
  private defer(c: Chunk, items: PreparedSpan[]): void {
    const now = performance.now();
    const req = c.req;
    req.deferredSince ??= now;
    if (req.failed || now - req.deferredSince > (this.opts.runLockWaitMs ?? DEFAULT_RUN_LOCK_WAIT_MS)) {
      return this.fail({ ...c, items }, new GatewayError('unavailable',
        `run ${items[0]!.span.traceId} is locked by another transaction; retry later`, this.opts.retryAfterSeconds));
    }
    const deferrals = c.deferrals + 1;
    this.queue.unshift({ req, items, notBefore: now + deferralDelayMs(deferrals), deferrals });
    this.queuedSpans += items.length;
  }

  /** A chunk's spans are given up: its request fails (once) with `error`. */
  private fail(c: Chunk, error: GatewayError): void {
    const first = !c.req.failed;
    c.req.failed = true;
    this.release(c.req, c.items.length);
    if (first) c.req.reject(error);
  }

  /**
   * `n` spans of a request leave the queue's capacity; the request resolves once none is open. Capacity
   * is released before acknowledging, so a client that was acked can submit again at once.
   */
  private release(req: Request, n: number): void {
    this.held -= n;
    req.open -= n;
    if (req.open === 0 && !req.failed) req.resolve({ rejected: req.rejected, errors: req.errors.slice(0, MAX_ERRORS) });
    if (this.held === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Split a request until the spans PostgreSQL refuses are isolated; store the rest. */
  private async bisect(items: PreparedSpan[]): Promise<SubmitResult & { deferred: PreparedSpan[] }> {
    try {
      const out = await this.writeRetrying(items);
      return { rejected: 0, errors: [], deferred: out.deferred ?? [] };
    } catch (e) {
      if (classifyPgError(e) !== 'data') throw e;
      if (items.length === 1) {
        const s = items[0]!.span;
        return { rejected: 1, errors: [`span ${s.spanId} of trace ${s.traceId} refused by the database: ${(e as Error).message}`], deferred: [] };
      }
      const mid = items.length >> 1;
      const a = await this.bisect(items.slice(0, mid));
      const b = await this.bisect(items.slice(mid));
      return { rejected: a.rejected + b.rejected, errors: [...a.errors, ...b.errors].slice(0, MAX_ERRORS), deferred: [...a.deferred, ...b.deferred] };
    }
  }

  /** Serialization failures and deadlocks are retried a few times before giving up (pg-errors.ts withRetries). */
  private writeRetrying(items: PreparedSpan[]): Promise<WriteOutcome> {
    return withRetries(() => this.opts.write(items));
  }

  /** The client's answer to a failed write: every database failure is 503 / UNAVAILABLE + Retry-After (pg-errors.ts). */
  private toGatewayError(e: unknown): GatewayError {
    return gatewayErrorOf(e, this.opts.retryAfterSeconds);
  }
}
