/**
 * The daily usage rollup's incremental refresh (refreshDailyUsage / runledger.refresh_daily_usage): its
 * window, late data, idempotence, days whose usage moved, sealed days, readers and concurrent callers,
 * partition pruning; the periodic refresher; node_tree of late parents and cycles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { dailyUsageRefreshedAt, finalizeDailyUsage, refreshDailyUsage, startDailyUsageRefresher, utcDay, type RefreshResult } from './daily-usage.js';
import { createTestDb, type TestDb } from '../../test/helpers/db.js';
import { rowsAs, trace, writeTraces, type Def } from '../../test/helpers/analyst-ledger.js';

let db: TestDb;
beforeAll(async () => { db = await createTestDb('views_refresh'); });
afterAll(async () => { await db?.drop(); });

const DAY_MS = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY_MS) * DAY_MS; // UTC midnight
/** µs of `hours` after the UTC midnight `daysAgo` days before today */
const at = (daysAgo: number, hours = 1) => (TODAY - daysAgo * DAY_MS + hours * 3_600_000) * 1000;
const dayAgo = (daysAgo: number) => new Date(TODAY - daysAgo * DAY_MS);
const dayStr = (daysAgo: number) => utcDay(dayAgo(daysAgo));

const usage = async (tenant?: string) => (await rowsAs(db, `SELECT day::text, tenant_id, model, calls::int, llm_calls::int,
  counted_calls::int, total_tokens::int, total_cost::text FROM runledger.daily_usage
  WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY 1, 2, 3`, [tenant ?? null]));
const llm = (key: string, parent: string | undefined, tokens: number, cost: number, at = 1, model = 'm1'): Def =>
  ({ key, parent, name: `chat ${model}`, at, to: at + 1, node: { nodeType: 'LLM', modelName: model, totalTokens: tokens, totalCost: cost } });
const row = (daysAgo: number, tenant_id: string, tokens: number, cost: string, extra: Record<string, unknown> = {}) =>
  ({ day: dayStr(daysAgo), tenant_id, model: 'm1', calls: 1, llm_calls: 1, counted_calls: 1, total_tokens: tokens, total_cost: cost, ...extra });
/** the whole rollup table, as stored */
const rollup = () => rowsAs(db, `SELECT day::text, tenant_id, pipeline, provider, model, runs, calls, llm_calls, embedding_calls,
  failed_calls, counted_calls, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
  total_cost, unpriced_calls FROM runledger.daily_usage_rollup ORDER BY 1, 2, 3, 4, 5`);
/** per tenant: the rollup's totals and the runs' */
const reconcile = (tenant: string) => Promise.all(['daily_usage', 'runs'].map(async (from) => (await rowsAs(db,
  `SELECT coalesce(sum(total_tokens), 0)::int AS tokens, coalesce(sum(total_cost), 0)::text AS cost, coalesce(sum(llm_calls), 0)::int AS llm
   FROM runledger.${from} WHERE tenant_id = $1`, [tenant]))[0]));

describe('refreshDailyUsage', () => {
  it('shows rows written before the last refresh only, and records the refresh', async () => {
    expect(await usage()).toEqual([]); // the migration rolled up the (empty) ledger
    const before = await dailyUsageRefreshedAt(db.pool);
    expect(before).not.toBeNull();
    await writeTraces(db, [trace('t1', at(1), [llm('a', undefined, 10, 0.5)])]);
    expect(await usage()).toEqual([]);
    expect(await refreshDailyUsage(db.pool)).toMatchObject({ days: 1 });
    expect(await usage()).toEqual([row(1, 't1', 10, '0.5000000000')]);
    expect((await dailyUsageRefreshedAt(db.pool))!.getTime()).toBeGreaterThan(before!.getTime());
    expect(await rowsAs(db, `SELECT since::text, until::text, days FROM runledger.rollup_refreshes WHERE name = 'daily_usage'`))
      .toEqual([{ since: dayStr(2), until: dayStr(0), days: 1 }]); // default window: today and the two days before
  });

  it('picks up late data for a day outside the default window only with an earlier since', async () => {
    await writeTraces(db, [trace('t2', at(5), [llm('a', undefined, 7, 0.25)])]);
    expect(await refreshDailyUsage(db.pool)).toMatchObject({ days: 1 });
    expect(await usage('t2')).toEqual([]);
    expect(await refreshDailyUsage(db.pool, { since: dayAgo(4) })).toMatchObject({ days: 1 }); // still after it
    expect(await usage('t2')).toEqual([]);
    // since is the UTC day of the instant: any time on that day
    expect(await refreshDailyUsage(db.pool, { since: new Date(TODAY - 5 * DAY_MS + 23 * 3_600_000) })).toMatchObject({ days: 2 });
    expect(await usage('t2')).toEqual([row(5, 't2', 7, '0.2500000000')]);
    expect(await reconcile('t2')).toEqual([{ tokens: 7, cost: '0.2500000000', llm: 1 }, { tokens: 7, cost: '0.2500000000', llm: 1 }]);
    // a later default refresh leaves that day alone
    await refreshDailyUsage(db.pool);
    expect(await usage('t2')).toEqual([row(5, 't2', 7, '0.2500000000')]);
  });

  it('is idempotent: refreshing a window again rewrites the same rows', async () => {
    const window = { since: dayAgo(6), until: dayAgo(0) };
    await refreshDailyUsage(db.pool, window);
    const first = await rollup();
    expect(first.length).toBeGreaterThanOrEqual(2);
    const stamps = async () => (await rowsAs(db, 'SELECT DISTINCT refreshed_at FROM runledger.daily_usage_rollup')).map((r) => r.refreshed_at.getTime());
    const stamped = await stamps();
    expect(await refreshDailyUsage(db.pool, window)).toMatchObject({ days: 2 });
    expect(await refreshDailyUsage(db.pool, window)).toMatchObject({ days: 2 });
    expect(await rollup()).toEqual(first);
    expect(Math.min(...await stamps())).toBeGreaterThan(Math.max(...stamped)); // rewritten, not left as they were
  });

  it('rewrites a day whose nodes are no longer listed (usage moved to a late child on the next day)', async () => {
    // a chain node carrying usage starts just before midnight; its LLM call (the counted one) arrives
    // later and starts after midnight: the chain's usage is no longer counted, its day has nothing left
    const t = trace('t3', at(1, 0) - 2_000_000, [
      { key: 'ch', name: 'chain', at: 0, to: 4, node: { nodeType: 'CHAIN', modelName: 'm1', totalTokens: 40, totalCost: 1 } },
      llm('c', 'ch', 40, 1, 2.5),
    ]);
    await writeTraces(db, [{ ...t, items: new Map([['ch', t.items.get('ch')!]]) }]);
    await refreshDailyUsage(db.pool);
    expect(await usage('t3')).toEqual([row(2, 't3', 40, '1.0000000000', { llm_calls: 0 })]);
    await writeTraces(db, [{ ...t, items: new Map([['c', t.items.get('c')!]]) }]);
    expect(await refreshDailyUsage(db.pool)).toMatchObject({ days: 2 }); // t3's two days (t1's too)
    expect(await usage('t3')).toEqual([row(1, 't3', 40, '1.0000000000')]);
    expect(await reconcile('t3')).toEqual([{ tokens: 40, cost: '1.0000000000', llm: 1 }, { tokens: 40, cost: '1.0000000000', llm: 1 }]);
  });

  it('keeps the rows of days without nodes; sealed days are left alone', async () => {
    await writeTraces(db, [trace('t4', at(8), [llm('a', undefined, 3, 0.125)])]);
    await refreshDailyUsage(db.pool, { since: dayAgo(8) });
    expect(await usage('t4')).toEqual([row(8, 't4', 3, '0.1250000000')]);
    // the day's nodes go (as retention drops them): its rows stay
    await db.pool.query(`DELETE FROM runledger.nodes WHERE tenant_id = 't4'`);
    await refreshDailyUsage(db.pool, { since: dayAgo(8), until: dayAgo(8) });
    expect(await usage('t4')).toEqual([row(8, 't4', 3, '0.1250000000')]);
    // sealed: a late span for that day does not replace its rows
    expect(await finalizeDailyUsage(db.pool, dayAgo(7))).toBe(0); // nothing left before it
    expect(await rowsAs(db, `SELECT sealed_before::text FROM runledger.rollup_refreshes`)).toEqual([{ sealed_before: dayStr(7) }]);
    await writeTraces(db, [trace('t4', at(8, 5), [llm('a', undefined, 1, 0.5)])]);
    expect(await refreshDailyUsage(db.pool, { since: dayAgo(10) })).toMatchObject({ days: 3 }); // days 5, 2, 1 ago
    expect(await usage('t4')).toEqual([row(8, 't4', 3, '0.1250000000')]);
    // the seal only moves forward
    await finalizeDailyUsage(db.pool, dayAgo(9));
    expect(await rowsAs(db, `SELECT since::text, sealed_before::text FROM runledger.rollup_refreshes`))
      .toEqual([{ since: dayStr(7), sealed_before: dayStr(7) }]);
    await db.pool.query(`UPDATE runledger.rollup_refreshes SET sealed_before = NULL`);
    await db.pool.query(`DELETE FROM runledger.nodes WHERE tenant_id = 't4'`);
  });

  it('rejects a window that ends before it starts', async () => {
    await expect(refreshDailyUsage(db.pool, { since: dayAgo(1), until: dayAgo(2) })).rejects.toThrow(/since .* is after until/);
    await expect(refreshDailyUsage(db.pool, { since: new Date(NaN) })).rejects.toThrow(/invalid date/);
  });

  it('reads only the partitions of its window', async () => {
    const scans = async () => Object.fromEntries((await rowsAs(db, `SELECT pg_stat_clear_snapshot();
      SELECT relname, seq_scan + coalesce(idx_scan, 0) AS n FROM pg_stat_user_tables
      WHERE schemaname = 'runledger' AND relname LIKE 'nodes\\_%'`)).map((r) => [r.relname, Number(r.n)]));
    const part = (daysAgo: number) => `nodes_${dayStr(daysAgo).replaceAll('-', '')}`;
    // every day of the window has its partition (as with ongoing ingestion): the default one is skipped too
    await writeTraces(db, [trace('t9', at(0, 0), [{ key: 'ag', name: 'agent', at: 0, to: 1, node: { nodeType: 'AGENT' } }])]);
    const before = await scans();
    expect(Object.keys(before)).toEqual(expect.arrayContaining([part(1), part(5)]));
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query('SELECT runledger.refresh_daily_usage()');
    await c.end(); // the backend reports its statistics when it exits
    let after = await scans();
    for (let i = 0; i < 100 && after[part(1)] === before[part(1)]; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await scans();
    }
    expect(after[part(1)]).toBeGreaterThan(before[part(1)]!); // in the window: read
    expect(after[part(5)]).toBe(before[part(5)]); // outside it: skipped
    expect(after.nodes_default).toBe(before.nodes_default);
  });

  it('does not wait for readers of the rollup', async () => {
    const reader = new pg.Client({ connectionString: db.url });
    const refresher = new pg.Client({ connectionString: db.url });
    await reader.connect();
    await refresher.connect();
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const seen = (await reader.query('SELECT count(*)::int AS n FROM runledger.daily_usage')).rows[0].n; // holds its lock until COMMIT
      await refresher.query(`SET lock_timeout = '3s'`);
      expect(await refreshDailyUsage(refresher)).toMatchObject({ days: 3 });
      expect((await reader.query('SELECT count(*)::int AS n FROM runledger.daily_usage')).rows[0].n).toBe(seen);
      await reader.query('COMMIT');
    } finally {
      await reader.end();
      await refresher.end();
    }
  });

  it('lets concurrent callers refresh one after the other, without doubling rows', async () => {
    await writeTraces(db, [trace('t5', at(0, 0), [llm('a', undefined, 7, 0.25)]), trace('t5', at(2), [llm('a', undefined, 9, 0.5)])]);
    const clients = await Promise.all([1, 2, 3, 4, 5, 6].map(async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return c;
    }));
    try {
      const windows = [{}, { since: dayAgo(10) }, {}, { since: dayAgo(3), until: dayAgo(1) }, { since: dayAgo(10) }, {}];
      const results = await Promise.all(clients.map((c, i) => refreshDailyUsage(c, windows[i])));
      expect(results.map((r) => r.days)).toEqual([3, 4, 3, 2, 4, 3]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    expect(await usage('t5')).toEqual([row(2, 't5', 9, '0.5000000000'), row(0, 't5', 7, '0.2500000000')]);
    expect(await rowsAs(db, `SELECT day, tenant_id, pipeline, provider, model FROM runledger.daily_usage_rollup
      GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1`)).toEqual([]);
    for (const tenant of ['t1', 't2', 't3', 't5']) {
      const [u, r] = await reconcile(tenant);
      expect(u, tenant).toEqual(r);
    }
  });
});

describe('startDailyUsageRefresher', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const logs = () => {
    const warn: string[] = [];
    return { warn, log: { debug: () => {}, warn: (m: string, f?: Record<string, unknown>) => warn.push(`${m}: ${f?.error}`) } };
  };

  it('refreshes periodically, never two at a time, logs failures and goes on', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const { warn, log } = logs();
    const r = startDailyUsageRefresher(db.pool, 10, log, async (): Promise<RefreshResult> => {
      calls++;
      maxRunning = Math.max(maxRunning, ++running);
      await sleep(40); // longer than the interval
      running--;
      if (calls === 2) throw new Error('boom');
      return { days: 3, durationMs: 40 };
    });
    await sleep(400);
    await r.stop();
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(calls).toBeLessThanOrEqual(10); // 50 ms or more apart
    expect(maxRunning).toBe(1);
    expect(warn).toEqual(['daily usage rollup refresh failed: boom']);
  });

  it('stop() waits for the refresh under way, and none starts after it', async () => {
    let calls = 0;
    let finished = 0;
    const r = startDailyUsageRefresher(db.pool, 5, logs().log, async () => {
      calls++;
      await sleep(100);
      finished++;
      return { days: 0, durationMs: 100 };
    });
    await sleep(30);
    expect(calls).toBe(1);
    await r.stop();
    expect(finished).toBe(1);
    await sleep(50);
    expect(calls).toBe(1);
  });

  it('skips its turn while the rollup is fresh (another gateway refreshed it)', async () => {
    let calls = 0;
    const counted = async (): Promise<RefreshResult> => { calls++; return { days: 0, durationMs: 0 }; };
    const setRefreshedAt = (sql: string) => db.pool.query(`UPDATE runledger.rollup_refreshes SET refreshed_at = ${sql} WHERE name = 'daily_usage'`);
    await setRefreshedAt(`now() + interval '1 hour'`); // as if refreshed just now by another gateway, for an hour yet
    const r = startDailyUsageRefresher(db.pool, 10, logs().log, counted);
    try {
      await sleep(150);
      expect(calls).toBe(0);
      await setRefreshedAt(`now() - interval '1 hour'`);
      for (let i = 0; i < 100 && calls === 0; i++) await sleep(10);
      expect(calls).toBeGreaterThan(0);
    } finally {
      await r.stop();
      await setRefreshedAt('now()');
    }
  });

  it('refreshes the rollup on the real database', async () => {
    await writeTraces(db, [trace('t6', at(0, 0), [llm('a', undefined, 11, 0.5)])]);
    expect(await usage('t6')).toEqual([]);
    const { warn, log } = logs();
    const r = startDailyUsageRefresher(db.pool, 20, log);
    try {
      for (let i = 0; i < 200 && (await usage('t6')).length === 0; i++) await sleep(25);
    } finally { await r.stop(); }
    expect(await usage('t6')).toEqual([row(0, 't6', 11, '0.5000000000')]);
    expect(warn).toEqual([]);
  });
});

describe('node_tree of incomplete or malformed traces', () => {
  it('re-parents the tree when a late parent arrives, usage still counted once in the rollup', async () => {
    const t = trace('t7', at(1), [
      { key: 'gt', name: 'ai.generateText', at: 0, to: 5, node: { nodeType: 'CHAIN', modelName: 'm1', totalTokens: 40, totalCost: 1 } },
      { key: 'h', parent: 'gt', name: 'POST /v1/chat/completions', at: 0.5, to: 4.5 },
      llm('d', 'h', 40, 1),
    ]);
    const tree = () => rowsAs(db, 'SELECT node_id, parent_node_id, depth, parent_missing FROM runledger.node_tree($1) ORDER BY tree_path', [t.runId]);
    await writeTraces(db, [{ ...t, items: new Map([['d', t.items.get('d')!]]) }]);
    expect(await tree()).toEqual([{ node_id: t.id('d'), parent_node_id: null, depth: 0, parent_missing: true }]);
    await writeTraces(db, [{ ...t, items: new Map([['h', t.items.get('h')!]]) }]);
    expect(await tree()).toEqual([{ node_id: t.id('d'), parent_node_id: null, depth: 0, parent_missing: true }]);
    await writeTraces(db, [{ ...t, items: new Map([['gt', t.items.get('gt')!]]) }]);
    expect(await tree()).toEqual([
      { node_id: t.id('gt'), parent_node_id: null, depth: 0, parent_missing: false },
      { node_id: t.id('d'), parent_node_id: t.id('gt'), depth: 1, parent_missing: false },
    ]);
    await refreshDailyUsage(db.pool);
    expect(await usage('t7')).toEqual([row(1, 't7', 40, '1.0000000000')]);
    const run = await rowsAs(db, 'SELECT total_tokens::int, total_cost::text FROM runledger.runs WHERE run_id = $1', [t.runId]);
    expect(run).toEqual([{ total_tokens: 40, total_cost: '1.0000000000' }]);
  });

  it('finds a node that starts after the run ended (its end before its start: a skewed clock)', async () => {
    const t = trace('t9', at(1), [
      { key: 'r', name: 'agent', at: 0, to: 2, node: { nodeType: 'AGENT' } },
      { key: 'x', parent: 'r', name: 'tool', at: 5, to: 3, error: 'boom', node: { nodeType: 'TOOL' } },
    ]);
    await writeTraces(db, [t]);
    expect(await rowsAs(db, 'SELECT name, parent_node_id, depth FROM runledger.node_tree($1) ORDER BY exec_order', [t.runId])).toEqual([
      { name: 'agent', parent_node_id: null, depth: 0 },
      { name: 'tool', parent_node_id: t.id('r'), depth: 1 },
    ]);
    expect(await rowsAs(db, 'SELECT name, parent_node_id FROM runledger.failed_nodes WHERE run_id = $1', [t.runId]))
      .toEqual([{ name: 'tool', parent_node_id: t.id('r') }]);
    expect(await rowsAs(db, 'SELECT failed_nodes::int FROM runledger.run_summary WHERE run_id = $1', [t.runId]))
      .toEqual([{ failed_nodes: 1 }]);
  });

  it('lists the nodes of a cycle of parent ids (malformed input) without a depth', async () => {
    const t = trace('t8', at(1), [
      { key: 'a', parent: 'b', name: 'a', at: 0, to: 1, node: { nodeType: 'CHAIN' } },
      { key: 'b', parent: 'a', name: 'b', at: 0.5, to: 1, node: { nodeType: 'CHAIN' } },
      { key: 'c', parent: 'a', name: 'c', at: 0.7, to: 1, node: { nodeType: 'TOOL' } },
    ]);
    await writeTraces(db, [t]);
    expect(await rowsAs(db, 'SELECT name, parent_node_id, depth, exec_order FROM runledger.node_tree($1) ORDER BY exec_order', [t.runId])).toEqual([
      { name: 'a', parent_node_id: t.id('b'), depth: null, exec_order: 1 },
      { name: 'b', parent_node_id: t.id('a'), depth: null, exec_order: 2 },
      { name: 'c', parent_node_id: t.id('a'), depth: null, exec_order: 3 },
    ]);
  });
});
