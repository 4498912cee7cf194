/**
 * The ledger content the compat view tests read, written through the real write path (writeBatch).
 *
 * tenant acme
 *   A1 support-bot, COMPLETED, root SERVER span `invoke_agent planner` (AGENT, input {"userId":"u-42",...}):
 *        ai.generateText (CHAIN aggregate: 30/60 tokens, $0.0009, usage_counted false)
 *          ├ ai.generateText.doGenerate (LLM 10/20, $0.0003)
 *          └ POST /v1/chat/completions (plain CLIENT span) └ ai.generateText.doGenerate (LLM 20/40, $0.0006)
 *        ai.toolCall search (TOOL, FAILED: exception event RateLimitError)  → then again, COMPLETED (attempt 2)
 *        ai.embed (EMBEDDING 5 tokens, $0.0001)
 *      run totals: 35 in / 60 out / 95 tokens / $0.0010; 8 spans, 7 nodes, 1 error span
 *   A2 report-job, FAILED ("tool timed out after 30s"), environment staging, root linked to A1:
 *        chat gpt-4o-mini (LLM 100/50, $0.000045), execute_tool fetch_report (TOOL, FAILED TimeoutError)
 *   A3 support-bot, RUNNING: one LLM node whose parent span has not arrived (7/3, $0.00002)
 * tenant globex
 *   B1 support-bot, COMPLETED: one LLM root (1000/200, $0.00123457), user u-42
 */
import { prepareSpan, type PreparedSpan } from '../../src/sink/prepare.js';
import type { SpanRecord } from '../../src/otlp/types.js';
import type { NodeRecord } from '../../src/mapping/types.js';
import { resolveError } from '../../src/mapping/errors.js';
import { node, span } from '../helpers/spans.js';

export const TRACE = {
  A1: '4bf92f3577b34da6a3ce929d0e0e4736',
  A2: '5b8efff798038103d269b633813fc60c',
  A3: '0af7651916cd43dd8448eb211c80319c',
  B1: '9d4c2a7e6f1b3c5d8e0a2b4c6d8e0f1a',
} as const;

export const SPAN = {
  a: '00f067aa0ba902b7', b: '1a2b3c4d5e6f7081', c: '2b3c4d5e6f708192', h: '3c4d5e6f708192a3',
  d: '4d5e6f708192a3b4', t1: '5e6f708192a3b4c5', t2: '6f708192a3b4c5d6', e: '708192a3b4c5d6e7',
  r2: '8192a3b4c5d6e7f8', l2: '92a3b4c5d6e7f809', t3: 'a3b4c5d6e7f8091a',
  l3: 'b4c5d6e7f8091a2b', missing: 'c5d6e7f8091a2b3c',
  b1: 'd6e7f8091a2b3c4d',
} as const;

/** 10:00 UTC yesterday (µs): inside the writer's partition window, so day partitions are used. */
export const DAY_START_MS = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
export const T0 = (DAY_START_MS + 10 * 3_600_000) * 1000;
export const iso = (offsetMs: number) => new Date(T0 / 1000 + offsetMs).toISOString();

type Hints = { pipeline?: string; rank?: number; environment?: string };

function prep(traceId: string, spanId: string, parentSpanId: string | null, name: string, startMs: number, endMs: number,
  s: Partial<SpanRecord>, n: (Partial<NodeRecord> & Pick<NodeRecord, 'nodeType'>) | null, h: Hints = {}): PreparedSpan {
  const sp = span({ traceId, spanId, parentSpanId, name, startUs: T0 + startMs * 1000, endUs: T0 + endMs * 1000, ...s });
  const err = resolveError(sp); // as the mapping does: error.type → exception event → "ERROR"
  return prepareSpan({
    span: sp,
    node: n ? node({ ...err, ...n, name, status: sp.statusCode === 2 ? 'FAILED' : 'COMPLETED' }) : null,
    hints: {
      pipeline: h.pipeline ? { rank: h.rank ?? 0, value: h.pipeline } : null, environment: h.environment ?? null,
      sessionId: null, userId: null,
    },
  });
}

const acme = (service: string, version = '1.4.2') => ({
  tenantId: 'acme', serviceName: service, resource: { 'service.name': service, 'service.version': version },
});
const gpt = { provider: 'openai', requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini', modelName: 'gpt-4o-mini' };

export function fixture(): PreparedSpan[] {
  const A1 = TRACE.A1, A2 = TRACE.A2, A3 = TRACE.A3, B1 = TRACE.B1, S = SPAN;
  const api = acme('support-api');
  const job = acme('report-worker', '2.0.0');
  return [
    // A1
    prep(A1, S.a, null, 'invoke_agent planner', 0, 9000, { ...api, kind: 2 }, {
      nodeType: 'AGENT', operation: 'invoke_agent', agentName: 'planner', userId: 'u-42', sessionId: 'sess-1',
      input: '{"userId":"u-42","question":"weather in Paris?"}', output: '"It is sunny in Paris."',
    }, { pipeline: 'support-bot' }),
    prep(A1, S.b, S.a, 'ai.generateText', 100, 5000, api, {
      nodeType: 'CHAIN', operation: 'generate_text', ...gpt, inputTokens: 30, outputTokens: 60, totalTokens: 90,
      totalCost: 0.0009, costSource: 'price_table',
    }),
    prep(A1, S.c, S.b, 'ai.generateText.doGenerate', 200, 2000, {
      ...api, events: [{ name: 'gen_ai.evaluation.result', timeUs: T0 + 2_000_000,
        attributes: { 'gen_ai.evaluation.name': 'relevance', 'gen_ai.evaluation.score.value': 0.9 } }],
    }, {
      nodeType: 'LLM', operation: 'chat', ...gpt, inputTokens: 10, outputTokens: 20, totalTokens: 30,
      inputCost: 0.0000015, outputCost: 0.000012, totalCost: 0.0003, costSource: 'price_table', temperature: 0.2,
      topP: 0.9, maxTokens: 256, responseId: 'chatcmpl-1', finishReasons: ['tool_calls'],
      input: '[{"role":"user","content":"weather in Paris?"}]', promptHash: 'ab'.repeat(32),
    }),
    prep(A1, S.h, S.b, 'POST /v1/chat/completions', 2100, 4900, { ...api, kind: 3 }, null),
    prep(A1, S.d, S.h, 'ai.generateText.doGenerate', 2200, 4800, api, {
      nodeType: 'LLM', operation: 'chat', ...gpt, inputTokens: 20, outputTokens: 40, totalTokens: 60,
      totalCost: 0.0006, costSource: 'price_table', responseId: 'chatcmpl-2',
    }),
    prep(A1, S.t1, S.a, 'ai.toolCall', 5100, 5500, {
      ...api, statusCode: 2, statusMessage: 'rate limited',
      events: [{ name: 'exception', timeUs: T0 + 5_500_000, attributes: {
        'exception.type': 'RateLimitError', 'exception.message': 'rate limited',
        'exception.stacktrace': 'RateLimitError: rate limited\n    at search (tools.ts:12)' } }],
    }, { nodeType: 'TOOL', operation: 'execute_tool', toolName: 'search', toolCallId: 'call_1', input: '{"q":"Paris"}' }),
    prep(A1, S.t2, S.a, 'ai.toolCall', 5600, 6000, api, { nodeType: 'TOOL', operation: 'execute_tool',
      toolName: 'search', toolCallId: 'call_2', input: '{"q":"Paris"}', output: '{"forecast":"sunny"}' }),
    prep(A1, S.e, S.a, 'ai.embed', 6100, 8500, api, {
      nodeType: 'EMBEDDING', operation: 'embeddings', provider: 'openai', modelName: 'text-embedding-3-small',
      inputTokens: 5, totalTokens: 5, totalCost: 0.0001, costSource: 'price_table',
    }),
    // A2: one hour later, a failed batch job started from A1 (span link)
    prep(A2, S.r2, null, 'report-job', 3_600_000, 3_630_000, {
      ...job, statusCode: 2, statusMessage: 'tool timed out after 30s', links: [{ traceId: A1, spanId: S.a, attributes: {} }],
    }, { nodeType: 'CHAIN', operation: 'invoke_workflow', input: '{"report":"weekly"}' },
    { pipeline: 'report-job', environment: 'staging' }),
    prep(A2, S.l2, S.r2, 'chat gpt-4o-mini', 3_600_100, 3_601_000, job, {
      nodeType: 'LLM', operation: 'chat', ...gpt, inputTokens: 100, outputTokens: 50, totalTokens: 150,
      totalCost: 0.000045, costSource: 'price_table', output: '"calling fetch_report"',
    }),
    prep(A2, S.t3, S.r2, 'execute_tool fetch_report', 3_601_100, 3_629_000, {
      ...job, statusCode: 2, statusMessage: 'timed out', attributes: { 'error.type': 'TimeoutError' } }, {
      nodeType: 'TOOL', operation: 'execute_tool', toolName: 'fetch_report',
    }),
    // A3: running (its parent span has not arrived)
    prep(A3, S.l3, S.missing, 'chat claude', 7_200_000, 7_201_000, api, {
      nodeType: 'LLM', operation: 'chat', provider: 'anthropic', modelName: 'claude-haiku', inputTokens: 7, outputTokens: 3,
      totalTokens: 10, totalCost: 0.00002, costSource: 'reported',
    }, { pipeline: 'support-bot', rank: 2 }),
    // B1: globex
    prep(B1, S.b1, null, 'chat gpt-4o', 1_800_000, 1_802_500, {
      tenantId: 'globex', serviceName: 'globex-bot', resource: { 'service.name': 'globex-bot' }, kind: 2 }, {
      nodeType: 'LLM', operation: 'chat', provider: 'openai', modelName: 'gpt-4o', inputTokens: 1000, outputTokens: 200,
      totalTokens: 1200, totalCost: 0.00123457, costSource: 'reported', userId: 'u-42', input: '"hello"', output: '"hi"',
    }, { pipeline: 'support-bot', environment: 'production' }),
  ];
}
