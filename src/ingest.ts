/**
 * The ingest path without receivers: the sink (sink/index.ts), the prepare workers and the mapper in front of
 * it, joined by the pipeline. The gateway puts its receivers in front of this; the in-process exporter uses it
 * as it is (preparing on the calling thread).
 */
import type pg from 'pg';
import { ConfigError, type Config } from './config.js';
import type { Logger } from './log.js';
import { createMapper } from './mapping/index.js';
import { loadPriceTable } from './mapping/prices.js';
import { AdmissionBudget, admissionBudgetBytes, decodeAllowanceBytes } from './sink/admission.js';
import { createSink, type Sink } from './sink/index.js';
import { Pipeline } from './pipeline.js';
import { PreparePool } from './worker/pool.js';
import type { Metrics } from './metrics.js';

export interface Ingest extends Omit<Sink, 'logs'> {
  pipeline: Pipeline;
  /** resolves once the prepare workers have loaded (their price manifest) */
  ready: Promise<void>;
  /** stop the prepare workers (after the batcher drained) */
  close(): Promise<void>;
}

/**
 * The price table with RUNLEDGER_PRICES_FILE: a missing or invalid file is the user's configuration, reported as
 * such (one line naming the variable, exit 1), not as a crash with a stack trace.
 */
function priceTable(file: string | null): ReturnType<typeof loadPriceTable> {
  try {
    return loadPriceTable(file ?? undefined);
  } catch (e) {
    if (file === null) throw e; // the shipped manifest: not the user's doing
    throw new ConfigError(`RUNLEDGER_PRICES_FILE: ${(e as Error).message}`);
  }
}

/** `workers` overrides cfg.prepareWorkers (0: prepare on the calling thread). */
export function createIngest(cfg: Config, pool: pg.Pool, log: Logger, workers = cfg.prepareWorkers, metrics: Metrics | null = null): Ingest {
  const mapper = createMapper({
    maxContentChars: cfg.maxContentChars,
    captureContent: cfg.captureContent,
    prices: priceTable(cfg.pricesFile),
  });
  const { batcher, partitions, progress, logs } = createSink(cfg, pool, log, metrics);
  // What one decode may take (30·L of README "Memory"): larger bodies are refused before decoding.
  const maxDecodeBytes = decodeAllowanceBytes({ ...cfg, prepareWorkers: workers });
  const prepare = workers > 0
    ? new PreparePool(workers, {
      maxSpans: cfg.queueMaxSpans, maxDecodeBytes, maxContentChars: cfg.maxContentChars, captureContent: cfg.captureContent, pricesFile: cfg.pricesFile,
    },
      (e) => log.error('prepare worker crashed; restarted', { error: String(e) }))
    : null;
  const admission = new AdmissionBudget({
    budgetBytes: admissionBudgetBytes(cfg.queueMaxSpans), sharePercent: cfg.admissionSharePercent,
    retryAfterSeconds: cfg.retryAfterSeconds, refusal: () => batcher.refusal() ?? pipeline.refusal(),
  });
  const pipeline: Pipeline = new Pipeline({ mapper, batcher, pool: prepare, metrics, maxSpans: cfg.queueMaxSpans, maxDecodeBytes, admission, logs });
  return {
    batcher, partitions, progress, pipeline,
    ready: prepare?.ready() ?? Promise.resolve(),
    close: async () => { await prepare?.close(); },
  };
}
