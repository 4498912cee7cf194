/**
 * `runledger reprice`: node costs recomputed with the current price table, exactly as the gateway prices a
 * span (mapping/cost.ts resolveCost, at the call's start time), for nodes that have tokens but no cost and
 * for nodes whose price reference names a source no longer in force (an upgraded genai-prices manifest, a
 * changed price file, the earlier hand-kept table: no reference); `force` takes every price-table node.
 * Reported costs are never touched.
 * Each batch of changed nodes is one transaction: the writer's locks of their runs (those no other transaction
 * holds; a held run's nodes follow in a transaction of their own, which waits for it), the node updates,
 * then repair's recomputation of those runs (total_cost over usage-counted nodes, and usage_counted
 * itself should a cost reach or leave zero).
 */
import type pg from 'pg';
import type { PriceTable } from '../mapping/prices.js';
import type { ModalityTokens } from '../mapping/types.js';
import { resolveCost } from '../mapping/cost.js';
import { costUnits, unitsToDecimal } from '../rollup/amounts.js';
import { earliestOf, repairLocked } from './repair.js';
import { lockRunsAvailable, lockRunsWaiting, runIdsOf } from '../rollup/locks.js';
import { runKey } from '../rollup/usage.js';
import type { JobProgress } from './progress.js';
import { refreshDailyUsage } from './daily-usage.js';
import { withRetries } from '../sink/pg-errors.js';
import { BatchSizer } from './batch-size.js';

export interface RepriceOptions {
  prices: PriceTable;
  /** every price-table node, not only those priced by a source no longer in force */
  force?: boolean;
  /** only nodes starting at or after this time */
  since?: Date | null;
  /** nodes per page (and at most per transaction), at most (see batchTargetMs) */
  batch?: number;
  /** a transaction's target duration: pages grow up to `batch` nodes while faster, shrink when slower (batch-size.ts) */
  batchTargetMs?: number;
  /** milliseconds, for measuring transactions (tests) */
  clock?: () => number;
  progress?: JobProgress | null;
  /** re-roll the daily usage table over the days whose costs changed (default true) */
  refreshDaily?: boolean;
}

export interface RepriceResult {
  /** candidate nodes looked at */
  scanned: number;
  /** nodes whose cost changed */
  repriced: number;
  /** runs whose rollups changed as a result */
  runsChanged: number;
  /** days of the daily usage table rewritten (from the earliest repriced node's day) */
  rollupDays: number;
}

/** $2: the price sources in force (`<name>@<version>`, a reference's part before its first colon); $3: force */
const CANDIDATE = `((n.cost_source = 'price_table' AND ($3::boolean OR n.price_ref IS NULL
    OR NOT split_part(n.price_ref, ':', 1) = ANY ($2::text[])))
  OR (n.cost_source IS NULL AND (n.input_tokens IS NOT NULL OR n.output_tokens IS NOT NULL
    OR n.cache_read_tokens IS NOT NULL OR n.cache_write_tokens IS NOT NULL OR n.reasoning_tokens IS NOT NULL)))`;

interface NodeRow {
  tenant_id: string; run_id: string; node_id: string; start_time: string; start_us: string; provider: string | null;
  model_name: string | null; request_model: string | null; response_model: string | null; price_ref: string | null;
  input_tokens: string | null; output_tokens: string | null; cache_read_tokens: string | null;
  cache_write_tokens: string | null; reasoning_tokens: string | null; total_tokens: string | null;
  input_cost: string | null; output_cost: string | null; total_cost: string | null; cost_source: string | null;
  modality_tokens: ModalityTokens | null;
  /** BASIS: what the price was computed from */
  basis: string;
}

interface NewCost { input: string | null; output: string | null; total: string | null; source: string | null; ref: string | null }

const num = (v: string | null) => (v === null ? null : Number(v));
const dec = (usd: number | null) => { const u = costUnits(usd); return u === null ? null : unitsToDecimal(u); };

/** The node's cost under `prices`, as the ledger stores it. */
export function priceNode(n: NodeRow, prices: PriceTable): NewCost {
  const c = resolveCost({}, {
    inputTokens: num(n.input_tokens), outputTokens: num(n.output_tokens), cacheReadTokens: num(n.cache_read_tokens),
    cacheWriteTokens: num(n.cache_write_tokens), reasoningTokens: num(n.reasoning_tokens), totalTokens: num(n.total_tokens),
    modalityTokens: n.modality_tokens,
  }, prices, n.provider, { responseModel: n.response_model, requestModel: n.request_model, modelName: n.model_name }, Number(n.start_us));
  return { input: dec(c.inputCost), output: dec(c.outputCost), total: dec(c.totalCost), source: c.costSource, ref: c.priceRef };
}

/**
 * What a node's price is computed from, as one text: the page is read without its runs' locks, so a node may be
 * rewritten (repair --remap) before its run is locked, and its new counts priced by the counts read before
 * (a remapped call of 100k tokens kept the price of the 1k its earlier mapping stored). The update applies only
 * where the node still says what it was priced from; the others are read again under the lock (RELOAD_SQL).
 */
const BASIS = `md5(row(n.provider, n.model_name, n.request_model, n.response_model, n.input_tokens, n.output_tokens,
  n.cache_read_tokens, n.cache_write_tokens, n.reasoning_tokens, n.total_tokens, n.modality_tokens)::text)`;

const NODE_SELECT = `SELECT n.tenant_id, replace(n.run_id::text, '-', '') AS run_id, n.node_id, n.start_time::text AS start_time,
  (extract(epoch FROM n.start_time) * 1000000)::bigint::text AS start_us, n.provider, n.model_name,
  n.request_model, n.response_model, n.price_ref, n.input_tokens, n.output_tokens, n.cache_read_tokens, n.cache_write_tokens, n.reasoning_tokens,
  n.total_tokens, n.input_cost::text AS input_cost, n.output_cost::text AS output_cost,
  n.total_cost::text AS total_cost, n.cost_source, n.modality_tokens, ${BASIS} AS basis
FROM runledger.nodes n`;

/** The nodes of these keys as they are now (their runs locked by the caller), reported costs left out. */
const RELOAD_SQL = `${NODE_SELECT}
JOIN unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[]) AS k(tenant_id, run_id, node_id, start_time)
  ON n.tenant_id = k.tenant_id AND n.run_id = k.run_id AND n.node_id = k.node_id AND n.start_time = k.start_time
WHERE n.cost_source IS DISTINCT FROM 'reported'`;

const UPDATE_SQL = `
UPDATE runledger.nodes n SET input_cost = c.input_cost, output_cost = c.output_cost, total_cost = c.total_cost,
  cost_source = c.cost_source, price_ref = c.price_ref
FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::numeric[], $6::numeric[], $7::numeric[], $8::text[], $9::text[], $10::text[])
  AS c(tenant_id, run_id, node_id, start_time, input_cost, output_cost, total_cost, cost_source, price_ref, basis)
WHERE n.tenant_id = c.tenant_id AND n.run_id = c.run_id AND n.node_id = c.node_id AND n.start_time = c.start_time
  AND n.cost_source IS DISTINCT FROM 'reported' AND ${BASIS} = c.basis
RETURNING n.tenant_id, replace(n.run_id::text, '-', '') AS run_id, n.node_id, n.start_time::text AS start_time, n.start_time AS start`;

type Change = { n: NodeRow; c: NewCost };

type Updated = { tenant_id: string; run_id: string; node_id: string; start_time: string; start: Date };

async function updateNodes(client: pg.ClientBase, changes: Change[]): Promise<Updated[]> {
  if (changes.length === 0) return [];
  return (await client.query<Updated>(UPDATE_SQL, [
    changes.map((x) => x.n.tenant_id), changes.map((x) => x.n.run_id), changes.map((x) => x.n.node_id), changes.map((x) => x.n.start_time),
    changes.map((x) => x.c.input), changes.map((x) => x.c.output), changes.map((x) => x.c.total), changes.map((x) => x.c.source),
    changes.map((x) => x.c.ref), changes.map((x) => x.n.basis),
  ])).rows;
}

/** The nodes whose price under `prices` differs from the one they have. */
function changesOf(rows: readonly NodeRow[], prices: PriceTable): Change[] {
  const changes: Change[] = [];
  for (const n of rows) {
    const c = priceNode(n, prices);
    if (c.input !== n.input_cost || c.output !== n.output_cost || c.total !== n.total_cost || c.source !== n.cost_source ||
      c.ref !== n.price_ref) changes.push({ n, c });
  }
  return changes;
}

/**
 * Returns the runs whose rollups changed, the earliest start of the nodes updated, and the changes of the runs
 * another transaction holds, left as they are (`wait`: wait for the runs' locks instead; see repair's repairBatch).
 */
async function applyChanges(client: pg.ClientBase, all: Change[], prices: PriceTable, wait = false): Promise<{ runs: Set<string>; earliest: Date | null; skipped: Change[] }> {
  let changes = all;
  let runs = runIdsOf(changes.map((x) => ({ tenantId: x.n.tenant_id, runId: x.n.run_id })));
  await client.query('BEGIN');
  try {
    let created: Set<string>;
    let skipped: Change[] = [];
    if (wait) created = await lockRunsWaiting(client, runs);
    else {
      const got = await lockRunsAvailable(client, runs);
      created = got.created;
      if (got.skipped.runIds.length > 0) {
        const held = new Set(got.skipped.runIds.map((id, i) => runKey(got.skipped.tenants[i]!, id)));
        skipped = all.filter((x) => held.has(runKey(x.n.tenant_id, x.n.run_id)));
        changes = all.filter((x) => !held.has(runKey(x.n.tenant_id, x.n.run_id)));
        runs = runIdsOf(changes.map((x) => ({ tenantId: x.n.tenant_id, runId: x.n.run_id })));
      }
    }
    const updated = await updateNodes(client, changes);
    const nodeKey = (r: { tenant_id: string; run_id: string; node_id: string; start_time: string }) =>
      `${runKey(r.tenant_id, r.run_id)}/${r.node_id}/${r.start_time}`;
    const done = new Set(updated.map(nodeKey));
    const moved = changes.filter((x) => !done.has(nodeKey(x.n)));
    if (moved.length > 0) {
      // rewritten since the page was read (their runs are locked now, so they stay as read here)
      const now = await client.query<NodeRow>(RELOAD_SQL, [moved.map((x) => x.n.tenant_id), moved.map((x) => x.n.run_id),
        moved.map((x) => x.n.node_id), moved.map((x) => x.n.start_time)]);
      updated.push(...await updateNodes(client, changesOf(now.rows, prices)));
    }
    const out = await repairLocked(client, runs, created);
    await client.query('COMMIT');
    return { runs: out.changed, earliest: earliestOf(updated.map((r) => r.start)), skipped };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

export async function reprice(pool: pg.Pool, opts: RepriceOptions): Promise<RepriceResult> {
  const sizer = new BatchSizer(opts.batch ?? 1000, opts.batchTargetMs);
  const clock = opts.clock ?? (() => performance.now());
  const since = opts.since ?? null;
  const filter = `${CANDIDATE} AND ($1::timestamptz IS NULL OR n.start_time >= $1)`;
  const params = [since, opts.prices.sources, opts.force ?? false];
  const client = await pool.connect();
  const result: RepriceResult = { scanned: 0, repriced: 0, runsChanged: 0, rollupDays: 0 };
  const runsChanged = new Set<string>();
  let earliest: Date | null = null;
  try {
    const total = await client.query<{ n: string }>(`SELECT count(*) AS n FROM runledger.nodes n WHERE ${filter}`, params);
    opts.progress?.start(Number(total.rows[0]!.n), 'nodes');
    let after: [string, string, string, string] | null = null;
    for (;;) {
      const page: pg.QueryResult<NodeRow> = await client.query<NodeRow>(
        `${NODE_SELECT} WHERE ${filter}
           AND ($4::text IS NULL OR (n.tenant_id, n.run_id, n.node_id, n.start_time) > ($4::text, $5::uuid, $6::text, $7::timestamptz))
         ORDER BY n.tenant_id, n.run_id, n.node_id, n.start_time LIMIT $8`, [...params, ...(after ?? [null, null, null, null]), sizer.next]);
      if (page.rows.length === 0) break;
      const last = page.rows[page.rows.length - 1]!;
      after = [last.tenant_id, last.run_id, last.node_id, last.start_time];
      const changes = changesOf(page.rows, opts.prices);
      if (changes.length === 0) sizer.took(page.rows.length, 0); // nothing locked: the next page may be bigger
      else {
        // rolled back whole on a deadlock (e.g. with a gateway creating a day's partitions): done again
        const started = clock();
        const applied = [await withRetries(() => applyChanges(client, changes, opts.prices))];
        sizer.took(page.rows.length, clock() - started); // the page's hold on its runs, not the waits for held ones below
        // the runs another transaction held: each alone, waiting for its lock while holding no other run's
        const byRun = new Map<string, Change[]>();
        for (const x of applied[0]!.skipped) {
          const k = runKey(x.n.tenant_id, x.n.run_id);
          byRun.set(k, [...(byRun.get(k) ?? []), x]);
        }
        for (const one of byRun.values()) applied.push(await withRetries(() => applyChanges(client, one, opts.prices, true)));
        for (const a of applied) {
          for (const r of a.runs) runsChanged.add(r);
          earliest = earliestOf([earliest, a.earliest]);
        }
      }
      result.scanned += page.rows.length;
      result.repriced += changes.length;
      opts.progress?.tick(page.rows.length);
    }
    opts.progress?.done();
    result.runsChanged = runsChanged.size;
    if (earliest !== null && opts.refreshDaily !== false) result.rollupDays = (await refreshDailyUsage(client, { since: earliest })).days;
    return result;
  } finally {
    client.release();
  }
}

