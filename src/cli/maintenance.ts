/**
 * Bridges to maintenance modules written elsewhere (db/retention.ts, db/views.ts). They are imported
 * when the command runs, so this build does not depend on them; a build without them says so.
 */
import type pg from 'pg';
import type { Progress } from './progress.js';

export interface RetentionOptions {
  olderThan: Date;
  dryRun: boolean;
  /** start(total) / setTotal(total, unit?), tick(n?), done() / finish() */
  progress: Progress;
}

interface RetentionModule { applyRetention(pool: pg.Pool, opts: RetentionOptions): Promise<unknown> }
interface ViewsModule { refreshDailyUsage(pool: pg.Pool): Promise<unknown> }

async function load<T>(spec: string, what: string): Promise<T> {
  try {
    return (await import(spec)) as T;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(spec.replace(/^\.\.\//, ''))) {
      throw new Error(`${what} is not available in this build (${spec} is missing)`);
    }
    throw e;
  }
}

export async function retention(pool: pg.Pool, opts: RetentionOptions): Promise<unknown> {
  const spec = '../db/retention.js'; // a variable: resolved at run time only
  const m = await load<RetentionModule>(spec, 'retention');
  try {
    return await m.applyRetention(pool, opts);
  } finally {
    opts.progress.finish();
  }
}

export async function refreshLedgerViews(pool: pg.Pool): Promise<unknown> {
  const spec = '../db/views.js';
  const m = await load<ViewsModule>(spec, 'refresh');
  return m.refreshDailyUsage(pool);
}
