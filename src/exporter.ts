/**
 * PostgresSpanExporter: an OpenTelemetry SpanExporter writing straight into the ledger, in process,
 * through the same mapping and sink as the receivers (it joins the pipeline at the decoded stage).
 */
import type { SpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { AttributeValue, Attributes as OtelAttributes, HrTime } from '@opentelemetry/api';
import type pg from 'pg';
import { configFromEnv, type Config } from './config.js';
import { createPool } from './sink/index.js';
import { createIngest } from './ingest.js';
import { migrate } from './db/migrate.js';
import { createLogger, type Logger } from './log.js';
import type { Pipeline } from './pipeline.js';
import type { Batcher } from './sink/batcher.js';
import type { Attributes, DecodeResult, SpanRecord } from './otlp/types.js';
import { optionalString, sanitize, setAttr } from './otlp/values.js';

type Scalar = string | number | boolean | null;
const scalar = (x: unknown): Scalar => (typeof x === 'string' ? sanitize(x) : x === undefined ? null : (x as Scalar));

/** OTel attributes → ledger attributes, sanitised like the OTLP decoders do (NUL, lone surrogates). */
function attrs(a: OtelAttributes | undefined): Attributes {
  const out: Attributes = {};
  if (!a) return out;
  for (const k of Object.keys(a)) {
    const v = a[k] as AttributeValue | undefined;
    if (v === undefined) continue;
    setAttr(out, k, Array.isArray(v) ? (v as unknown[]).map(scalar) : scalar(v));
  }
  return out;
}

const ZERO_SPAN = /^0+$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

/** Why a span's ids cannot be stored (an odd IdGenerator), as the OTLP decoders reject them; null when fine. */
function idProblem(r: SpanRecord): string | null {
  if (!TRACE_ID.test(r.traceId) || ZERO_SPAN.test(r.traceId)) return 'invalid traceId';
  if (!SPAN_ID.test(r.spanId) || ZERO_SPAN.test(r.spanId)) return 'invalid spanId';
  if (r.parentSpanId !== null && !SPAN_ID.test(r.parentSpanId)) return 'invalid parentSpanId';
  return null;
}

/** HrTime → microseconds, floored like the OTLP decoders (nanos → micros). */
const micros = (t: HrTime) => t[0] * 1e6 + Math.floor(t[1] / 1000);

/** ReadableSpan → SpanRecord (the decoded stage). */
export function toSpanRecord(s: ReadableSpan, tenantId: string): SpanRecord {
  const ctx = s.spanContext();
  // sdk-trace-base 2.x: parentSpanContext; 1.x: parentSpanId
  const parent = s.parentSpanContext?.spanId ?? (s as { parentSpanId?: string }).parentSpanId;
  const resource = attrs(s.resource.attributes);
  return {
    // lowercase, as the OTLP decoders give them (an IdGenerator may produce uppercase hex)
    traceId: ctx.traceId.toLowerCase(),
    spanId: ctx.spanId.toLowerCase(),
    parentSpanId: parent && !ZERO_SPAN.test(parent) ? parent.toLowerCase() : null,
    name: sanitize(s.name),
    kind: s.kind + 1, // api SpanKind INTERNAL=0 → OTLP SPAN_KIND_INTERNAL=1
    startUs: micros(s.startTime),
    endUs: micros(s.endTime),
    statusCode: s.status.code,
    statusMessage: sanitize(s.status.message ?? ''),
    attributes: attrs(s.attributes),
    events: s.events.map((e) => ({ name: sanitize(e.name), timeUs: micros(e.time), attributes: attrs(e.attributes) })),
    links: s.links.map((l) => ({ traceId: l.context.traceId.toLowerCase(), spanId: l.context.spanId.toLowerCase(), attributes: attrs(l.attributes) })),
    resource,
    serviceName: typeof resource['service.name'] === 'string' ? (resource['service.name'] as string) : null,
    scopeName: optionalString(s.instrumentationScope.name),
    scopeVersion: optionalString(s.instrumentationScope.version),
    tenantId,
  };
}

export interface PostgresSpanExporterOptions {
  databaseUrl?: string;
  config?: Partial<Config>;
  /** apply migrations before the first export (default: the config's `migrate`, RUNLEDGER_MIGRATE, true) */
  migrate?: boolean;
  logger?: Logger;
}

export class PostgresSpanExporter implements SpanExporter {
  private readonly cfg: Config;
  private readonly pool: pg.Pool;
  private readonly batcher: Batcher;
  private readonly pipeline: Pipeline;
  /** the start-up migration; null when not (yet) done or when it failed (it is retried on the next export) */
  private ready: Promise<unknown> | null = null;
  private readonly migrateFirst: boolean;
  private pending = new Set<Promise<unknown>>();
  private stopped: Promise<void> | null = null;
  private readonly log: Logger;

  constructor(opts: PostgresSpanExporterOptions = {}) {
    const log = opts.logger ?? createLogger('warn');
    this.log = log;
    this.cfg = configFromEnv(process.env, { ...opts.config, ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}) });
    if (!this.cfg.databaseUrl) throw new Error('PostgresSpanExporter needs databaseUrl (or DATABASE_URL)');
    this.pool = createPool(this.cfg.databaseUrl, this.cfg, log);
    ({ batcher: this.batcher, pipeline: this.pipeline } = createIngest(this.cfg, this.pool, log, 0)); // prepares on the calling thread
    // opts.migrate, else the config's (RUNLEDGER_MIGRATE, config.migrate), which was ignored
    this.migrateFirst = opts.migrate ?? this.cfg.migrate;
    if (this.migrateFirst) void this.migrated();
  }

  /**
   * Migrations, once. A failure (database not reachable yet) is reported by the exports that waited for
   * it, never left as an unhandled rejection, and the next export tries again.
   */
  private migrated(): Promise<unknown> {
    if (!this.migrateFirst) return Promise.resolve();
    if (this.ready === null) {
      const p = migrate(this.cfg.databaseUrl!);
      this.ready = p;
      p.catch(() => { if (this.ready === p) this.ready = null; });
    }
    return this.ready;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) { // as the OTel exporters answer after shutdown: at once, not after a connection attempt
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('PostgresSpanExporter is shut down') });
      return;
    }
    const decoded: DecodeResult = { spans: [], rejected: 0, errors: [] };
    for (const s of spans) {
      const r = toSpanRecord(s, this.cfg.defaultTenant);
      const problem = idProblem(r);
      if (problem === null) decoded.spans.push(r);
      else { decoded.rejected++; decoded.errors.push(`span ${JSON.stringify(r.spanId)} of trace ${JSON.stringify(r.traceId)}: ${problem}`); }
    }
    const p = this.migrated()
      .then(() => this.pipeline.exportDecoded(decoded))
      .then(
        // A span not stored (invalid, or refused by PostgreSQL) fails the export: SUCCESS would tell the
        // SDK and its user that every span is in the ledger. The others are stored; a retry changes nothing.
        (out) => {
          // stored, with a warning (a span ending before it started is stored ending at its start): said, not failed
          if (out.rejected === 0 && out.message) this.log.warn('spans stored with an adjustment', { detail: out.message });
          resultCallback(out.rejected === 0
            ? { code: ExportResultCode.SUCCESS }
            : { code: ExportResultCode.FAILED, error: new Error(`${out.rejected} of ${spans.length} span(s) not stored: ${out.message}`) });
        },
        (error: Error) => resultCallback({ code: ExportResultCode.FAILED, error }),
      );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Once: a second call (the provider's, then the user's) waits for the first instead of failing on the closed pool. */
  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      await this.forceFlush();
      await this.batcher.drain();
      await this.pool.end();
    })();
    return this.stopped;
  }
}
