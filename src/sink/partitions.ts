/**
 * Daily partitions of spans and nodes (sql/003_partitioning.sql). Before a batch is written, the days
 * it touches get their partitions, within a window around today; spans outside the window go to the
 * default partitions. Days known to exist are remembered per database, so this costs a query only when
 * a new day appears.
 */
import type pg from 'pg';

const DAY_US = 86_400_000_000;

export interface PartitionOptions {
  /** days before today whose partitions are created on demand (older spans go to the default partition) */
  backfillDays: number;
  /** days after today (clock skew) */
  aheadDays: number;
  /**
   * Creating a partition waits for the locks of readers of the default partition (a long analyst query):
   * it gives up after this long, the spans go to the default partition, and it is tried again after
   * retryAfterMs (the move out of the default partition happens then).
   */
  lockTimeoutMs: number;
  retryAfterMs: number;
}

export const DEFAULT_PARTITION_OPTIONS: PartitionOptions = { backfillDays: 30, aheadDays: 2, lockTimeoutMs: 2000, retryAfterMs: 30_000 };

/**
 * The DDL's lock wait for sessions with these timeouts: every request for the default partitions queues behind
 * its lock request (the writers of days without a partition), so it waits at most half the writers' own
 * lock_timeout, and stays below the statement_timeout it runs under (which would fail the write instead).
 */
export function partitionLockWaitMs(dbLockTimeoutMs: number, dbStatementTimeoutMs: number): number {
  return Math.max(1, Math.min(DEFAULT_PARTITION_OPTIONS.lockTimeoutMs, Math.floor(dbLockTimeoutMs / 2), Math.floor(dbStatementTimeoutMs / 2)));
}

/** UTC day number (days since 1970-01-01) of a time in µs since the epoch. */
export function dayOf(us: number): number {
  return Math.floor(us / DAY_US);
}

/** 'YYYY-MM-DD' of a day number. */
export function dayString(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

export class DayPartitions {
  private readonly known = new Map<string, Set<number>>();
  /** days whose creation gave up on a lock, until when they are not tried again */
  private readonly deferred = new Map<string, Map<number, number>>();

  private readonly opts: PartitionOptions;

  constructor(opts: Partial<PartitionOptions> = {}, private readonly now = () => Date.now()) {
    this.opts = { ...DEFAULT_PARTITION_OPTIONS, ...opts };
  }

  /** The days (within the window) that need a partition and are not known to have one. */
  missing(client: pg.ClientBase, startsUs: Iterable<number>): number[] {
    const today = Math.floor(this.now() / 86_400_000);
    const lo = today - this.opts.backfillDays;
    const hi = today + this.opts.aheadDays;
    const known = this.knownOf(client);
    const deferred = this.deferredOf(client);
    const out = new Set<number>();
    for (const us of startsUs) {
      const d = dayOf(us);
      if (d >= lo && d <= hi && !known.has(d) && !((deferred.get(d) ?? 0) > this.now())) out.add(d);
    }
    return [...out].sort((a, b) => a - b);
  }

  /** Create the partitions of the days of these start times (outside any transaction). */
  async ensure(client: pg.ClientBase, startsUs: Iterable<number>): Promise<void> {
    await this.create(client, this.missing(client, startsUs));
  }

  /**
   * Create the partitions of today and the days ahead, so that a day's first spans find theirs (the
   * gateway does this at start-up and every hour).
   */
  async createAhead(client: pg.ClientBase): Promise<void> {
    const today = Math.floor(this.now() / 86_400_000);
    const days = Array.from({ length: this.opts.aheadDays + 1 }, (_, i) => (today + i) * 86_400_000_000);
    await this.create(client, this.missing(client, days));
  }

  private async create(client: pg.ClientBase, days: number[]): Promise<void> {
    if (days.length === 0) return;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.opts.lockTimeoutMs))}`);
      await client.query('SELECT runledger.ensure_day_partitions($1::date[])', [days.map(dayString)]);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      // lock_not_available, or the session's statement_timeout (query_canceled: a big default partition to move
      // rows out of and scan): the default partition takes the spans for now
      const code = (e as { code?: string }).code;
      if (code !== '55P03' && code !== '57014') throw e;
      const deferred = this.deferredOf(client);
      for (const d of days) deferred.set(d, this.now() + this.opts.retryAfterMs);
      return;
    }
    const known = this.knownOf(client);
    for (const d of days) known.add(d);
  }

  private dbKey(client: pg.ClientBase): string {
    const c = client as unknown as { host?: string; port?: number; database?: string };
    return `${c.host}:${c.port}/${c.database}`;
  }

  private knownOf(client: pg.ClientBase): Set<number> {
    const key = this.dbKey(client);
    let s = this.known.get(key);
    if (!s) this.known.set(key, (s = new Set()));
    return s;
  }

  private deferredOf(client: pg.ClientBase): Map<number, number> {
    const key = this.dbKey(client);
    let m = this.deferred.get(key);
    if (!m) this.deferred.set(key, (m = new Map()));
    return m;
  }
}
