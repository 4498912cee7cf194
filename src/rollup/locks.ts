/**
 * Run locks: a run's row in runledger.runs is its lock (sql/007). The span writer takes them without waiting
 * (sink/writer.ts, sql.ts lockExistingRunsSql); the logs writer waits for them through lockRunsWaiting;
 * maintenance (repair, reprice) takes a batch's free runs through lockRunsAvailable and waits only for one run
 * at a time. Whoever changes a run's rollups holds its row.
 */
import type pg from 'pg';
import { DataError } from '../errors.js';
import { CREATE_RUNS_SQL, existingRunsSql, LOCK_RUNS_WAITING_SQL, lockExistingRunsSql } from './sql.js';
import { runKey } from './usage.js';

/** Runs as two parallel arrays (tenant ids, 32-hex-digit trace ids), unique, in key order. */
export interface RunIds { tenants: string[]; runIds: string[] }

export function runIdsOf(pairs: Iterable<{ tenantId: string; runId: string }>): RunIds {
  const seen = new Map<string, { tenantId: string; runId: string }>();
  for (const p of pairs) seen.set(runKey(p.tenantId, p.runId), p);
  const sorted = [...seen.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : a.runId < b.runId ? -1 : 1));
  return { tenants: sorted.map((p) => p.tenantId), runIds: sorted.map((p) => p.runId) };
}

/**
 * Lock these runs inside the caller's transaction, waiting for other holders (bounded by lock_timeout):
 * the logs writer, repair and reprice lock this way. Runs without a row get an empty one, which the caller must fill or
 * delete before it commits. Returns the runs whose row was created now, by runKey.
 */
export async function lockRunsWaiting(client: pg.ClientBase, runs: RunIds): Promise<Set<string>> {
  if (runs.runIds.length === 0) return new Set();
  const r = await client.query<{ tenant_id: string; run_id: string; created: boolean }>(LOCK_RUNS_WAITING_SQL, [runs.tenants, runs.runIds]);
  return new Set(r.rows.filter((x) => x.created).map((x) => runKey(x.tenant_id, x.run_id)));
}

/**
 * Lock those of these runs that no other transaction holds, without waiting for the others: rows that exist
 * and are free (SKIP LOCKED), and rows created now for runs that have none. A batch that waited instead held
 * every run it had locked until the held one was released, and writers answered those runs' spans 503 for
 * as long (an operator's open transaction: minutes). `created`: rows created now (fill or delete them before
 * commit, as with lockRunsWaiting); `skipped`: runs left to the caller, another transaction holds or created them.
 */
export async function lockRunsAvailable(client: pg.ClientBase, runs: RunIds): Promise<{ created: Set<string>; skipped: RunIds }> {
  if (runs.runIds.length === 0) return { created: new Set(), skipped: { tenants: [], runIds: [] } };
  const params = [runs.tenants, runs.runIds];
  const locked = await client.query<{ tenant_id: string; run_id: string }>(lockExistingRunsSql('$1::text[]', '$2::uuid[]'), params);
  const existing = await client.query<{ tenant_id: string; run_id: string }>(existingRunsSql('$1::text[]', '$2::uuid[]'), params);
  const have = new Set(existing.rows.map((r) => runKey(r.tenant_id, r.run_id)));
  const missing = runs.runIds.map((id, i) => ({ tenantId: runs.tenants[i]!, runId: id })).filter((r) => !have.has(runKey(r.tenantId, r.runId)));
  // a run another transaction is creating now is waited for by the insert: a writer's short transaction
  const made = missing.length === 0 ? [] : (await client.query<{ tenant_id: string; run_id: string }>(CREATE_RUNS_SQL,
    [missing.map((r) => r.tenantId), missing.map((r) => r.runId)])).rows;
  const created = new Set(made.map((r) => runKey(r.tenant_id, r.run_id)));
  const got = new Set([...locked.rows.map((r) => runKey(r.tenant_id, r.run_id)), ...created]);
  const skipped = runIdsOf(runs.runIds.map((id, i) => ({ tenantId: runs.tenants[i]!, runId: id })).filter((r) => !got.has(runKey(r.tenantId, r.runId))));
  return { created, skipped };
}

/** The runs of `runs` not in `minus`, in key order. */
export function runIdsExcept(runs: RunIds, minus: RunIds): RunIds {
  const out = new Set(minus.runIds.map((id, i) => runKey(minus.tenants[i]!, id)));
  return runIdsOf(runs.runIds.map((id, i) => ({ tenantId: runs.tenants[i]!, runId: id })).filter((r) => !out.has(runKey(r.tenantId, r.runId))));
}

const HEX_ID = /^[0-9a-fA-F]{32}$/;

/**
 * The runs as SQL array literals (tenant ids quoted, run ids checked to be 32 hex digits), for statements
 * sent several in one simple query, which takes no parameters.
 */
export function runsLiterals(client: pg.ClientBase, runs: RunIds): { tenants: string; ids: string } {
  for (const id of runs.runIds) {
    // the decoders never let one through; a data error (as PostgreSQL's cast would raise) isolates the span
    if (!HEX_ID.test(id)) throw new DataError(`invalid run id ${JSON.stringify(id)}`, '22P02');
  }
  return { tenants: `ARRAY[${runs.tenants.map((t) => client.escapeLiteral(t)).join(',')}]::text[]`, ids: `'{${runs.runIds.join(',')}}'::uuid[]` };
}
