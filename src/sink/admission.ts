/**
 * Admission of request bodies: one byte budget for the bodies being received, decompressed and decoded,
 * counted as the bytes arrive or are produced (never as a client declares them), shared fairly between
 * holders (a tenant; without API keys, a connection). So memory held for bodies stays bounded however
 * many clients send, and slow or greedy clients cannot make the others wait or 429.
 *
 * The rule, with B the budget and S the share (RUNLEDGER_ADMISSION_SHARE_PERCENT of B): a holder may always
 * take bytes up to its guaranteed part G = min(S, B/4) while the budget has them free; beyond G, only as
 * long as R = min(B/4, B − S) of the budget stays free for the others, and never beyond S. So greedy holders
 * together hold at most B − R, and the others always find R for bodies within their guaranteed part.
 */
import { GatewayError } from '../errors.js';

/**
 * The budget is this many bytes per span of queue capacity (RUNLEDGER_QUEUE_MAX_SPANS): ~1 KB protobuf
 * GenAI spans, so about one queue's worth of spans being received and decoded at a time.
 */
export const ADMISSION_BYTES_PER_QUEUED_SPAN = 1024;

/**
 * Every admitted body holds this much beyond the bytes counted for it: the chunk that arrives before it
 * can be counted (socket reads are at most 64 KiB; an HTTP/2 stream's receive window is 64 KiB), and the
 * decompressor's output chunk. It also bounds the bodies in flight to budget / 64 KiB.
 */
export const ADMISSION_SLOT_BYTES = 64 * 1024;

/**
 * Encoded rows of queued spans may take this many bytes per span of queue capacity (Pipeline.store): a
 * GenAI span's rows take ~2 KiB (buffer capacity), so this binds only on requests of unusually large spans.
 */
export const QUEUED_BYTES_PER_SPAN = 4096;

/** Small queues (tests, tiny deployments) still get room for 16 slots. */
export const ADMISSION_MIN_BUDGET_BYTES = 16 * ADMISSION_SLOT_BYTES;

/** The admission budget B of a configuration: 1 KiB × RUNLEDGER_QUEUE_MAX_SPANS, at least 1 MiB. */
export function admissionBudgetBytes(queueMaxSpans: number): number {
  return Math.max(ADMISSION_MIN_BUDGET_BYTES, queueMaxSpans * ADMISSION_BYTES_PER_QUEUED_SPAN);
}

export interface AdmissionOptions {
  /** bytes of request bodies in flight at most (all holders) */
  budgetBytes: number;
  /** percent of the budget one holder may hold */
  sharePercent: number;
  retryAfterSeconds: number;
  /** why no body may be admitted now (queue full → queue_full, shutting down → unavailable), or null */
  refusal?: () => GatewayError | null;
  slotBytes?: number;
}

/** A request body's place in the budget, from before its first byte is read until it is decoded or refused. */
export interface Admission {
  /**
   * Count `n` more bytes (arrived, or produced by decompression) before keeping them. Throws queue_full
   * (429 / RESOURCE_EXHAUSTED) when the budget or the holder's share cannot take them now, and
   * payload_too_large (413) when this body alone would exceed what one holder may hold.
   */
  grow(n: number): void;
  /** Count exactly `n` bytes from now on, for bytes already in memory (e.g. once a compressed form is dropped). */
  resize(n: number): void;
  /** Give the bytes back (idempotent). */
  release(): void;
  /** bytes counted for the body (the slot aside) */
  readonly bytes: number;
}

export class AdmissionBudget {
  readonly budgetBytes: number;
  /** bytes one holder may hold, slots included (S) */
  readonly shareBytes: number;
  /** bytes a holder may take whatever the others hold, when free (G) */
  readonly guaranteedBytes: number;
  /** bytes kept free for the others when a holder goes beyond its guaranteed part (R) */
  readonly reserveBytes: number;
  readonly slotBytes: number;
  readonly retryAfterSeconds: number;
  private total = 0;
  private readonly held = new Map<string, number>();

  constructor(private readonly opts: AdmissionOptions) {
    this.budgetBytes = opts.budgetBytes;
    this.slotBytes = opts.slotBytes ?? ADMISSION_SLOT_BYTES;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.shareBytes = Math.max(2 * this.slotBytes, Math.floor((opts.budgetBytes * opts.sharePercent) / 100));
    this.guaranteedBytes = Math.min(this.shareBytes, Math.floor(opts.budgetBytes / 4));
    this.reserveBytes = Math.max(0, Math.min(Math.floor(opts.budgetBytes / 4), opts.budgetBytes - this.shareBytes));
  }

  /** The most bytes one body may be counted for: larger ones are refused with 413 (they would never fit). */
  get maxBodyBytes(): number { return this.shareBytes - this.slotBytes; }

  /** bytes of bodies admitted and not released (slots included) */
  get admittedBytes(): number { return this.total; }

  /** bytes a holder holds now (slots included) */
  heldBy(holder: string): number { return this.held.get(holder) ?? 0; }

  /**
   * Admit a body before reading it. `declared` (a Content-Length, a gRPC message prefix) is never
   * reserved: a body is counted only as its bytes arrive. It only refuses early: with 413 when it exceeds
   * what one holder may ever hold, with 429 when it does not fit in what is free right now (rather than
   * reading the body and refusing it halfway).
   */
  admit(holder: string, declared?: number): Admission {
    const d = declared !== undefined && Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
    if (d > this.maxBodyBytes) throw this.tooLarge(d); // never taken: not worth a retry
    const refusal = this.opts.refusal?.();
    if (refusal) throw refusal;
    this.check(holder, this.slotBytes + d);
    this.add(holder, this.slotBytes);
    let bytes = 0;
    let done = false;
    return {
      grow: (n) => {
        if (done || n <= 0) return;
        if (bytes + n > this.maxBodyBytes) throw this.tooLarge(bytes + n);
        this.check(holder, n);
        this.add(holder, n);
        bytes += n;
      },
      resize: (n) => {
        if (done) return;
        this.add(holder, n - bytes);
        bytes = n;
      },
      release: () => {
        if (done) return;
        done = true;
        this.add(holder, -(this.slotBytes + bytes));
      },
      get bytes() { return bytes; },
    };
  }

  private check(holder: string, n: number): void {
    if (this.total + n > this.budgetBytes) {
      throw new GatewayError('queue_full', `ingest queue is full (${this.total} bytes of request bodies being received or decoded)`,
        this.opts.retryAfterSeconds);
    }
    const mine = this.heldBy(holder);
    if (mine + n > this.shareBytes) {
      throw new GatewayError('queue_full', `too many request bodies in flight for this client (${mine} bytes; its share is ${this.shareBytes})`,
        this.opts.retryAfterSeconds);
    }
    if (mine + n > this.guaranteedBytes && this.budgetBytes - (this.total + n) < this.reserveBytes) {
      throw new GatewayError('queue_full', `too many request bodies in flight for this client (${mine} bytes) while others need room`,
        this.opts.retryAfterSeconds);
    }
  }

  private add(holder: string, n: number): void {
    this.total += n;
    const v = this.heldBy(holder) + n;
    if (v > 0) this.held.set(holder, v);
    else this.held.delete(holder);
  }

  private tooLarge(n: number): GatewayError {
    return new GatewayError('payload_too_large', `request body needs ${n} bytes or more in flight (compressed and decompressed `
      + `together), more than the ${this.maxBodyBytes} one request may hold; send smaller batches`);
  }
}

/** The settings the memory bound and the decode allowance depend on. */
export interface MemoryConfig { queueMaxSpans: number; admissionSharePercent: number; maxBodyBytes: number; prepareWorkers: number }

/**
 * What one decode (decode → map → encode of one request body, in a prepare worker) may take: this many times
 * L, the largest body one request may hold. Bodies estimated to take more are refused with 413 before they
 * are decoded (otlp/decode-cost.ts), and a prepare worker's old generation is limited to it (worker/pool.ts).
 */
export const DECODE_BYTES_PER_LARGEST_BODY_BYTE = 30;

/** L: the largest body one request may hold (compressed and decompressed bytes together). */
export function largestBodyBytes(cfg: MemoryConfig): number {
  const budget = new AdmissionBudget({ budgetBytes: admissionBudgetBytes(cfg.queueMaxSpans), sharePercent: cfg.admissionSharePercent, retryAfterSeconds: 1 });
  return Math.min(cfg.maxBodyBytes, budget.maxBodyBytes);
}

/** The memory one decode may take, 30·L. */
export function decodeAllowanceBytes(cfg: MemoryConfig): number {
  return DECODE_BYTES_PER_LARGEST_BODY_BYTE * largestBodyBytes(cfg);
}

/**
 * The gateway's RSS bound for a configuration, in MB, as README "Memory" documents it:
 *
 *   RSS ≤ 250 MB + 2·B + 5 KiB·Q + W·30·L
 *
 * Q = RUNLEDGER_QUEUE_MAX_SPANS; B = the admission budget (bodies in flight, counted exactly; as much again
 * for released bodies the GC has not collected yet); 5 KiB a queued span (its rows, at most 4 KiB a span
 * on average, and its ~1 KiB of objects); W = prepare workers (at least 1: the main thread decodes when
 * there are none), each decoding one body at a time; L = the largest body one request may hold. 30·L is what
 * one decode may take (decodeAllowanceBytes): bodies estimated to take more are refused before decoding, and
 * each worker's old generation is limited to it besides its own 32 MB (worker/pool.ts), so the garbage of decodes one after
 * another is collected instead of piling up. 250 MB: the process (~95 MB idle), its pools, V8 heaps and the
 * garbage they hold before collecting it under load (refused bodies read and dropped, released ones).
 */
export function memoryBoundMb(cfg: MemoryConfig): number {
  const MiB = 1024 * 1024;
  const budget = admissionBudgetBytes(cfg.queueMaxSpans);
  const bytes = 2 * budget + 5 * 1024 * cfg.queueMaxSpans + Math.max(1, cfg.prepareWorkers) * decodeAllowanceBytes(cfg);
  return 250 + bytes / MiB;
}
