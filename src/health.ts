/**
 * Readiness (/readyz): the gateway is ready when it is not draining, its schema is in place, PostgreSQL
 * answers, requests are not all refused for want of API keys, and writes are committing. Each failing
 * condition is reported with its reason.
 */
import type pg from 'pg';
import type { WriteProgress } from './sink/write-progress.js';

/** Readiness of the database: null when `SELECT 1` answers within `ms`, else the reason. */
export async function pingDatabase(pool: pg.Pool, ms = 1000): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to SELECT 1 within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([pool.query('SELECT 1'), late]);
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    clearTimeout(timer);
  }
}

export interface ReadinessProbe {
  draining(): boolean;
  /** null when the schema is in place (migrations applied or not wanted), else why not */
  startupProblem(): string | null;
  ping(): Promise<string | null>;
  /** non-null while every request is answered 503 for want of API keys */
  authProblem(): string | null;
  progress: WriteProgress;
  stallLimitMs: number;
  queuedSpans(): number;
}

export type Readiness = { ready: true; queued_spans: number } | { ready: false; reason: string };

export async function readiness(p: ReadinessProbe): Promise<Readiness> {
  const draining = () => ({ ready: false as const, reason: 'draining: the gateway is shutting down' });
  if (p.draining()) return draining();
  const startup = p.startupProblem();
  if (startup) return { ready: false, reason: `starting: ${startup}` };
  const problem = await p.ping();
  if (problem) return { ready: false, reason: `database: ${problem}` };
  if (p.draining()) return draining();
  const auth = p.authProblem();
  if (auth) return { ready: false, reason: `api keys: ${auth}` };
  const stalled = p.progress.stalledMs();
  if (stalled > p.stallLimitMs) {
    const error = p.progress.lastError;
    return {
      ready: false,
      reason: `writes: none committed for ${(stalled / 1000).toFixed(1)} s (${p.queuedSpans()} spans pending)`
        + (error ? `; last error: ${error}` : '; a write is still waiting'),
    };
  }
  return { ready: true, queued_spans: p.queuedSpans() };
}
