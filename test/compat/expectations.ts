/**
 * Parameters and expected results of the seed query patterns in test/compat/patterns/*.sql, over the
 * fixture (fixture.ts), read as the ledger's owner. Ids are derived here independently of the SQL, as
 * docs/compat.md documents them. pg returns numeric and bigint as strings.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { SPAN as S, TRACE as T, iso } from './fixture.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
export const uuid = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
export const ids = {
  run: (trace: string) => uuid(trace),
  span: (trace: string, span: string) => uuid(md5(trace + span)),
  tenant: (t: string) => uuid(md5(`tenant:${t}`)),
  user: (t: string, u: string) => uuid(md5(`user:${t}/${u}`)),
  pipeline: (t: string, p: string) => uuid(md5(`pipeline:${t}/${p}`)),
  agent: (t: string, a: string) => uuid(md5(`agent:${t}/${a}`)),
};
/** the seed 003 text timestamps: ISO-8601 UTC with microseconds */
export const isoUs = (offsetMs: number) => iso(offsetMs).replace(/Z$/, '000Z');
const H = 3_600_000;
const [A1, A2, A3, B1] = [T.A1, T.A2, T.A3, T.B1].map(ids.run) as [string, string, string, string];
const sortBy = (k: string) => (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => String(a[k]).localeCompare(String(b[k])));

export interface Pattern { params: unknown[]; rows?: unknown[]; check?: (rows: Record<string, any>[]) => void }

const rl = 'RateLimitError';
const a1Steps = [
  ['planner', 'agent', 'COMPLETED', 1], ['ai.generateText', 'chain', 'COMPLETED', 1],
  ['ai.generateText.doGenerate', 'llm', 'COMPLETED', 1], ['ai.generateText.doGenerate', 'llm', 'COMPLETED', 2],
  ['search', 'tool', 'FAILED', 1], ['search', 'tool', 'COMPLETED', 2], ['ai.embed', 'embedding', 'COMPLETED', 1],
] as const;

export const PATTERNS: Record<string, Pattern> = {
  '000_runs_by_tenant_window': { params: ['acme', iso(0.5 * H), iso(3 * H)], rows: [
    { run_id: A2, pipeline: 'report-job', status: 'FAILED', total_nodes: 3, total_tokens: 150, total_cost: '0.000045', duration_ms: '30000' },
    { run_id: A3, pipeline: 'support-bot', status: 'RUNNING', total_nodes: 1, total_tokens: 10, total_cost: '0.000020', duration_ms: null },
  ] },
  '000_runs_by_tenant_pipeline': { params: ['acme', 'support-bot', iso(0)], rows: [
    { run_id: A3, status: 'RUNNING', start_time: new Date(iso(2 * H)) },
    { run_id: A1, status: 'COMPLETED', start_time: new Date(iso(0)) },
  ] },
  '000_running_runs': { params: [], rows: [
    { run_id: A3, pipeline: 'support-bot', end_time: null, duration_ms: null, total_cost: '0.000020' },
  ] },
  '000_runs_by_pipeline': { params: ['support-bot'], rows: [
    { run_id: A1, status: 'COMPLETED', total_nodes: 7, total_cost: '0.001000', total_tokens: 95, total_prompt_tokens: 35,
      total_completion_tokens: 60, currency: 'USD', error_message: null, failure_stage: null },
    { run_id: B1, status: 'COMPLETED', total_nodes: 1, total_cost: '0.001235', total_tokens: 1200, total_prompt_tokens: 1000,
      total_completion_tokens: 200, currency: 'USD', error_message: null, failure_stage: null },
    { run_id: A3, status: 'RUNNING', total_nodes: 1, total_cost: '0.000020', total_tokens: 10, total_prompt_tokens: 7,
      total_completion_tokens: 3, currency: 'USD', error_message: null, failure_stage: null },
  ] },
  '000_run_input_user': { params: ['u-42'], rows: [{ run_id: A1, pipeline: 'support-bot' }] },
  '000_nodes_of_run': { params: [A1], rows: ([
    [S.a, 'PLANNER', 'COMPLETED', null, 0, 0, 1], [S.b, 'SEQUENCE', 'COMPLETED', S.a, 1, 1, 1],
    [S.c, 'MODEL', 'COMPLETED', S.b, 2, 2, 1], [S.d, 'MODEL', 'COMPLETED', S.b, 3, 2, 2],
    [S.t1, 'TOOL', 'FAILED', S.a, 4, 1, 1], [S.t2, 'TOOL', 'COMPLETED', S.a, 5, 1, 2], [S.e, 'MODEL', 'COMPLETED', S.a, 6, 1, 1],
  ] as const).map(([node_id, node_type, status, parent_node_id, execution_order, depth, attempt]) =>
    ({ node_id, node_type, status, parent_node_id, execution_order, depth, attempt, retry_count: attempt - 1 })) },
  '000_failed_nodes': { params: ['acme'], rows: [
    { run_id: A1, node_id: S.t1, node_type: 'TOOL', error_message: 'rate limited', failure_type: rl, error_code: rl,
      error_details: { type: rl, message: 'rate limited', stacktrace: 'RateLimitError: rate limited\n    at search (tools.ts:12)' } },
    { run_id: A2, node_id: S.r2, node_type: 'SEQUENCE', error_message: 'tool timed out after 30s', failure_type: 'ERROR',
      error_code: 'ERROR', error_details: { type: 'ERROR', message: 'tool timed out after 30s' } },
    { run_id: A2, node_id: S.t3, node_type: 'TOOL', error_message: 'timed out', failure_type: 'TimeoutError',
      error_code: 'TimeoutError', error_details: { type: 'TimeoutError', message: 'timed out' } },
  ] },
  // the MODEL nodes' own costs add up to the run's total here: the aggregate (ai.generateText) is a SEQUENCE
  '000_ai_steps_cost': { params: [A1], rows: [
    { node_type: 'MODEL', nodes: '3', input_tokens: '35', output_tokens: '60', cost: '0.001000' },
    { node_type: 'PLANNER', nodes: '1', input_tokens: null, output_tokens: null, cost: null },
  ] },
  '000_children_of_node': { params: [S.b], rows: [
    { node_id: S.c, node_type: 'MODEL', depth: 2 }, { node_id: S.d, node_type: 'MODEL', depth: 2 },
  ] },
  '000_replay': { params: [A1], rows: [
    { node_id: S.c, prompt_hash: 'ab'.repeat(32), tool_calls_json: null, provider_request_id: 'chatcmpl-1',
      model_config_json: { request_model: 'gpt-4o-mini', temperature: 0.2, top_p: 0.9, max_tokens: 256 },
      temperature: '0.2000', top_p: '0.9000' },
    { node_id: S.t1, prompt_hash: null, model_config_json: null, provider_request_id: null, temperature: null, top_p: null,
      tool_calls_json: [{ id: 'call_1', name: 'search', arguments: { q: 'Paris' } }] },
    { node_id: S.t2, prompt_hash: null, model_config_json: null, provider_request_id: null, temperature: null, top_p: null,
      tool_calls_json: [{ id: 'call_2', name: 'search', arguments: { q: 'Paris' }, result: { forecast: 'sunny' } }] },
  ] },
  '000_run_with_nodes': { params: ['acme'], rows: [
    { run_id: A3, total_nodes: 1, node_rows: '1' }, { run_id: A1, total_nodes: 7, node_rows: '7' },
    { run_id: A2, total_nodes: 3, node_rows: '3' },
  ] },

  '001_get_run_with_step_runs': { params: [A2], check: (rows) => {
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: A2, tenant_id: ids.tenant('acme'), workflow_id: ids.pipeline('acme', 'report-job'),
      workflow_version: 1, status: 'failed', mode: 'test', input: { report: 'weekly' }, error: 'tool timed out after 30s',
      triggered_by: 'manual', triggered_by_user: null, created_at: new Date(iso(H)), completed_at: new Date(iso(H + 30_000)) });
    expect(sortBy('step_name')(rows[0].step_runs).map((s) => [s.id, s.step_name, s.status, s.attempt, s.error])).toEqual([
      [ids.span(T.A2, S.l2), 'chat gpt-4o-mini', 'completed', 1, null],
      [ids.span(T.A2, S.t3), 'fetch_report', 'failed', 1, 'timed out'],
      [ids.span(T.A2, S.r2), 'report-job', 'failed', 1, 'tool timed out after 30s'],
    ]);
  } },
  '001_count_runs_by_status': { params: [ids.tenant('acme'), iso(0)], check: (rows) =>
    expect(sortBy('status')(rows)).toEqual([{ status: 'completed', count: '1' }, { status: 'failed', count: '1' }, { status: 'running', count: '1' }]) },
  '001_runs_by_workflow': { params: [ids.tenant('acme'), ids.pipeline('acme', 'support-bot')], rows: [
    { id: A1, status: 'completed', mode: 'production', triggered_by: 'webhook', started_at: new Date(iso(0)), completed_at: new Date(iso(9000)) },
    { id: A3, status: 'running', mode: 'production', triggered_by: 'manual', started_at: new Date(iso(2 * H)), completed_at: null },
  ] },
  '001_runs_by_status': { params: [ids.tenant('acme'), 'failed'], rows: [{ id: A2, error: 'tool timed out after 30s' }] },
  '001_step_runs_of_run': { params: [A1], rows: a1Steps.map(([step_name, , status, attempt], i) => ({
    step_name, status: status.toLowerCase(), attempt, error: i === 4 ? 'rate limited' : null,
    duration_ms: [9000, 4900, 1800, 2600, 400, 400, 2400][i] })) },

  '002_traces_by_workflow': { params: ['support-bot'], rows: [
    { trace_id: A3, execution_id: T.A3, status: 'running', total_duration_ms: 0, total_cost: '0.000020' },
    { trace_id: B1, execution_id: T.B1, status: 'completed', total_duration_ms: 2500, total_cost: '0.001235' },
    { trace_id: A1, execution_id: T.A1, status: 'completed', total_duration_ms: 9000, total_cost: '0.001000' },
  ] },
  '002_trace_by_execution_id': { params: [T.A2], check: (rows) => {
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ trace_id: A2, workflow_id: 'report-job', execution_id: T.A2, user_id: null,
      query: '{"report": "weekly"}', status: 'failed', error: 'tool timed out after 30s', total_cost: '0.000045',
      total_duration_ms: 30_000, total_tokens: { input: 100, output: 50, total: 150, cache_read: 0, cache_write: 0, reasoning: 0 },
      metadata: { tenant_id: 'acme', environment: 'staging', models: ['gpt-4o-mini'], span_count: 3, error_count: 2 } });
  } },
  '002_traces_by_user': { params: [ids.user('acme', 'u-42')], rows: [{ trace_id: A1, workflow_id: 'support-bot' }] },
  '002_traces_by_status': { params: ['failed'], rows: [{ trace_id: A2, error: 'tool timed out after 30s' }] },
  '002_traces_metadata': { params: ['{"models":["gpt-4o-mini"]}'], check: (rows) =>
    expect(rows.map((r) => r.trace_id).sort()).toEqual([A1, A2].sort()) },
  '002_cost_forecasting': { params: [], rows: [{ day: iso(0).slice(0, 10), traces: '4', cost: '0.002300', tokens: '1455' }] },
  '002_cleanup_candidates': { params: ['0'], rows: [{ deleted_count: '2' }] },
  '002_spans_of_trace': { params: [A1], check: (rows) => {
    const u = (s: string | null) => (s === null ? null : ids.span(T.A1, s));
    expect(rows.map((r) => [r.span_id, r.parent_span_id, r.span_type, r.status, r.child_spans])).toEqual([
      [u(S.a), null, 'agent', 'completed', [S.b, S.t1, S.t2, S.e].map(u)], [u(S.b), u(S.a), 'chain', 'completed', [S.c, S.h].map(u)],
      [u(S.c), u(S.b), 'llm', 'completed', []], [u(S.h), u(S.b), 'span', 'completed', [u(S.d)]],
      [u(S.d), u(S.h), 'llm', 'completed', []], [u(S.t1), u(S.a), 'tool', 'failed', []],
      [u(S.t2), u(S.a), 'tool', 'completed', []], [u(S.e), u(S.a), 'embedding', 'completed', []],
    ]);
    expect(rows.map((r) => r.duration_ms)).toEqual([9000, 4900, 1800, 2800, 2600, 400, 400, 2400]);
  } },
  '002_child_spans': { params: [ids.span(T.A1, S.b)], rows: [
    { name: 'ai.generateText.doGenerate', span_type: 'llm' }, { name: 'POST /v1/chat/completions', span_type: 'span' },
  ] },
  '002_cost_breakdown': { params: [A1], rows: [
    { span_type: 'chain', model: 'gpt-4o-mini', spans: '1', cost: '0.000900', tokens: '90', counted_cost: null },
    { span_type: 'embedding', model: 'text-embedding-3-small', spans: '1', cost: '0.000100', tokens: '5', counted_cost: '0.000100' },
    { span_type: 'llm', model: 'gpt-4o-mini', spans: '2', cost: '0.000900', tokens: '90', counted_cost: '0.000900' },
  ] },
  '002_failed_spans': { params: [], rows: [
    { name: 'ai.toolCall', span_type: 'tool', error: 'rate limited', error_type: rl,
      error_stack: 'RateLimitError: rate limited\n    at search (tools.ts:12)' },
    { name: 'report-job', span_type: 'chain', error: 'tool timed out after 30s', error_type: 'ERROR', error_stack: null },
    { name: 'execute_tool fetch_report', span_type: 'tool', error: 'timed out', error_type: 'TimeoutError', error_stack: null },
  ] },
  // acme's u-42 owns A1; A2 and A3 have no user; globex's u-42 is another user
  '002_spans_own_traces': { params: [ids.user('acme', 'u-42')], check: (rows) => {
    expect(rows).toHaveLength(12);
    expect(rows.map((r) => r.name)).not.toContain('chat gpt-4o');
    expect(rows.map((r) => r.name).slice(-4)).toEqual(['report-job', 'chat gpt-4o-mini', 'execute_tool fetch_report', 'chat claude']);
  } },

  '003_runs_by_status': { params: ['FAILED'], rows: [
    { run_id: T.A2, workflow_name: 'report-job', completed_steps: 1, failed_steps: 2, total_steps: 3 },
  ] },
  '003_runs_by_name': { params: ['support-bot'], rows: [
    { run_id: T.A3, status: 'RUNNING', started_at: isoUs(2 * H), duration_ms: null },
    { run_id: T.B1, status: 'COMPLETED', started_at: isoUs(0.5 * H), duration_ms: 2500 },
    { run_id: T.A1, status: 'COMPLETED', started_at: isoUs(0), duration_ms: 9000 },
  ] },
  '003_runs_by_domain': { params: ['report-worker'], rows: [{ run_id: T.A2, workflow_name: 'report-job' }] },
  '003_runs_started_window': { params: [isoUs(0.5 * H), isoUs(2 * H)], rows: [
    { run_id: T.B1, started_at: isoUs(0.5 * H) }, { run_id: T.A2, started_at: isoUs(H) },
  ] },
  '003_failed_runs': { params: [isoUs(0)], rows: [
    { run_id: T.A2, error: 'tool timed out after 30s', error_category: 'TimeoutError', triggered_by: 'parent_workflow', parent_run_id: T.A1 },
  ] },
  '003_steps_of_run': { params: [T.A1], rows: a1Steps.map(([step_name, step_type, status, attempt], step_order) =>
    ({ step_name, step_type, step_order, status, attempt, error_category: step_order === 4 ? rl : null })) },
  '003_step_runs_join': { params: [], rows: [
    { run_id: T.A3, total_steps: 1, steps: '1', failed: '0' }, { run_id: T.A1, total_steps: 7, steps: '7', failed: '1' },
    { run_id: T.A2, total_steps: 3, steps: '3', failed: '2' }, { run_id: T.B1, total_steps: 1, steps: '1', failed: '0' },
  ] },
  '003_step_unique': { params: [], rows: [] },

  '004_time_window_hourly': { params: [iso(0), iso(3 * H)], check: (rows) =>
    expect(rows.map((r) => ({ ...r, hour: r.hour.toISOString() }))).toEqual([
      { hour: iso(0), executions: '2', cost_usd: '0.0022', token_input: '1035', token_output: '260' },
      { hour: iso(H), executions: '1', cost_usd: '0.0000', token_input: '100', token_output: '50' },
      { hour: iso(2 * H), executions: '1', cost_usd: '0.0000', token_input: '7', token_output: '3' },
    ]) },
  '004_agent_dashboard': { params: [ids.agent('acme', 'planner'), iso(0)], rows: [
    { id: A1, run_key: T.A1, status: 'succeeded', started_at: new Date(iso(0)), duration_ms: 9000, cost_usd: '0.0010' },
  ] },
  '004_top_agents': { params: [iso(0)], rows: [
    { agent_id: ids.agent('globex', 'globex-bot'), executions: '1', cost_usd: '0.0012', tokens: '1200' },
    { agent_id: ids.agent('acme', 'planner'), executions: '1', cost_usd: '0.0010', tokens: '95' },
    [{ agent_id: ids.agent('acme', 'report-worker'), executions: '1', cost_usd: '0.0000', tokens: '150' },
      { agent_id: ids.agent('acme', 'support-api'), executions: '1', cost_usd: '0.0000', tokens: '10' }]
      .sort((a, b) => a.agent_id.localeCompare(b.agent_id))[0],
  ] },
  '004_task_slice': { params: [ids.pipeline('acme', 'support-bot'), iso(0)], rows: [
    { executions: '2', succeeded: '1', cost_usd: '0.0010', max_duration_ms: 9000 },
  ] },
  '004_status_window': { params: [iso(0)], rows: [
    { status: 'running', environment: 'prod', executions: '1' }, { status: 'succeeded', environment: 'prod', executions: '2' },
    { status: 'timeout', environment: 'staging', executions: '1' },
  ] },
  '004_constraints': { params: [], rows: [] },
};
