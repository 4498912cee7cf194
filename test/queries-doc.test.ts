/**
 * Every ```sql block of docs/queries.md (named by its first line, "-- example: name") is run against the
 * ledger of test/helpers/analyst-ledger.ts and its result checked. psql variables (:'name') are bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createTestDb, type TestDb } from './helpers/db.js';
import { A1, A2, A3, ACME_USAGE, B1, D1, D2, rowsAs, writeTraces } from './helpers/analyst-ledger.js';
import { refreshDailyUsage } from '../src/maintenance/daily-usage.js';

let db: TestDb;
const started = new Date();
beforeAll(async () => {
  db = await createTestDb('queries');
  await writeTraces(db, [A1, A2, A3, B1]);
  await refreshDailyUsage(db.pool);
});
afterAll(async () => { await db?.drop(); });

const doc = readFileSync(new URL('../docs/queries.md', import.meta.url), 'utf8');
const examples = new Map<string, string>();
for (const m of doc.matchAll(/```sql\n([\s\S]*?)```/g)) {
  const name = /^-- example: ([\w-]+)\n/.exec(m[1]!)?.[1] ?? `(unnamed) ${m[1]!.slice(0, 40)}`;
  examples.set(examples.has(name) ? `${name} (twice)` : name, m[1]!);
}

async function run(sql: string, vars: Record<string, string> = {}): Promise<any[]> {
  const names: string[] = [];
  const text = sql.replace(/:'(\w+)'/g, (_, n: string) => {
    if (!names.includes(n)) names.push(n);
    return `$${names.indexOf(n) + 1}`;
  });
  return rowsAs(db, text, names.map((n) => {
    if (!(n in vars)) throw new Error(`no value for :'${n}'`);
    return vars[n];
  }));
}

const pick = (r: any[], ...keys: string[]) => r.map((row) => Object.fromEntries(keys.map((k) => [k, row[k]])));

const checks: Record<string, { vars?: Record<string, string>; verify(rows: any[]): void }> = {
  'analyst-session': {
    verify: (r) => expect(r).toEqual(ACME_USAGE.map((x) => ({ day: x.day, pipeline: x.pipeline, model: x.model, calls: x.calls, total_cost: x.total_cost }))),
  },
  'costliest-runs': {
    verify: (r) => expect(pick(r, 'run_id', 'status', 'total_tokens', 'total_cost', 'cost_per_1k_tokens')).toEqual([
      { run_id: A2.runId, status: 'FAILED', total_tokens: '1500', total_cost: '0.0105000000', cost_per_1k_tokens: '0.0070000000' },
      { run_id: A1.runId, status: 'COMPLETED', total_tokens: '190', total_cost: '0.0009020000', cost_per_1k_tokens: '0.0047473684' },
      { run_id: B1.runId, status: 'COMPLETED', total_tokens: '10', total_cost: '0.0000100000', cost_per_1k_tokens: '0.0010000000' },
      { run_id: A3.runId, status: 'RUNNING', total_tokens: '100', total_cost: '0.0000000000', cost_per_1k_tokens: '0.0000000000' },
    ]),
  },
  'pipeline-health': {
    verify: (r) => expect(r).toEqual([
      { pipeline: 'support-bot', runs: '3', failed_runs: '1', failed_nodes: '4', tokens: '1700', cost: '0.0114120000', avg_duration_ms: 11667 },
      { pipeline: 'nightly-etl', runs: '1', failed_runs: '0', failed_nodes: '0', tokens: '100', cost: '0.0000000000', avg_duration_ms: 49000 },
    ]),
  },
  'run-tree': {
    vars: { run_id: A1.runId },
    verify: (r) => expect(pick(r, 'node', 'node_type', 'status', 'exec_order', 'total_tokens')).toEqual([
      { node: 'invoke_agent planner', node_type: 'AGENT', status: 'COMPLETED', exec_order: 1, total_tokens: null },
      { node: '  ai.generateText', node_type: 'CHAIN', status: 'COMPLETED', exec_order: 2, total_tokens: '90' },
      { node: '    ai.generateText.doGenerate', node_type: 'LLM', status: 'COMPLETED', exec_order: 3, total_tokens: '30' },
      { node: '    ai.generateText.doGenerate', node_type: 'LLM', status: 'COMPLETED', exec_order: 4, total_tokens: '60' },
      { node: '  ai.toolCall', node_type: 'TOOL', status: 'FAILED', exec_order: 5, total_tokens: null },
      { node: '  ai.embed', node_type: 'EMBEDDING', status: 'COMPLETED', exec_order: 6, total_tokens: '100' },
    ]),
  },
  'tree-shape-per-pipeline': {
    verify: (r) => expect(r).toEqual([
      { pipeline: 'nightly-etl', runs: '1', max_depth: 1, nested_llm_calls: '0', orphans: '1' },
      { pipeline: 'support-bot', runs: '3', max_depth: 2, nested_llm_calls: '3', orphans: '0' },
    ]),
  },
  'failures-by-type': {
    verify: (r) => expect(r).toEqual([
      { pipeline: 'support-bot', node_type: 'AGENT', error_type: null, failures: '1', example_message: 'rate limited' },
      { pipeline: 'support-bot', node_type: 'LLM', error_type: 'RateLimitError', failures: '1', example_message: 'rate limited' },
      { pipeline: 'support-bot', node_type: 'TOOL', error_type: 'KeyError', failures: '1', example_message: 'no such customer' },
      { pipeline: 'support-bot', node_type: 'TOOL', error_type: 'TimeoutError', failures: '1', example_message: 'search backend timed out' },
    ]),
  },
  'failures-in-context': {
    verify: (r) => expect(pick(r, 'run_id', 'name', 'error_type', 'parent_node_name', 'parent_node_status')).toEqual([
      { run_id: A2.runId, name: 'chat claude-sonnet-4', error_type: 'RateLimitError', parent_node_name: 'invoke_agent planner', parent_node_status: 'FAILED' },
      { run_id: A2.runId, name: 'invoke_agent planner', error_type: null, parent_node_name: null, parent_node_status: null },
      { run_id: A1.runId, name: 'ai.toolCall', error_type: 'TimeoutError', parent_node_name: 'invoke_agent planner', parent_node_status: 'COMPLETED' },
      { run_id: B1.runId, name: 'execute_tool lookup', error_type: 'KeyError', parent_node_name: 'invoke_agent helper', parent_node_status: 'COMPLETED' },
    ]),
  },
  refresh: { verify: (r) => expect(r).toEqual([{ days: 2 }]) }, // D1 and D2, in the last 3 days
  'refresh-last-30-days': { verify: (r) => expect(r).toEqual([{ days: 2 }]) },
  'rollup-freshness': {
    verify: (r) => {
      expect(r).toHaveLength(1);
      expect(r[0].refreshed_at.getTime()).toBeGreaterThanOrEqual(started.getTime() - 1000);
      expect(r[0].duration_ms).toBeGreaterThan(0);
      expect(['years', 'months', 'days', 'hours', 'minutes'].filter((k) => r[0].age[k])).toEqual([]); // under a minute
      const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const day = (daysAgo: number) => new Date(today - daysAgo * 86_400_000).toISOString().slice(0, 10);
      // the last example refresh: refresh-last-30-days
      expect(pick(r, 'since', 'until', 'days', 'sealed_before')).toEqual([{ since: day(30), until: day(0), days: 2, sealed_before: null }]);
    },
  },
  'daily-cost-by-model': {
    vars: { from: D2 },
    verify: (r) => expect(r).toEqual([
      { day: D2, provider: 'anthropic', model: 'claude-sonnet-4', calls: '2', tokens: '1500', cost: '0.0105000000' },
      { day: D2, provider: 'openai', model: 'text-embedding-3-small', calls: '1', tokens: '100', cost: '0.0000020000' },
    ]),
  },
  'tenant-monthly': {
    verify: (r) => {
      const months = (days: string[]) => [...new Set(days.map((d) => d.slice(0, 7) + '-01'))];
      expect(r.filter((x) => x.tenant_id === 'acme').map((x) => x.month)).toEqual(months([D1, D2]));
      expect(r.filter((x) => x.tenant_id === 'globex').map((x) => x.month)).toEqual(months([D1]));
      const total = (tenant: string, k: string) => r.filter((x) => x.tenant_id === tenant).reduce((s, x) => s + Number(x[k]), 0);
      expect([total('acme', 'llm_calls'), total('acme', 'tokens'), total('acme', 'cost')]).toEqual([5, 1790, 0.011402]);
      expect([total('globex', 'llm_calls'), total('globex', 'tokens'), total('globex', 'cost')]).toEqual([1, 10, 0.00001]);
    },
  },
  'unpriced-usage': {
    verify: (r) => expect(r).toEqual([
      { day: D1, tenant_id: 'acme', pipeline: 'nightly-etl', provider: null, model: 'local-llama', unpriced_calls: '1', total_tokens: '100' },
    ]),
  },
  'reconcile-with-runs': {
    verify: (r) => expect(r).toEqual([
      { tenant_id: 'acme', rollup_tokens: '1790', run_tokens: '1790', rollup_cost: '0.0114020000', run_cost: '0.0114020000', rollup_llm_calls: '5', run_llm_calls: '5' },
      { tenant_id: 'globex', rollup_tokens: '10', run_tokens: '10', rollup_cost: '0.0000100000', run_cost: '0.0000100000', rollup_llm_calls: '1', run_llm_calls: '1' },
    ]),
  },
};

describe('docs/queries.md', () => {
  it('has a check for every example and an example for every check', () => {
    expect([...examples.keys()].sort()).toEqual(Object.keys(checks).sort());
  });

  for (const [name, sql] of examples) {
    it(`example ${name}`, async () => {
      const check = checks[name];
      if (!check) throw new Error(`no check for example ${name}`);
      check.verify(await run(sql, check.vars));
    });
  }
});
