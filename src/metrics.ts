/**
 * Prometheus metrics of one gateway, in its own prom-client Registry (never the global one, so
 * several gateways can live in one process). Exposed as GET /metrics on the OTLP/HTTP port.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WriteOutcome } from './sink/writer.js';

import type { OtlpSignal } from './otlp/response.js';

export type Transport = 'http' | 'grpc';
export type RejectReason = 'invalid' | 'database';

const TRANSPORTS: readonly Transport[] = ['http', 'grpc'];
const REASONS: readonly RejectReason[] = ['invalid', 'database'];
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SPANS = [1, 4, 16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384];
/** Distinct model labels of runledger_unpriced_calls_total; later models count as "other" (bounded series). */
export const MAX_MODEL_LABELS = 100;

export interface MetricsOptions {
  /** also collect prom-client's default Node.js process metrics (process_*, nodejs_*) */
  defaultMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  /** batcher depth (queued + in-flight spans), read at scrape time */
  queueDepth: () => number = () => 0;
  /**
   * whether runledger_unpriced_calls_total may name models: not while API keys are on (the gateway sets it).
   * /metrics answers without a key, and a model name is a tenant's value (a private fine-tune's id names its
   * owner and project): with several tenants every unpriced call counts as model "hidden" (the names are in
   * runledger.unpriced_models, per tenant).
   */
  namesModels: () => boolean = () => true;

  private readonly received: Counter<'transport'>;
  private readonly stored: Counter;
  private readonly duplicates: Counter;
  private readonly rejected: Counter<'reason'>;
  private readonly requests: Counter<'transport' | 'signal' | 'code'>;
  private readonly dbUp: Gauge;
  private readonly batchSpans: Histogram;
  private readonly writeSeconds: Histogram;
  private readonly requestSeconds: Histogram<'transport'>;
  private readonly unpriced: Counter<'model'>;
  private readonly logs: Counter<'transport'>;
  private readonly logsStored: Counter;
  private readonly logsUntraced: Counter;
  private readonly logsRejected: Counter;
  private readonly metricPoints: Counter<'transport'>;
  private readonly unpricedModels = new Set<string>();

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    this.received = new Counter({
      name: 'runledger_spans_received_total', help: 'Spans received in decoded export requests', labelNames: ['transport'], registers,
    });
    this.stored = new Counter({ name: 'runledger_spans_stored_total', help: 'Spans newly committed to the ledger', registers });
    this.duplicates = new Counter({
      name: 'runledger_spans_duplicate_total', help: 'Spans re-sent that were already stored (committed, nothing changed)', registers,
    });
    this.rejected = new Counter({
      name: 'runledger_spans_rejected_total',
      help: 'Spans rejected through partial_success: invalid (bad ids) or database (refused by PostgreSQL)',
      labelNames: ['reason'], registers,
    });
    this.requests = new Counter({
      name: 'runledger_requests_total',
      help: 'OTLP export requests by transport, signal (traces, logs, metrics) and response code (HTTP status or gRPC code name)',
      labelNames: ['transport', 'signal', 'code'], registers,
    });
    const self = this;
    new Gauge({
      name: 'runledger_queue_spans', help: 'Spans queued or being written (batcher depth)', registers,
      collect() { this.set(self.queueDepth()); },
    });
    this.dbUp = new Gauge({
      name: 'runledger_database_up', help: '1 when the last database write or readiness check succeeded, else 0', registers,
    });
    this.batchSpans = new Histogram({
      name: 'runledger_batch_spans', help: 'Spans per database transaction', buckets: SPANS, registers,
    });
    this.writeSeconds = new Histogram({
      name: 'runledger_write_seconds', help: 'Duration of one write transaction (COPY, rollups, commit)', buckets: SECONDS, registers,
    });
    this.requestSeconds = new Histogram({
      name: 'runledger_request_seconds', help: 'OTLP export request duration until the answer', labelNames: ['transport'], buckets: SECONDS, registers,
    });
    this.unpriced = new Counter({
      name: 'runledger_unpriced_calls_total',
      help: `Nodes received with token usage but no cost (no reported cost, no price for the model: add it to RUNLEDGER_PRICES_FILE), by model_name; "unknown" without a model, "other" past ${MAX_MODEL_LABELS} models, "hidden" while API keys are on (runledger.unpriced_models names them)`,
      labelNames: ['model'], registers,
    });
    this.logs = new Counter({
      name: 'runledger_log_records_received_total', help: 'Log records received in decoded export requests', labelNames: ['transport'], registers,
    });
    this.logsStored = new Counter({ name: 'runledger_log_records_stored_total', help: 'Log records newly committed to runledger.logs', registers });
    this.logsUntraced = new Counter({
      name: 'runledger_log_records_untraced_total',
      help: 'Log records without trace context: acknowledged, not stored (the ledger keeps the records of runs)', registers,
    });
    this.logsRejected = new Counter({
      name: 'runledger_log_records_rejected_total', help: 'Log records rejected through partial_success (bad ids, no time, refused by PostgreSQL)', registers,
    });
    this.metricPoints = new Counter({
      name: 'runledger_metric_points_dropped_total',
      help: 'Metric data points received and not stored (runledger stores traces and logs: answered as rejected through partial_success)',
      labelNames: ['transport'], registers,
    });
    // Series that exist from the start, so rates and alerts see zeros rather than gaps.
    for (const t of TRANSPORTS) { this.received.inc({ transport: t }, 0); this.logs.inc({ transport: t }, 0); this.metricPoints.inc({ transport: t }, 0); }
    for (const r of REASONS) this.rejected.inc({ reason: r }, 0);
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  spansReceived(transport: Transport, n: number): void {
    if (n > 0) this.received.inc({ transport }, n);
  }

  logRecordsReceived(transport: Transport, n: number): void {
    if (n > 0) this.logs.inc({ transport }, n);
  }

  logRecordsStored(n: number): void {
    if (n > 0) this.logsStored.inc(n);
  }

  logRecordsUntraced(n: number): void {
    if (n > 0) this.logsUntraced.inc(n);
  }

  logRecordsRejected(n: number): void {
    if (n > 0) this.logsRejected.inc(n);
  }

  metricPointsDropped(transport: Transport, n: number): void {
    if (n > 0) this.metricPoints.inc({ transport }, n);
  }

  spansRejected(reason: RejectReason, n: number): void {
    if (n > 0) this.rejected.inc({ reason }, n);
  }

  /** One committed transaction of `spans` spans. */
  written(spans: number, out: WriteOutcome, seconds: number): void {
    this.batchSpans.observe(spans);
    this.writeSeconds.observe(seconds);
    if (out.inserted > 0) this.stored.inc(out.inserted);
    if (out.duplicates > 0) this.duplicates.inc(out.duplicates);
    this.dbUp.set(1);
  }

  /** Calls without a price, by model (null: the node names none). */
  unpricedCalls(byModel: ReadonlyMap<string | null, number>): void {
    const named = this.namesModels();
    for (const [model, n] of byModel) {
      if (!named) {
        this.unpriced.inc({ model: 'hidden' }, n);
        continue;
      }
      let label = model ?? 'unknown';
      if (!this.unpricedModels.has(label)) {
        if (this.unpricedModels.size >= MAX_MODEL_LABELS) label = 'other';
        else this.unpricedModels.add(label);
      }
      this.unpriced.inc({ model: label }, n);
    }
  }

  databaseUp(ok: boolean): void {
    this.dbUp.set(ok ? 1 : 0);
  }

  request(transport: Transport, signal: OtlpSignal, code: string | number, seconds: number): void {
    this.requests.inc({ transport, signal, code: String(code) });
    this.requestSeconds.observe({ transport }, seconds);
  }

  /** The text exposition of every metric of this gateway. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
