/**
 * Start-up without the database: the gateway listens at once and answers 503 + Retry-After (gRPC
 * UNAVAILABLE) to exports until its schema is in place; migrations are applied in the background and
 * retried every second until PostgreSQL answers. Then the work that needs the schema starts (onReady):
 * the API keys, the partitions ahead, the daily usage table (startMaintenance).
 */
import type pg from 'pg';
import type { Config } from './config.js';
import { GatewayError } from './errors.js';
import type { Logger } from './log.js';
import { startPeriodic } from './periodic.js';
import type { DayPartitions } from './sink/partitions.js';
import { refreshDailyUsage, startDailyUsageRefresher } from './maintenance/daily-usage.js';

export interface SchemaStartupOptions {
  /** apply the migrations (false: the schema is someone else's business, ready at once) */
  migrate: boolean;
  /** applies pending migrations, returns the versions applied */
  apply: () => Promise<string[]>;
  retryAfterSeconds: number;
  log: Logger;
  retryMs?: number;
}

export class SchemaStartup {
  private ready: boolean;
  private problem: string | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private attempt: Promise<void> | null = null;
  private readonly readyCallbacks: (() => void)[] = [];
  /** settles once the first attempt has succeeded or failed (never rejects) */
  readonly firstAttempt: Promise<void>;

  constructor(private readonly opts: SchemaStartupOptions) {
    this.ready = !opts.migrate;
    this.firstAttempt = this.ready ? Promise.resolve() : this.run();
  }

  get isReady(): boolean { return this.ready; }

  /** null when ready, else why not (for /readyz) */
  get notReadyReason(): string | null {
    if (this.ready) return null;
    return `migrations not applied yet${this.problem ? `: ${this.problem}` : ''}`;
  }

  /** Calls `f` once the schema is in place (at once when it is). */
  onReady(f: () => void): void {
    if (this.ready) f();
    else this.readyCallbacks.push(f);
  }

  /** Throws 503 / UNAVAILABLE (retryable) until the schema is in place. */
  check(): void {
    if (!this.ready) {
      throw new GatewayError('unavailable', `database not ready: ${this.notReadyReason}`, this.opts.retryAfterSeconds);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.attempt;
  }

  private run(): Promise<void> {
    this.timer = null;
    this.attempt = this.tryOnce().finally(() => { this.attempt = null; });
    return this.attempt;
  }

  private async tryOnce(): Promise<void> {
    try {
      const applied = await this.opts.apply();
      if (applied.length) this.opts.log.info('migrations applied', { applied });
      if (this.problem) this.opts.log.info('database ready: migrations in place, serving');
      this.problem = null;
      this.ready = true;
      for (const f of this.readyCallbacks.splice(0)) f();
    } catch (e) {
      const message = (e as Error)?.message ?? String(e);
      if (message !== this.problem) {
        this.opts.log.warn('database not ready: answering 503, retrying the migrations every second', { error: message });
      }
      this.problem = message;
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.run(), this.opts.retryMs ?? 1000);
        this.timer.unref();
      }
    }
  }
}

export interface Maintenance {
  stop(): Promise<void>;
}

/**
 * The gateway's background work on the schema, started once it is in place: today's and the next days'
 * partitions (now, then hourly), so no day's first spans wait for DDL; and the analysts' daily usage
 * rollup (the last 3 UTC days, every rollupRefreshSeconds).
 */
export function startMaintenance(cfg: Config, pool: pg.Pool, partitions: DayPartitions, log: Logger): Maintenance {
  const ahead = startPeriodic(3_600_000, async () => {
    const client = await pool.connect();
    try { await partitions.createAhead(client); } finally { client.release(); }
  }, (e) => log.warn('creating the partitions of the days ahead failed', { error: (e as Error)?.message ?? String(e) }), { immediate: true });
  const rollup = cfg.rollupRefreshSeconds > 0
    ? startDailyUsageRefresher(pool, cfg.rollupRefreshSeconds * 1000, log, () => withoutStatementTimeout(pool, refreshDailyUsage))
    : null;
  return {
    async stop() { await Promise.all([ahead.stop(), rollup?.stop()]); },
  };
}

/**
 * Runs `f` in a transaction free of the session's statement_timeout (set for writes): a refresh of the
 * rollup over three days of nodes may take longer than any write should, and nobody waits on it. The
 * session's lock_timeout stays: it does not queue behind an operator's lock for long.
 */
async function withoutStatementTimeout<T>(pool: pg.Pool, f: (c: pg.ClientBase) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN; SET LOCAL statement_timeout = 0');
    const out = await f(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch((r: Error) => { broken = r; });
    throw e;
  } finally {
    client.release(broken);
  }
}
