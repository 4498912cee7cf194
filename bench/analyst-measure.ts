/**
 * Timing of one bench/analyst.ts query on one connection: a warm run that is an EXPLAIN (ANALYZE, FORMAT JSON)
 * — it reads what the query reads and tells which daily partitions were planned and read and what JIT compiled
 * (with TIMING OFF PostgreSQL omits the JIT times) — then the best of a few plain runs. Every run is in its own transaction,
 * rolled back (the setup's SET ROLE / search_path and the refresh examples' writes do not persist).
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import type { BenchQuery } from './analyst-queries.js';

export interface Parts { read: number; planned: number; total: number }
export interface Measured {
  /** best of `runs` timed runs (ms), null when none completed */
  ms: number | null;
  /**
   * CPU time of the server process of the connection during the fastest timed run (ms, 10 ms ticks; without
   * parallel workers), when the server runs on this machine: on a shared machine, wall time includes waiting
   * for a core, CPU time does not
   */
  cpuMs: number | null;
  runs: number;
  rows: number | null;
  error: string | null;
  /** per partitioned table (spans, nodes): partitions read (a scan executed at least once), in the plan, in all */
  parts: Record<string, Parts>;
  jitFunctions: number;
  /** JIT generation + inlining + optimisation + emission, ms (from the EXPLAIN ANALYZE run) */
  jitMs: number | null;
  /** planning + execution time of the EXPLAIN ANALYZE run (with its per-node timing overhead), ms */
  explainMs: number | null;
}
export interface Options { timeoutMs: number; runs: number; jit: 'on' | 'off' | null }

const backends = new WeakMap<pg.ClientBase, Promise<number>>();
/** user + system CPU seconds of the connection's server process so far, null when /proc does not show it */
async function backendCpu(c: pg.ClientBase): Promise<number | null> {
  let p = backends.get(c);
  if (!p) backends.set(c, (p = c.query('SELECT pg_backend_pid() AS pid').then((r) => r.rows[0].pid as number)));
  try {
    const stat = readFileSync(`/proc/${await p}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

const totals = new WeakMap<pg.ClientBase, Promise<Record<string, number>>>();
function partitionTotals(c: pg.ClientBase): Promise<Record<string, number>> {
  let p = totals.get(c);
  if (!p) {
    p = c.query(`SELECT p.relname AS parent, count(*)::int AS n FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relnamespace = 'runledger'::regnamespace GROUP BY 1`).then((r) => Object.fromEntries(r.rows.map((x) => [x.parent, x.n])));
    totals.set(c, p);
  }
  return p;
}

async function inTransaction<T>(c: pg.ClientBase, q: BenchQuery, o: Options, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL statement_timeout = ${o.timeoutMs}`);
    if (o.jit) await c.query(`SET LOCAL jit = ${o.jit}`);
    for (const s of q.setup) await c.query(s);
    return await fn();
  } finally {
    await c.query('ROLLBACK');
  }
}

interface PlanNode { 'Relation Name'?: string; 'Actual Loops'?: number; Plans?: PlanNode[] }

/** Partitions of runledger.spans / nodes in a plan and those its execution read. */
function partitions(plan: PlanNode, total: Record<string, number>): Record<string, Parts> {
  const planned = new Map<string, Set<string>>();
  const read = new Map<string, Set<string>>();
  const visit = (p: PlanNode) => {
    const m = /^(spans|nodes)_(\d{8}|default)$/.exec(p['Relation Name'] ?? '');
    if (m) {
      const add = (to: Map<string, Set<string>>) => (to.get(m[1]!) ?? to.set(m[1]!, new Set()).get(m[1]!)!).add(m[0]);
      add(planned);
      if ((p['Actual Loops'] ?? 0) > 0) add(read);
    }
    for (const c of p.Plans ?? []) visit(c);
  };
  visit(plan);
  return Object.fromEntries([...planned].map(([t, s]) => [t, { read: read.get(t)?.size ?? 0, planned: s.size, total: total[t] ?? 0 }]));
}

function jitOf(top: Record<string, any>): { functions: number; ms: number | null } {
  const j = top.JIT;
  if (!j) return { functions: 0, ms: null };
  const t = j.Timing?.Total;
  return { functions: j.Functions ?? 0, ms: typeof t === 'number' ? t : null };
}

export async function measure(c: pg.ClientBase, q: BenchQuery, o: Options): Promise<Measured> {
  const total = await partitionTotals(c);
  const out: Measured = { ms: null, cpuMs: null, runs: 0, rows: null, error: null, parts: {}, jitFunctions: 0, jitMs: null, explainMs: null };
  try {
    const top = await inTransaction(c, q, o, async () =>
      (await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${q.sql}`, q.params)).rows[0]['QUERY PLAN'][0]);
    out.explainMs = top['Execution Time'] + top['Planning Time'];
    out.parts = partitions(top.Plan, total);
    const j = jitOf(top);
    out.jitFunctions = j.functions;
    out.jitMs = j.ms;
  } catch (e) {
    out.error = (e as Error).message.includes('statement timeout') ? `> ${o.timeoutMs / 1000} s` : `error: ${(e as Error).message}`;
    // the plan alone: partitions after plan-time pruning, JIT functions
    try {
      const top = await inTransaction(c, q, o, async () =>
        (await c.query(`EXPLAIN (FORMAT JSON) ${q.sql}`, q.params)).rows[0]['QUERY PLAN'][0]);
      out.parts = partitions(top.Plan, total);
      for (const p of Object.values(out.parts)) p.read = p.planned;
      out.jitFunctions = jitOf(top).functions;
    } catch { /* the error above says it */ }
    return out;
  }
  const runs = (out.explainMs ?? 0) > 5000 ? 1 : o.runs;
  for (let i = 0; i < runs; i++) {
    try {
      const [ms, rows, cpu] = await inTransaction(c, q, o, async () => {
        const cpu0 = await backendCpu(c);
        const t0 = performance.now();
        const r = await c.query(q.sql, q.params);
        const t = performance.now() - t0;
        const cpu1 = await backendCpu(c);
        return [t, r.rowCount ?? r.rows.length, cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) * 1000] as const;
      });
      if (out.ms === null || ms < out.ms) out.cpuMs = cpu;
      out.ms = out.ms === null ? ms : Math.min(out.ms, ms);
      out.rows = rows;
      out.runs++;
    } catch (e) {
      out.error = (e as Error).message.includes('statement timeout') ? `> ${o.timeoutMs / 1000} s` : `error: ${(e as Error).message}`;
      break;
    }
  }
  return out;
}

const fmtMs = (m: Measured | null) => m === null ? '–' : m.ms !== null ? (m.ms < 100 ? m.ms.toFixed(1) : m.ms.toFixed(0)) : m.error ?? '?';
const fmtCpu = (m: Measured | null) => m?.cpuMs == null ? '–' : m.cpuMs.toFixed(0);
/** "n 3/34 s 34/34": partitions read / partitions of the table; "plan": pruned at planning, "run": at run time only, "no" */
function fmtParts(m: Measured | null): string {
  if (m === null) return '–';
  const ps = Object.entries(m.parts);
  if (ps.length === 0) return '–';
  const worst = ps.some(([, p]) => p.read >= p.total) ? 'no' : ps.some(([, p]) => p.planned >= p.total) ? 'run' : 'plan';
  return `${ps.map(([t, p]) => `${t[0]} ${p.read}/${p.total}`).join(' ')} ${worst}`;
}
const fmtJit = (m: Measured | null) => m === null ? '–' : m.jitFunctions === 0 ? 'no'
  : `${m.jitFunctions} fn${m.jitMs !== null ? `, ${m.jitMs.toFixed(0)} ms` : ''}`;

export function over(q: BenchQuery, m: Measured | null): boolean {
  if (m === null) return false;
  const limit = q.singleRun ? 50 : 1000;
  return m.ms === null || m.ms > limit;
}

/** The results as a markdown table; over-limit queries flagged (1 s, 50 ms for single-run lookups). */
export function table(results: { q: BenchQuery; owner: Measured | null; analyst: Measured | null }[], note: string): string {
  const lines = [
    `| query | limit | owner ms | cpu | rows | partitions read | JIT | analyst ms | cpu | rows | partitions read | JIT | over |`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const { q, owner, analyst } of results) {
    const flag = [over(q, owner) ? 'owner' : '', over(q, analyst) ? 'analyst' : ''].filter(Boolean).join(', ');
    lines.push(`| ${q.id}${q.maintenance ? ' (maintenance)' : ''} | ${q.singleRun ? '50 ms' : '1 s'} | ${fmtMs(owner)} | ${fmtCpu(owner)} | ` +
      `${owner?.rows ?? '–'} | ${fmtParts(owner)} | ${fmtJit(owner)} | ${fmtMs(analyst)} | ${fmtCpu(analyst)} | ${analyst?.rows ?? '–'} | ` +
      `${fmtParts(analyst)} | ${fmtJit(analyst)} | ` +
      `${flag ? `**${flag}**` : ''} |`);
  }
  const slow = results.filter((r) => over(r.q, r.owner) || over(r.q, r.analyst)).length;
  lines.push('', `${note}. cpu: CPU ms of the server process in the fastest run (10 ms ticks, parallel workers not counted). partitions read: n = runledger.nodes, s = runledger.spans (read / all); pruned at "plan" time, at "run" time only, or "no".`,
    `${slow} of ${results.length} queries over their limit (1 s; 50 ms for single-run lookups).`);
  return lines.join('\n');
}
