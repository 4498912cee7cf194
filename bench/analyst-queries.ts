/**
 * The queries bench/analyst.ts times, discovered at run time (so edits of the docs are picked up): every
 * ```sql example of docs/queries.md and README.md, and every seed pattern of test/compat/patterns/*.sql.
 * Their parameters get realistic values picked from the loaded ledger (a real run, its root node, its
 * tenant's pipeline, user, ...): psql variables by name, the patterns' $n by the column they are compared with.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { packageRoot } from '../src/db/paths.js';

export interface BenchQuery {
  /** source:name, e.g. queries.md:pipeline-health, README:the most expensive failed runs this week, compat:000_nodes_of_run */
  id: string;
  /** statements run first in the same transaction (SET ROLE, SET runledger.tenant_id, SET search_path) */
  setup: string[];
  sql: string;
  params: unknown[];
  /** a lookup inside one run (its nodes, a node's children, a trace's spans): 50 ms target instead of 1 s */
  singleRun: boolean;
  /** writes (rollup refresh examples): run as the owner only, inside a rolled-back transaction like every query */
  maintenance: boolean;
}

/** Values taken from the ledger: one run of the analyst's tenant and what belongs to it. */
export interface Sample {
  tenant: string; tenantUuid: string; runId: string; runHex: string; runStart: Date; runNodes: number;
  rootNodeId: string; rootSpanUuid: string; pipeline: string; pipelineUuid: string; service: string;
  userId: string; userUuid: string; agentUuid: string;
}

const DAY_MS = 86_400_000;

/**
 * A completed run of `tenant` started about `ageDays` ago whose node count is closest to 24 (the size the
 * issue's single-run figures were measured on), with a root span that is a node with child nodes.
 */
export async function pickSample(c: pg.ClientBase, tenant: string, ageDays: number): Promise<Sample> {
  const r = (await c.query(`
    SELECT r.run_id::text, compat.trace_hex(r.run_id) AS run_hex, r.start_time, r.total_nodes::int, r.root_span_id,
      r.pipeline, r.service_name, r.user_id, compat.tenant_uuid(r.tenant_id)::text AS tenant_uuid,
      compat.user_uuid(r.tenant_id, r.user_id)::text AS user_uuid, compat.span_uuid(r.run_id, r.root_span_id)::text AS root_uuid
    FROM runledger.runs r
    WHERE r.tenant_id = $1 AND r.status = 'COMPLETED' AND r.start_time >= now() - make_interval(days => $2)
      AND r.start_time < now() - make_interval(days => $2 - 1) AND r.root_span_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ORDER BY abs(r.total_nodes - 24), r.run_id LIMIT 1`, [tenant, ageDays])).rows[0];
  if (!r) throw new Error(`no completed run of tenant ${tenant} started ${ageDays} days ago: is the ledger loaded?`);
  // the executions view derives the task and agent ids of the run (compat.md): read them rather than recompute
  const e = (await c.query(`SELECT task_id::text, agent_id::text FROM compat.executions WHERE id = $1`, [r.run_id])).rows[0];
  return {
    tenant, tenantUuid: r.tenant_uuid, runId: r.run_id, runHex: r.run_hex, runStart: r.start_time, runNodes: r.total_nodes,
    rootNodeId: r.root_span_id, rootSpanUuid: r.root_uuid, pipeline: r.pipeline, pipelineUuid: e.task_id, service: r.service_name,
    userId: r.user_id, userUuid: r.user_uuid, agentUuid: e.agent_id,
  };
}

/** Split a ```sql block into statements (on ';' at a line end) with the comment lines just above each. */
function statements(block: string): { comment: string; sql: string }[] {
  const out: { comment: string; sql: string }[] = [];
  let comment: string[] = [];
  let sql: string[] = [];
  for (const line of block.split('\n')) {
    if (sql.length === 0 && /^\s*--/.test(line)) comment.push(line.replace(/^\s*--\s*/, ''));
    else if (line.trim() !== '' || sql.length > 0) sql.push(line);
    if (sql.length > 0 && /;\s*(--.*)?$/.test(line)) {
      out.push({ comment: comment.join(' '), sql: sql.join('\n').replace(/;\s*(--.*)?$/, '').trim() });
      comment = [];
      sql = [];
    }
  }
  if (sql.some((l) => l.trim() !== '')) out.push({ comment: comment.join(' '), sql: sql.join('\n').trim() });
  return out;
}

/** psql variables (:'name') of the docs, by name. */
function psqlVar(name: string, s: Sample, now: Date): unknown {
  switch (name) {
    case 'run_id': return s.runId;
    case 'from': return new Date(now.getTime() - 7 * DAY_MS).toISOString().slice(0, 10);
    default: throw new Error(`bench/analyst-queries.ts: no value for the psql variable :'${name}': add one to psqlVar()`);
  }
}

/** The SELECT statements of a markdown file's ```sql blocks; SET statements before one are its setup. */
export function docQueries(file: 'docs/queries.md' | 'README.md', s: Sample, now: Date): BenchQuery[] {
  const text = readFileSync(join(packageRoot(), file), 'utf8');
  const source = file === 'README.md' ? 'README' : 'queries.md';
  const out: BenchQuery[] = [];
  for (const m of text.matchAll(/```sql\n([\s\S]*?)```/g)) {
    const setup: string[] = [];
    const example = /^-- example: ([\w-]+)/.exec(m[1]!)?.[1];
    for (const st of statements(m[1]!)) {
      if (/^SET\s/i.test(st.sql)) { setup.push(st.sql); continue; }
      if (!/^(SELECT|WITH)\b/i.test(st.sql)) continue; // INSERT / UPDATE examples (API keys, bindings) change the ledger
      const names: string[] = [];
      const sql = st.sql.replace(/:'(\w+)'/g, (_, n: string) => {
        if (!names.includes(n)) names.push(n);
        return `$${names.indexOf(n) + 1}`;
      });
      const name = example ?? (st.comment.replace(/^example: /, '') || st.sql.replace(/\s+/g, ' ').slice(0, 50));
      out.push({
        id: `${source}:${name}`, setup: [...setup], sql, params: names.map((n) => psqlVar(n, s, now)),
        singleRun: names.includes('run_id'), maintenance: /refresh_daily_usage|finalize_daily_usage/.test(sql),
      });
    }
  }
  return out;
}

/**
 * Queries of issue 12's table that no document holds (yet): the failed nodes of today through the view's
 * `day` and through `start_time`, and a run's rows read from the tables themselves (the floor for the views).
 */
export function issueQueries(s: Sample): BenchQuery[] {
  const q = (id: string, sql: string, params: unknown[] = [], singleRun = false): BenchQuery =>
    ({ id: `issue:${id}`, setup: [], sql, params, singleRun, maintenance: false });
  return [
    q('failed-nodes-day-today', `SELECT run_id, node_id, pipeline, name, error_type, parent_node_name FROM runledger.failed_nodes
      WHERE day = (now() AT TIME ZONE 'UTC')::date ORDER BY start_time`),
    q('failed-nodes-since-midnight', `SELECT run_id, node_id, pipeline, name, error_type, parent_node_name FROM runledger.failed_nodes
      WHERE start_time >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' ORDER BY start_time`),
    q('nodes-table-of-run', `SELECT node_id, node_type, name, status, start_time FROM runledger.nodes WHERE run_id = $1 ORDER BY start_time, node_id`,
      [s.runId], true),
    q('spans-table-of-trace', `SELECT span_id, parent_span_id, name, start_time FROM runledger.spans WHERE trace_id = $1 ORDER BY start_time, span_id`,
      [s.runId], true),
  ];
}

type Kind = 'run' | 'node' | 'other';

/**
 * The value of a seed pattern's $n, from the column it is compared with (and that column's type in the
 * compat view: a run id is a uuid in one seed, 32 hex digits in another) — or null when no rule applies.
 */
async function patternParam(c: pg.ClientBase, sql: string, n: number, s: Sample, now: Date): Promise<[unknown, Kind] | null> {
  const views = new Map<string, string>();
  let first: string | null = null;
  for (const m of sql.matchAll(/\b(?:FROM|JOIN)\s+([a-z_]+)(?:\s+(?:AS\s+)?([a-z_]+))?/gi)) {
    const view = m[1]!.toLowerCase();
    first ??= view;
    views.set(view, view);
    if (m[2] && !/^(where|on|left|right|inner|join|group|order|limit|cross|full|using)$/i.test(m[2])) views.set(m[2].toLowerCase(), view);
  }
  if (new RegExp(`\\(\\s*\\$${n}\\s*\\|\\|\\s*' days'`).test(sql)) return ['7', 'other']; // retention days
  const m = new RegExp(`(?:([a-z_]+)\\.)?([a-z_]+)(?:\\s*->>\\s*'(\\w+)')?\\s*(=|>=|<=|<|>|@>)\\s*\\$${n}\\b`, 'i').exec(sql);
  if (!m || first === null) return null;
  const view = m[1] ? views.get(m[1].toLowerCase()) : first;
  const col = m[2]!.toLowerCase();
  const op = m[4]!;
  if (!view) return null;
  const type: string = (await c.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
    WHERE attrelid = to_regclass('compat.' || $1) AND attname = $2`, [view, col])).rows[0]?.t ?? '';
  const uuid = type === 'uuid';
  if (m[3] === 'userId') return [s.userId, 'other'];
  if (['run_id', 'id', 'trace_id', 'execution_id', 'run_key'].includes(col)) return [uuid ? s.runId : s.runHex, 'run'];
  if (['node_id', 'parent_node_id'].includes(col)) return [s.rootNodeId, 'node'];
  if (['span_id', 'parent_span_id'].includes(col)) return [s.rootSpanUuid, 'node'];
  if (col === 'tenant_id') return [uuid ? s.tenantUuid : s.tenant, 'other'];
  if (['pipeline', 'workflow_name'].includes(col) || (col === 'workflow_id' && !uuid)) return [s.pipeline, 'other'];
  if (col === 'workflow_id' || col === 'task_id') return [s.pipelineUuid, 'other'];
  if (col === 'agent_id') return [s.agentUuid, 'other'];
  if (col === 'domain' || col === 'service_name') return [s.service, 'other'];
  if (col === 'user_id' || col === 'triggered_by_user') return [uuid ? s.userUuid : s.userId, 'other'];
  if (col === 'created_by') return [s.userId, 'other'];
  if (op === '@>') return [JSON.stringify({ pipeline: s.pipeline }), 'other'];
  if (col === 'status') {
    // the failed status in the view's own vocabulary (FAILED, failed)
    const v: string = (await c.query(`SELECT status FROM compat.${view} LIMIT 1`)).rows[0]?.status ?? 'failed';
    return [v === v.toUpperCase() ? 'FAILED' : 'failed', 'other'];
  }
  if (/time|_at$/.test(col)) {
    // a lower bound alone: the last 7 days; a lower and an upper bound: one day, 3 to 2 days ago
    const upper = new RegExp(`${col}\\s*<=?\\s*\\$\\d+`, 'i').test(sql);
    const lower = upper ? now.getTime() - 3 * DAY_MS : now.getTime() - 7 * DAY_MS;
    const t = new Date(op.startsWith('<') ? lower + DAY_MS : lower);
    const iso = t.toISOString();
    if (type === 'timestamp with time zone') return [iso, 'other'];
    if (type === 'timestamp without time zone') return [iso.replace('T', ' ').replace('Z', ''), 'other'];
    return [iso.replace(/\.(\d{3})Z$/, '.$1000Z'), 'other']; // seed 003: ISO text with microseconds
  }
  return null;
}

/** Every seed pattern of test/compat/patterns, with its parameters. */
export async function compatQueries(c: pg.ClientBase, s: Sample, now: Date): Promise<BenchQuery[]> {
  const dir = join(packageRoot(), 'test', 'compat', 'patterns');
  const out: BenchQuery[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const sql = readFileSync(join(dir, file), 'utf8').trim().replace(/;\s*$/, '');
    const count = Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    const params: unknown[] = [];
    let singleRun = false;
    for (let n = 1; n <= count; n++) {
      const p = await patternParam(c, sql, n, s, now);
      if (p === null) throw new Error(`bench/analyst-queries.ts: no value for $${n} of ${file}: add a rule to patternParam()`);
      params.push(p[0]);
      singleRun ||= p[1] !== 'other';
    }
    out.push({ id: `compat:${file.replace(/\.sql$/, '')}`, setup: ['SET search_path = compat'], sql, params, singleRun, maintenance: false });
  }
  return out;
}
