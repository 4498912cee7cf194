/**
 * Constants more than one module (or a migration) relies on: the advisory lock keys and the cap on the
 * reasons a partial success carries. One place, so a new lock cannot collide with an old one by accident.
 */

/**
 * Keys of PostgreSQL advisory locks (one bigint each). Migrations already released keep their literals
 * (a released migration is never edited); test/constants.test.ts holds them equal to these.
 */
export const ADVISORY_LOCK = {
  /** the writers' per-run locks before sql/007 (rows are locked now): only an old gateway still takes it */
  legacyRunLocks: 1919117676,
  /** db/migrate.ts: one process applies migrations at a time */
  migrations: 1919117677,
  /** runledger.ensure_day_partitions (sql/003, sql/011): gateways and retention may create the same day */
  partitions: 1919117678,
  /** runledger.refresh_daily_usage / finalize_daily_usage (sql/004, 007, 010): one refresh at a time */
  dailyUsage: 1919117679,
} as const;

/** How many rejection reasons a decode result or a partial success keeps (the first ones). */
export const MAX_ERRORS = 5;
