/**
 * The maintenance commands as the command line runs them: parse arguments, open the ledger (DATABASE_URL
 * or the embedded PostgreSQL, migrated), run with a progress line on stderr, print a summary on stdout.
 */
import { configFromEnv } from '../config.js';
import { loadPriceTable } from '../mapping/prices.js';
import { createMapper } from '../mapping/index.js';
import { flag, parseArgs, UsageError, parseBatch, parseOlderThan, parseRunId, parseTime, single } from './args.js';
import { withLedger } from './db.js';
import { Progress } from './progress.js';
import { repair, type RepairOptions } from '../maintenance/repair.js';
import { reprice } from '../maintenance/reprice.js';
import { applyRetention, retentionLockWaitMs } from '../maintenance/retention.js';
import { refreshDailyUsage } from '../maintenance/daily-usage.js';

export const USAGE = `usage: runledger [command]
  serve                       run the gateway (default)
  migrate                     apply pending schema migrations
  repair  [--run <id>]... [--since <30d|2025-01-31>] [--batch 500] [--remap]
                              recompute run rollups from stored spans and nodes; --remap: map the stored
                              spans again with this version's mapping first (nodes of an earlier version)
  reprice [--since <30d|2025-01-31>] [--prices <file>] [--batch 1000] [--force]
                              recompute costs priced by a price source no longer in force (an upgraded
                              manifest, a changed RUNLEDGER_PRICES_FILE or --prices) and unpriced ones, and
                              run totals; --force: every price-table cost
  retention --older-than <30d|12h|2w> [--dry-run]
                              drop ledger data older than that
  refresh [--since <3d|2025-01-31>] [--until <date>]
                              recompute the daily usage rollup for those days (default: the last 3 days)
`;

const n = (v: number) => v.toLocaleString('en-US');
const out = (text: string) => process.stdout.write(text + '\n');

export function repairOptions(argv: readonly string[], now = Date.now()): Omit<RepairOptions, 'remap'> & { remap?: true } {
  const a = parseArgs(argv, ['run', 'since', 'batch'], ['remap']);
  const since = single(a, 'since');
  const runs = a.values.get('run');
  return {
    runIds: runs ? [...new Set(runs.map(parseRunId))] : undefined,
    since: since === undefined ? null : parseTime(since, 'since', now),
    batch: parseBatch(single(a, 'batch'), 500),
    remap: flag(a, 'remap') || undefined,
  };
}

export async function repairCommand(argv: readonly string[]): Promise<void> {
  const { remap, ...opts } = repairOptions(argv);
  const cfg = configFromEnv();
  // the gateway's own mapping settings (ingest.ts), so remapped nodes are what it would write now
  const remapOpts = remap ? {
    mapper: createMapper({ maxContentChars: cfg.maxContentChars, captureContent: cfg.captureContent, prices: loadPriceTable(cfg.pricesFile ?? undefined) }),
    logContentChars: cfg.captureContent ? cfg.maxContentChars : null,
  } : undefined;
  const r = await withLedger(cfg, (pool) => repair(pool, { ...opts, remap: remapOpts, progress: new Progress({ label: remap ? 'remap' : 'repair', unit: 'runs' }) }));
  out(`repair${remap ? ' --remap' : ''}: ${n(r.scanned)} runs scanned, ${n(r.changed)} changed` +
    ` (${n(r.recreated)} recreated, ${n(r.nodesFixed)} nodes' counted flags, ${n(r.treeFixed)} nodes' tree columns and ${n(r.frontierFixed)} frontier rows fixed)` +
    (r.withoutSpans ? `; ${n(r.withoutSpans)} runs have no stored spans and were left as they are` : '') +
    (r.rollupDays ? `; ${n(r.rollupDays)} days of daily_usage rewritten` : ''));
}

export function repriceOptions(argv: readonly string[], now = Date.now()): { since: Date | null; prices: string | undefined; batch: number; force: boolean } {
  const a = parseArgs(argv, ['since', 'prices', 'batch'], ['force']);
  const since = single(a, 'since');
  return {
    since: since === undefined ? null : parseTime(since, 'since', now), prices: single(a, 'prices'),
    batch: parseBatch(single(a, 'batch'), 1000), force: flag(a, 'force'),
  };
}

export async function repriceCommand(argv: readonly string[]): Promise<void> {
  const o = repriceOptions(argv);
  const cfg = configFromEnv();
  const prices = loadPriceTable(o.prices ?? cfg.pricesFile ?? undefined);
  const r = await withLedger(cfg, (pool) => reprice(pool, {
    prices, since: o.since, batch: o.batch, force: o.force, progress: new Progress({ label: 'reprice', unit: 'nodes' }),
  }));
  out(`reprice: ${n(r.scanned)} nodes scanned, ${n(r.repriced)} repriced, ${n(r.runsChanged)} runs' totals changed` +
    (r.rollupDays ? `, ${n(r.rollupDays)} days of daily_usage rewritten` : ''));
}

export function retentionOptions(argv: readonly string[], now = Date.now()): { olderThan: Date; dryRun: boolean } {
  const a = parseArgs(argv, ['older-than'], ['dry-run']);
  const older = single(a, 'older-than');
  if (older === undefined) throw new UsageError('--older-than is required (e.g. --older-than 30d)');
  return { olderThan: parseOlderThan(older, now), dryRun: flag(a, 'dry-run') };
}

export async function retentionCommand(argv: readonly string[]): Promise<void> {
  const o = retentionOptions(argv);
  const cfg = configFromEnv();
  const r = await withLedger(cfg, async (pool) => {
    const progress = new Progress({ label: 'retention', unit: 'steps' });
    try {
      // the gateways' lock timeout, when this environment is theirs: writers queued behind a drop must not time out
      return await applyRetention(pool, { ...o, progress, lockWaitMs: retentionLockWaitMs(cfg.dbLockTimeoutMs) });
    } finally {
      progress.finish();
    }
  });
  out(`retention${o.dryRun ? ' (dry run)' : ''}: older than ${o.olderThan.toISOString()}: ${summary(r)}`);
}

export function refreshOptions(argv: readonly string[], now = Date.now()): { since?: Date; until?: Date } {
  const a = parseArgs(argv, ['since', 'until']);
  const since = single(a, 'since');
  const until = single(a, 'until');
  const o = {
    ...(since === undefined ? {} : { since: parseTime(since, 'since', now) }),
    ...(until === undefined ? {} : { until: parseTime(until, 'until', now) }),
  };
  if (o.since && o.until && o.since > o.until) throw new UsageError(`--since ${since} is after --until ${until}`);
  return o;
}

export async function refreshCommand(argv: readonly string[]): Promise<void> {
  const o = refreshOptions(argv);
  const cfg = configFromEnv();
  const r = await withLedger(cfg, (pool) => refreshDailyUsage(pool, o));
  out(`refresh: ${n(r.days)} days of daily_usage rewritten in ${r.durationMs.toFixed(0)} ms`);
}

function summary(r: unknown): string {
  if (r === null || typeof r !== 'object') return String(r ?? 'done');
  return Object.entries(r as Record<string, unknown>)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? n(v) : v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.length : JSON.stringify(v)}`)
    .join(', ');
}
