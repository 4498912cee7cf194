/**
 * The one consumer path shared by every way spans come in (HTTP, gRPC, in-process exporter):
 * decode → map → encode (in worker threads when configured) → bounded batcher → committed.
 * Resolves only once the spans are in PostgreSQL. Logs requests take the same admission and preparation,
 * then their own writer (one transaction per request).
 */
import type { DecodeResult } from './otlp/types.js';
import type { SpanMapper } from './mapping/index.js';
import type { Batcher } from './sink/batcher.js';
import { AdmissionBudget, QUEUED_BYTES_PER_SPAN, admissionBudgetBytes, type Admission } from './sink/admission.js';
import { OtlpDecodeError } from './otlp/errors.js';
import { GatewayError } from './errors.js';
import { MAX_ERRORS } from './constants.js';
import type { PreparePool } from './worker/pool.js';
import type { Metrics, Transport } from './metrics.js';
import { prepareBody, prepareDecoded, type Encoding, type PreparedRequest } from './worker/prepare.js';
import type { PreparedSpan } from './sink/prepare.js';
import type { PreparedLogs } from './sink/log-rows.js';
import { prepareLogsBody } from './worker/prepare-logs.js';
import type { OtlpSignal } from './otlp/response.js';
import { countJsonDataPoints, countProtoDataPoints } from './otlp/span-count.js';

export type { Encoding } from './worker/prepare.js';

export interface ExportOutcome {
  /** spans not stored, reported in partial_success.rejected_spans */
  rejected: number;
  /** partial_success.error_message; empty on full success */
  message: string;
}

/** Where a logs request's records go (sink/logs-writer.ts behind the gateway's pool). */
export interface LogsStore {
  /** Store one request's records (committed when it resolves); records PostgreSQL refuses are rejected alone. */
  write(p: PreparedLogs): Promise<{ rejected: number; errors: string[] }>;
}

export interface PipelineParts {
  mapper: SpanMapper;
  batcher: Batcher;
  /** prepare worker threads (null: prepare on the calling thread) */
  pool?: PreparePool | null;
  metrics?: Metrics | null;
  /** spans one request may carry (protobuf requests beyond it are refused before decoding) */
  maxSpans?: number;
  /** what decoding one request may take (bytes; bodies estimated to take more are refused before decoding) */
  maxDecodeBytes?: number;
  /** the logs signal (null: logs requests are refused) */
  logs?: LogsStore | null;
  /** request bodies being received and decoded (default: a budget for maxSpans, no per-holder share) */
  admission?: AdmissionBudget;
}

export class Pipeline {
  private readonly mapper: SpanMapper;
  private readonly batcher: Batcher;
  private readonly pool: PreparePool | null;
  private readonly metrics: Metrics | null;
  private readonly maxSpans: number;
  private readonly maxDecodeBytes: number;
  private readonly logs: LogsStore | null;
  /** request bodies being received and decoded (the receivers admit a body before reading it) */
  readonly admission: AdmissionBudget;
  /** bytes of encoded rows of the requests (spans or log records) queued or being written */
  private queuedBytes = 0;
  readonly maxQueuedBytes: number;

  constructor(parts: PipelineParts) {
    this.mapper = parts.mapper;
    this.batcher = parts.batcher;
    this.pool = parts.pool ?? null;
    this.metrics = parts.metrics ?? null;
    this.maxSpans = parts.maxSpans ?? Infinity;
    this.maxDecodeBytes = parts.maxDecodeBytes ?? Infinity;
    this.logs = parts.logs ?? null;
    const batcher = parts.batcher;
    this.admission = parts.admission ?? new AdmissionBudget({
      budgetBytes: admissionBudgetBytes(this.maxSpans), sharePercent: 100, retryAfterSeconds: 1,
      refusal: () => batcher.refusal() ?? this.refusal(),
    });
    this.maxQueuedBytes = QUEUED_BYTES_PER_SPAN * this.maxSpans;
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
        : prepareBody(body, encoding, tenantId, this.mapper, this.maxSpans, this.maxDecodeBytes);
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
   * Decode an ExportLogsServiceRequest body and store its records with trace context (the others are
   * acknowledged and counted). Malformed → invalid_argument.
   */
  async exportLogsBody(body: Uint8Array, encoding: Encoding, tenantId: string, transport?: Transport, admission?: Admission): Promise<ExportOutcome> {
    if (!this.logs) throw new GatewayError('not_found', 'this gateway does not take logs');
    let prepared: PreparedLogs;
    const admitted = admission ?? this.admission.admit(tenantId);
    try {
      if (admission) admitted.resize(body.length);
      else admitted.grow(body.length);
      prepared = this.pool ? await this.pool.runLogs(body, encoding, tenantId) : prepareLogsBody(body, encoding, tenantId, this.maxDecodeBytes);
    } catch (e) {
      if (e instanceof OtlpDecodeError) {
        throw new GatewayError('invalid_argument', `malformed ${encoding === 'proto' ? 'protobuf' : 'JSON'} ExportLogsServiceRequest: ${e.message}`);
      }
      throw e;
    } finally {
      admitted.release();
    }
    if (transport) this.metrics?.logRecordsReceived(transport, prepared.items.length + prepared.rejected + prepared.untraced);
    this.metrics?.logRecordsUntraced(prepared.untraced);
    const stored = await this.queued(prepared.buffers, () => this.logs!.write(prepared));
    this.metrics?.logRecordsRejected(prepared.rejected + stored.rejected);
    const rejected = prepared.rejected + stored.rejected;
    const errors = [...prepared.errors, ...stored.errors];
    return { rejected, message: rejected === 0 ? '' : `${rejected} log record(s) rejected: ${errors.slice(0, MAX_ERRORS).join('; ')}` };
  }

  /**
   * An ExportMetricsServiceRequest: runledger keeps no metrics. The request is answered as a partial success
   * that rejects every data point and says why (counted in runledger_metric_points_dropped_total): an SDK
   * whose metrics exporter points here by default (OTEL_EXPORTER_OTLP_ENDPOINT set for all signals) logs
   * that once per export and drops them, instead of retrying them or failing its traces' exports.
   * Malformed → invalid_argument.
   */
  async exportMetricsBody(body: Uint8Array, encoding: Encoding, _tenantId: string, transport?: Transport, admission?: Admission): Promise<ExportOutcome> {
    let points: number;
    try {
      if (encoding === 'proto') points = countProtoDataPoints(body);
      else {
        let doc: unknown;
        try {
          doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
        } catch (e) {
          throw new GatewayError('invalid_argument', `malformed JSON ExportMetricsServiceRequest: ${(e as Error).message}`);
        }
        if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
          throw new GatewayError('invalid_argument', 'malformed JSON ExportMetricsServiceRequest: not an object');
        }
        points = countJsonDataPoints(doc);
      }
    } finally {
      admission?.release();
    }
    if (transport) this.metrics?.metricPointsDropped(transport, points);
    return {
      rejected: points,
      message: points === 0 ? '' : `runledger stores traces and logs, not metrics: ${points} data point(s) dropped ` +
        '(set OTEL_METRICS_EXPORTER=none, or send metrics elsewhere, to stop sending them)',
    };
  }

  /** The export of one request of `signal` (the receivers' one entry). */
  export(signal: OtlpSignal, body: Uint8Array, encoding: Encoding, tenantId: string, transport?: Transport, admission?: Admission): Promise<ExportOutcome> {
    if (signal === 'logs') return this.exportLogsBody(body, encoding, tenantId, transport, admission);
    if (signal === 'metrics') return this.exportMetricsBody(body, encoding, tenantId, transport, admission);
    return this.exportBody(body, encoding, tenantId, transport, admission);
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
    return new GatewayError('queue_full', `ingest queue is full (${this.queuedBytes} bytes of spans and log records pending)`, this.admission.retryAfterSeconds);
  }

  /**
   * The queue holds at most queueMaxSpans spans (Batcher) and, here, QUEUED_BYTES_PER_SPAN × queueMaxSpans
   * bytes of encoded rows (spans and log records alike): ~2 KiB a GenAI span, so only requests of unusually
   * large spans meet it, and a full queue of them stays bounded too. A request is still taken when nothing
   * else is queued.
   */
  private async queued<T>(buffers: readonly ArrayBufferLike[], write: () => Promise<T>): Promise<T> {
    let bytes = 0;
    for (const b of buffers) bytes += b.byteLength;
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > this.maxQueuedBytes) {
      throw new GatewayError('queue_full', `ingest queue is full (${this.queuedBytes} bytes of spans and log records pending)`, this.admission.retryAfterSeconds);
    }
    this.queuedBytes += bytes;
    try {
      return await write();
    } finally {
      this.queuedBytes -= bytes;
    }
  }

  private async store(p: PreparedRequest): Promise<ExportOutcome> {
    const stored = await this.queued(p.buffers, () => this.batcher.submit(p.items));
    if (this.metrics) this.metrics.unpricedCalls(unpricedByModel(p.items));
    // Counted as the client is told (partial_success): a failed request is retried whole.
    this.metrics?.spansRejected('invalid', p.rejected);
    this.metrics?.spansRejected('database', stored.rejected);
    const rejected = p.rejected + stored.rejected;
    const errors = [...p.errors, ...stored.errors];
    const parts: string[] = [];
    if (rejected !== 0) parts.push(`${rejected} span(s) rejected: ${errors.slice(0, MAX_ERRORS).join('; ')}`);
    // OTLP: a message with rejected 0 is a warning; the spans are stored.
    if (p.adjusted !== 0) parts.push(`${p.adjusted} span(s) stored ending at their start time: ${p.warnings.join('; ')}`);
    return { rejected, message: parts.join('. ') };
  }
}

/**
 * Nodes with token counts but no cost, by model_name: the calls the price sources did not cover (a reported
 * cost or a price gives a cost). Read from the fields the prepare workers already send (no extra transfer).
 */
export function unpricedByModel(items: readonly PreparedSpan[]): Map<string | null, number> {
  const out = new Map<string | null, number>();
  for (const { node: n } of items) {
    if (n === null || n.totalCost !== null) continue;
    if (n.inputTokens === null && n.outputTokens === null && n.cacheReadTokens === null && n.cacheWriteTokens === null &&
      n.reasoningTokens === null) continue;
    out.set(n.modelName, (out.get(n.modelName) ?? 0) + 1);
  }
  return out;
}
