/**
 * Writes one batch in one transaction: lock the touched runs, insert spans (COPY), insert their nodes,
 * update run rollups from the newly inserted rows only. Re-sent spans insert nothing and change nothing.
 */
import type pg from 'pg';
import type { MappedSpan } from '../mapping/types.js';
import { encodeNodeRow, encodeSpanRow, hasUsage, NODE_COLUMNS, SPAN_COLUMNS } from './encoder.js';
import { copyRows } from './copy.js';
import { addUsage, computeDeltas, deltaRows } from '../rollup/deltas.js';
import { LOCK_RUNS_SQL, MARK_USAGE_SQL, UNCOUNT_AGGREGATES_SQL, UPSERT_RUNS_SQL } from '../rollup/sql.js';

export interface WriteOutcome {
  /** spans newly stored */
  inserted: number;
  /** spans already stored (re-sent) */
  duplicates: number;
}

const STAGE_SPANS = 'runledger_stage_spans';
const prepared = new WeakSet<pg.PoolClient>();

async function prepareStage(client: pg.PoolClient): Promise<void> {
  if (prepared.has(client)) return;
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS ${STAGE_SPANS} (LIKE runledger.spans INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`,
  );
  prepared.add(client);
}

/** Advisory lock key of a run: 32 bits of its (random) trace id. */
export function runLockKey(traceId: string): number {
  return parseInt(traceId.slice(0, 8), 16) | 0;
}

const key = (m: MappedSpan) => m.span.traceId + m.span.spanId;

/** Insert spans; returns the ones that were not stored before (deduplicated within the batch too). */
async function insertSpans(client: pg.PoolClient, items: MappedSpan[]): Promise<MappedSpan[]> {
  await client.query('SAVEPOINT fast_path');
  try {
    // Fast path: nothing in the batch is stored yet, COPY straight into the ledger.
    await copyRows(client, 'runledger.spans', SPAN_COLUMNS, items, (m) => encodeSpanRow(m.span));
    await client.query('RELEASE SAVEPOINT fast_path');
    return items;
  } catch (e) {
    if ((e as { code?: string }).code !== '23505') throw e;
    await client.query('ROLLBACK TO SAVEPOINT fast_path');
  }
  // Re-sent or duplicated spans: stage, then insert what is new.
  await prepareStage(client);
  await copyRows(client, STAGE_SPANS, SPAN_COLUMNS, items, (m) => encodeSpanRow(m.span));
  const res = await client.query<{ t: string; s: string }>(
    `INSERT INTO runledger.spans SELECT * FROM ${STAGE_SPANS} ON CONFLICT DO NOTHING
     RETURNING replace(trace_id::text, '-', '') AS t, span_id AS s`,
  );
  const fresh = new Set(res.rows.map((r) => r.t + r.s));
  const out: MappedSpan[] = [];
  for (const m of items) {
    const k = key(m);
    if (fresh.delete(k)) out.push(m); // delete: a duplicate within the batch is taken once
  }
  return out;
}

export async function writeBatch(client: pg.PoolClient, items: MappedSpan[]): Promise<WriteOutcome> {
  const keys = [...new Set(items.map((m) => runLockKey(m.span.traceId)))].sort((a, b) => a - b);
  await client.query('BEGIN');
  try {
    await client.query(LOCK_RUNS_SQL, [keys]);
    const fresh = await insertSpans(client, items);
    if (fresh.length > 0) await applyFresh(client, fresh);
    await client.query('COMMIT');
    return { inserted: fresh.length, duplicates: items.length - fresh.length };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** Nodes and rollups for newly inserted spans. */
async function applyFresh(client: pg.PoolClient, fresh: MappedSpan[]): Promise<void> {
  const nodes = fresh.filter((m) => m.node !== null);
  if (nodes.length > 0) await copyRows(client, 'runledger.nodes', NODE_COLUMNS, nodes, encodeNodeRow);

  const deltas = computeDeltas(fresh);
  const usage = nodes.filter((m) => hasUsage(m.node!));
  const marked = await client.query<{ trace_id: string; parent_span_id: string | null }>(MARK_USAGE_SQL, [
    fresh.map((m) => m.span.traceId), fresh.map((m) => m.span.spanId), fresh.map((m) => m.span.parentSpanId),
    usage.map((m) => m.span.traceId), usage.map((m) => m.span.spanId), usage.map((m) => m.span.parentSpanId),
  ]);
  const candRuns: string[] = usage.map((m) => m.span.traceId);
  const candNodes: string[] = usage.map((m) => m.span.spanId);
  for (const r of marked.rows) {
    if (r.parent_span_id !== null) { candRuns.push(r.trace_id); candNodes.push(r.parent_span_id); }
  }
  if (candRuns.length > 0) {
    const uncounted = await client.query(UNCOUNT_AGGREGATES_SQL, [candRuns, candNodes]);
    for (const u of uncounted.rows) {
      const d = deltas.get(u.run_id);
      if (!d) continue; // cannot happen: candidates belong to runs of this batch
      addUsage(d.usage, {
        inputTokens: num(u.input_tokens), outputTokens: num(u.output_tokens),
        cacheReadTokens: num(u.cache_read_tokens), cacheWriteTokens: num(u.cache_write_tokens),
        reasoningTokens: num(u.reasoning_tokens), totalTokens: num(u.total_tokens),
        totalCost: u.total_cost === null ? null : Number(u.total_cost),
      }, -1);
    }
  }
  await client.query(UPSERT_RUNS_SQL, [JSON.stringify(deltaRows(deltas.values()))]);
}

function num(v: string | number | null): number | null {
  return v === null ? null : Number(v);
}
