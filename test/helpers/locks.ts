/**
 * Holding a run's lock from outside the gateway, as an operator's open `UPDATE runledger.runs ...` (or a
 * repair) would: writers skip the run and defer its spans while the lock is held. No vitest import.
 */
import pg from 'pg';

export interface HeldRun {
  /** end the holding transaction (its session too) */
  release(): Promise<void>;
}

/**
 * Lock the runs row of (tenant, trace id) FOR UPDATE in an open transaction of a session of its own. A run
 * without a row gets one first (runledger.lock_runs, committed empty: writers fill it once released).
 */
export async function holdRun(databaseUrl: string, tenantId: string, traceId: string): Promise<HeldRun> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query('SELECT * FROM runledger.lock_runs($1::text[], $2::uuid[])', [[tenantId], [traceId]]);
    await c.query('BEGIN');
    const r = await c.query('SELECT 1 FROM runledger.runs WHERE tenant_id = $1 AND run_id = $2 FOR UPDATE', [tenantId, traceId]);
    if (r.rowCount !== 1) throw new Error(`no runs row to hold for ${tenantId}/${traceId}`);
  } catch (e) {
    await c.end();
    throw e;
  }
  return { release: async () => { await c.query('ROLLBACK').catch(() => {}); await c.end(); } };
}
