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
}

export const DEFAULT_PARTITION_OPTIONS: PartitionOptions = { backfillDays: 30, aheadDays: 2 };

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

  constructor(private readonly opts: PartitionOptions = DEFAULT_PARTITION_OPTIONS, private readonly now = () => Date.now()) {}

  /** The days (within the window) that need a partition and are not known to have one. */
  missing(client: pg.ClientBase, startsUs: Iterable<number>): number[] {
    const today = Math.floor(this.now() / 86_400_000);
    const lo = today - this.opts.backfillDays;
    const hi = today + this.opts.aheadDays;
    const known = this.knownOf(client);
    const out = new Set<number>();
    for (const us of startsUs) {
      const d = dayOf(us);
      if (d >= lo && d <= hi && !known.has(d)) out.add(d);
    }
    return [...out].sort((a, b) => a - b);
  }

  /** Create the partitions of the days of these start times (outside any transaction). */
  async ensure(client: pg.ClientBase, startsUs: Iterable<number>): Promise<void> {
    const days = this.missing(client, startsUs);
    if (days.length === 0) return;
    await client.query('SELECT runledger.ensure_day_partitions($1::date[])', [days.map(dayString)]);
    const known = this.knownOf(client);
    for (const d of days) known.add(d);
  }

  /** Forget what is known (a partition was dropped, e.g. by retention in this process). */
  forget(): void {
    this.known.clear();
  }

  private knownOf(client: pg.ClientBase): Set<number> {
    const c = client as unknown as { host?: string; port?: number; database?: string };
    const key = `${c.host}:${c.port}/${c.database}`;
    let s = this.known.get(key);
    if (!s) this.known.set(key, (s = new Set()));
    return s;
  }
}
