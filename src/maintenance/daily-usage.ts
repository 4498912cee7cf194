/**
 * Refresh of the analysts' daily usage table (runledger.daily_usage_rollup, read through the view
 * runledger.daily_usage; see sql/004_analyst_views.sql and docs/queries.md).
 */
import type pg from 'pg';
import { startPeriodic, type Periodic } from '../periodic.js';
import type { Logger } from '../log.js';

export interface RefreshOptions {
  /** first UTC day to recompute (the UTC day of this instant); default: two days before `until` */
  since?: Date;
  /** last UTC day to recompute (included); default: today (UTC) */
  until?: Date;
}

export interface RefreshResult {
  /** days rewritten: those of the window that still have nodes (the others keep their rows) */
  days: number;
  durationMs: number;
}

type Db = pg.ClientBase | pg.Pool;

/** 'YYYY-MM-DD' of the UTC day of t. */
export function utcDay(t: Date): string {
  if (Number.isNaN(t.getTime())) throw new RangeError('invalid date');
  return t.toISOString().slice(0, 10);
}

/**
 * Recompute the daily usage table for the UTC days since..until (both included; default: today,
 * yesterday and the day before) from the nodes starting in them. Days without nodes left (dropped by
 * retention) keep their rows; days sealed by retention are skipped. Readers are not blocked; concurrent
 * callers wait for each other. Needs the tables' owner.
 */
export async function refreshDailyUsage(db: Db, opts: RefreshOptions = {}): Promise<RefreshResult> {
  const started = performance.now();
  const since = opts.since ? utcDay(opts.since) : null;
  const until = opts.until ? utcDay(opts.until) : null;
  const r = await db.query<{ days: number }>('SELECT runledger.refresh_daily_usage($1::date, $2::date) AS days', [since, until]);
  return { days: r.rows[0]!.days, durationMs: performance.now() - started };
}

/**
 * Roll up the days before `before` (a UTC midnight, or the UTC day of the instant) one last time and
 * seal them: later refreshes keep their rows. Retention calls this before dropping those days' nodes.
 * Returns the days rewritten.
 */
export async function finalizeDailyUsage(db: Db, before: Date): Promise<number> {
  const r = await db.query<{ days: number }>('SELECT runledger.finalize_daily_usage($1::date) AS days', [utcDay(before)]);
  return r.rows[0]!.days;
}

/** When the rollup was last refreshed (null: never recorded). */
export async function dailyUsageRefreshedAt(db: Db): Promise<Date | null> {
  const r = await db.query<{ refreshed_at: Date }>(
    `SELECT refreshed_at FROM runledger.rollup_refreshes WHERE name = 'daily_usage'`);
  return r.rows[0]?.refreshed_at ?? null;
}

/** Whether the rollup's last refresh is more recent than `ms` ago (database clock). */
export async function refreshedWithin(db: Db, ms: number): Promise<boolean> {
  const r = await db.query<{ fresh: boolean }>(
    `SELECT coalesce(now() - refreshed_at < make_interval(secs => $1), false) AS fresh
     FROM runledger.rollup_refreshes WHERE name = 'daily_usage'`, [ms / 1000]);
  return r.rows[0]?.fresh ?? false;
}

export type Refresher = Periodic;

/**
 * Refresh the rollup (default window) every `intervalMs` (runs never overlap; failures are logged).
 * Several gateways share the work: a gateway skips its turn when the rollup was refreshed (by any of
 * them) less than 0.9 × intervalMs ago, by the database's clock.
 */
export function startDailyUsageRefresher(
  pool: pg.Pool, intervalMs: number, log: Pick<Logger, 'debug' | 'warn'>,
  refresh: () => Promise<RefreshResult> = () => refreshDailyUsage(pool),
): Refresher {
  return startPeriodic(intervalMs, async () => {
    if (await refreshedWithin(pool, intervalMs * 0.9)) return;
    const r = await refresh();
    log.debug('daily usage rollup refreshed', { days: r.days, duration_ms: Math.round(r.durationMs) });
  }, (e) => log.warn('daily usage rollup refresh failed', { error: (e as Error)?.message ?? String(e) }));
}
