/**
 * The one consumer path shared by every way spans come in (HTTP, gRPC, in-process exporter):
 * decode → map → encode (in worker threads when configured) → bounded batcher → committed.
 * Resolves only once the spans are in PostgreSQL.
 */
import type { DecodeResult } from './otlp/types.js';
import type { SpanMapper } from './mapping/index.js';
import type { Batcher } from './sink/batcher.js';
import { AdmissionBudget, QUEUED_BYTES_PER_SPAN, admissionBudgetBytes, type Admission } from './sink/admission.js';
import { OtlpDecodeError } from './otlp/errors.js';
import { GatewayError } from './errors.js';
import type { PreparePool } from './worker/pool.js';
import type { Metrics, Transport } from './metrics.js';
import { prepareBody, prepareDecoded, type Encoding, type PreparedRequest } from './worker/prepare.js';

export type { Encoding } from './worker/prepare.js';

export interface ExportOutcome {
  /** spans not stored, reported in partial_success.rejected_spans */
  rejected: number;
  /** partial_success.error_message; empty on full success */
  message: string;
}

export class Pipeline {
  /** request bodies being received and decoded (the receivers admit a body before reading it) */
  readonly admission: AdmissionBudget;
  /** bytes of encoded rows of the requests queued or being written */
  private queuedBytes = 0;
  readonly maxQueuedBytes: number;

  constructor(
    private readonly mapper: SpanMapper,
    private readonly batcher: Batcher,
    private readonly pool: PreparePool | null = null,
    private readonly metrics: Metrics | null = null,
    /** spans one request may carry (protobuf requests beyond it are refused before decoding) */
    private readonly maxSpans = Infinity,
    admission?: AdmissionBudget,
  ) {
    this.admission = admission ?? new AdmissionBudget({
      budgetBytes: admissionBudgetBytes(maxSpans), sharePercent: 100, retryAfterSeconds: 1, refusal: () => batcher.refusal() ?? this.refusal(),
    });
    this.maxQueuedBytes = QUEUED_BYTES_PER_SPAN * maxSpans;
  }

  /**
   * Decode an ExportTraceServiceRequest body and store it. Malformed → invalid_argument. The receivers
   * pass the admission they took before reading the body; it counts the body (now decompressed) until
   * it is decoded.
   */
  async exportBody(body: Uint8Array, encoding: Encoding, tenantId: string, transport?: Transport, admission?: Admission): Promise<ExportOutcome> {
    let prepared: PreparedRequest;
    const admitted = admission ?? this.admission.admit(tenantId);
    try {
      if (admission) admitted.resize(body.length);
      else admitted.grow(body.length); // a body handed over whole: counted (or refused) now
      prepared = this.pool
        ? await this.pool.run(body, encoding, tenantId)
        : prepareBody(body, encoding, tenantId, this.mapper, this.maxSpans);
    } catch (e) {
      if (e instanceof OtlpDecodeError) {
        throw new GatewayError('invalid_argument', `malformed ${encoding === 'proto' ? 'protobuf' : 'JSON'} ExportTraceServiceRequest: ${e.message}`);
      }
      throw e;
    } finally {
      admitted.release();
    }
    if (transport) this.metrics?.spansReceived(transport, prepared.items.length + prepared.rejected);
    return this.store(prepared);
  }

  /**
   * Admit a body before reading it, for `holder` (a tenant, or a connection without API keys); `declared`
   * only refuses early. Throws queue_full / payload_too_large / unavailable.
   */
  admit(holder: string, declared?: number): Admission {
    return this.admission.admit(holder, declared);
  }

  /** Store already decoded spans (the in-process exporter joins here). */
  exportDecoded(decoded: DecodeResult): Promise<ExportOutcome> {
    return this.store(prepareDecoded(decoded, this.mapper));
  }

  /** Why no body should be read now because of the queue's bytes (src/sink/admission.ts asks), or null. */
  refusal(): GatewayError | null {
    if (this.queuedBytes < this.maxQueuedBytes) return null;
    return new GatewayError('queue_full', `ingest queue is full (${this.queuedBytes} bytes of spans pending)`, this.admission.retryAfterSeconds);
  }

  /**
   * The queue holds at most queueMaxSpans spans (Batcher) and, here, QUEUED_BYTES_PER_SPAN × queueMaxSpans
   * bytes of their encoded rows: ~2 KiB a GenAI span, so only requests of unusually large spans meet it,
   * and a full queue of them stays bounded too. A request is still taken when nothing else is queued.
   */
  private async store(p: PreparedRequest): Promise<ExportOutcome> {
    let bytes = 0;
    for (const b of p.buffers) bytes += b.byteLength;
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > this.maxQueuedBytes) {
      throw new GatewayError('queue_full', `ingest queue is full (${this.queuedBytes} bytes of spans pending)`, this.admission.retryAfterSeconds);
    }
    this.queuedBytes += bytes;
    let stored: Awaited<ReturnType<Batcher['submit']>>;
    try {
      stored = await this.batcher.submit(p.items);
    } finally {
      this.queuedBytes -= bytes;
    }
    // Counted as the client is told (partial_success): a failed request is retried whole.
    this.metrics?.spansRejected('invalid', p.rejected);
    this.metrics?.spansRejected('database', stored.rejected);
    const rejected = p.rejected + stored.rejected;
    const errors = [...p.errors, ...stored.errors];
    return {
      rejected,
      message: rejected === 0 ? '' : `${rejected} span(s) rejected: ${errors.slice(0, 5).join('; ')}`,
    };
  }
}
