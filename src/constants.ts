/**
 * Constants more than one module (or a migration) relies on: the advisory lock keys and the cap on the
 * reasons a partial success carries. One place, so a new lock cannot collide with an old one by accident.
 */

/**
 * Keys of PostgreSQL advisory locks (one bigint each) that earlier versions took. None is taken any more
 * (sql/026, db/migrate.ts): any role can take any advisory lock, so an analyst holding one stalled every
 * tenant (test/analyst-locks.test.ts). Migrations already released keep their literals (a released migration
 * is never edited); test/constants.test.ts holds them equal to these, and an old gateway may still take them.
 */
export const ADVISORY_LOCK = {
  /** the writers' per-run locks before sql/007 (rows are locked now): only an old gateway still takes it */
  legacyRunLocks: 1919117676,
  /** db/migrate.ts before 026: one process applies migrations at a time (it locks runledger.schema_migrations now) */
  migrations: 1919117677,
  /** runledger.ensure_day_partitions (sql/003, 011, 016; none since 026): gateways and retention may create the same day */
  partitions: 1919117678,
  /** runledger.refresh_daily_usage / finalize_daily_usage (sql/004, 007, 010; since 026 a lock on rollup_refreshes) */
  dailyUsage: 1919117679,
} as const;

/** How many rejection reasons a decode result or a partial success keeps (the first ones). */
export const MAX_ERRORS = 5;

/**
 * The deepest node whose depth and tree_path are stored (nodes.depth, tree_path: sql/026 settle_tree and
 * sink/tree.ts, the same number). Below it both are NULL, as below a cycle: a run nesting its nodes thousands
 * deep (cheap to send) stored every ancestor's place per node, quadratic in the depth, and settle_tree walked
 * it one level per step, holding a writer every tenant shares. Agent frameworks nest a few dozen deep.
 */
export const MAX_TREE_DEPTH = 256;
