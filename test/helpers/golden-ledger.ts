/**
 * A fixed GenAI ledger for golden comparisons of the views (test/views-golden.test.ts): seeded ids, fixed
 * times over four days, two tenants (one trace id shared by both), pipelines, agents over LLM and tool calls,
 * aggregates, spans between nodes that are not nodes, retries of a step, failures, content, missing parents
 * and a cycle — delivered as shuffled requests, some re-sent.
 */
import type { MappedSpan, NodeRecord } from '../../src/mapping/types.js';
import type { SpanRecord } from '../../src/otlp/types.js';
import { prepareSpans, type PreparedSpan } from '../../src/sink/prepare.js';
import { chunks, node, shuffle, span } from './spans.js';

const DAY_US = 86_400_000_000;
const T0 = Date.UTC(2026, 10, 2) * 1000; // 2026-11-02T00:00Z, µs
const PIPELINES = ['support-bot', 'nightly-etl', 'research'];
const MODELS = [
  { provider: 'openai', modelName: 'gpt-4o-mini', price: [0.15e-6, 0.6e-6] },
  { provider: 'anthropic', modelName: 'claude-sonnet-4', price: [3e-6, 15e-6] },
  { provider: null, modelName: 'local-llama', price: null },
] as const;

function hexOf(rand: () => number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
  return s;
}

const hints = (pipeline: string | null, rank = 0): MappedSpan['hints'] =>
  ({ pipeline: pipeline ? { rank, value: pipeline } : null, environment: pipeline ? 'prod' : null, sessionId: null, userId: null });

/** One agent run: an agent over steps (LLM calls, some behind an aggregate and an HTTP span; tool calls, retried). */
function agentRun(rand: () => number, tenantId: string, traceId: string, t0: number, pipeline: string, opts: { root: boolean; fail: boolean }): MappedSpan[] {
  const out: MappedSpan[] = [];
  const id = () => hexOf(rand, 8);
  const rootId = id();
  const add = (spanId: string, parentSpanId: string | null, name: string, at: number, len: number, n: (Partial<NodeRecord> & Pick<NodeRecord, 'nodeType'>) | null,
    extra: Partial<SpanRecord> = {}, h = hints(null)) => {
    const failed = extra.statusCode === 2;
    out.push({
      span: span({ traceId, spanId, parentSpanId, tenantId, name, startUs: t0 + at, endUs: t0 + at + len, kind: n ? 1 : 3, ...extra }),
      node: n ? node({ name, status: failed ? 'FAILED' : 'COMPLETED', ...n }) : null,
      hints: h,
    });
  };
  const agentName = ['planner', 'researcher', null][Math.floor(rand() * 3)]!;
  if (opts.root) {
    add(rootId, null, `invoke_agent ${agentName ?? 'agent'}`, 0, 60_000_000, { nodeType: 'AGENT', operation: 'invoke_agent', agentName,
      sessionId: `sess-${Math.floor(rand() * 4)}`, userId: `user-${Math.floor(rand() * 3)}`, input: '[{"role":"user","content":"hi"}]',
      errorMessage: opts.fail ? 'agent gave up' : null }, opts.fail ? { statusCode: 2, statusMessage: 'agent gave up' } : {}, hints(pipeline));
  }
  const steps = 2 + Math.floor(rand() * 5);
  let at = 1_000_000;
  for (let i = 0; i < steps; i++) {
    const m = MODELS[Math.floor(rand() * MODELS.length)]!;
    const inTok = 10 + Math.floor(rand() * 1000);
    const outTok = Math.floor(rand() * 500);
    const cost = m.price ? inTok * m.price[0] + outTok * m.price[1] : null;
    const llm = (parent: string, name: string, start: number, fail = false) => add(id(), parent, name, start, 2_000_000, {
      nodeType: 'LLM', operation: 'chat', provider: m.provider, requestModel: m.modelName, modelName: m.modelName, responseModel: m.modelName,
      inputTokens: inTok, outputTokens: outTok, totalTokens: inTok + outTok, totalCost: cost, costSource: cost === null ? null : 'price_table',
      finishReasons: fail ? null : ['stop'], output: fail ? null : `{"text":"answer ${i}"}`, input: `[{"role":"user","content":"q${i}"}]`,
      errorType: fail ? 'RateLimitError' : null, errorMessage: fail ? 'rate limited' : null,
    }, fail ? { statusCode: 2, statusMessage: 'rate limited' } : {});
    const kind = rand();
    if (kind < 0.35) llm(rootId, `chat ${m.modelName}`, at, rand() < 0.15);
    else if (kind < 0.6) { // an aggregate over a call behind an HTTP span
      const agg = id();
      const http = id();
      add(agg, rootId, 'ai.generateText', at, 3_000_000, { nodeType: 'CHAIN', modelName: m.modelName, inputTokens: inTok, outputTokens: outTok,
        totalTokens: inTok + outTok, totalCost: cost });
      add(http, agg, 'POST /v1/chat/completions', at + 100_000, 2_800_000, null);
      llm(http, 'ai.generateText.doGenerate', at + 200_000);
    } else { // a tool call, retried when it fails
      const tool = ['search', 'lookup'][Math.floor(rand() * 2)]!;
      const fails = rand() < 0.4;
      add(id(), rootId, `execute_tool ${tool}`, at, 500_000, { nodeType: 'TOOL', operation: 'execute_tool', toolName: tool, toolCallId: id(),
        errorType: fails ? 'TimeoutError' : null, errorMessage: fails ? `${tool} timed out` : null },
      fails ? { statusCode: 2, statusMessage: `${tool} timed out` } : {});
      if (fails) add(id(), rootId, `execute_tool ${tool}`, at + 600_000, 500_000, { nodeType: 'TOOL', operation: 'execute_tool', toolName: tool,
        output: '{"hits":3}' });
    }
    at += 4_000_000 + (rand() < 0.2 ? 0 : Math.floor(rand() * 1000)); // some steps start together: ties by id
  }
  if (rand() < 0.3) { // an embedding and a retriever under a chain whose parent never arrives
    const chain = id();
    add(chain, id(), 'retrieve context', at, 1_000_000, { nodeType: 'CHAIN' }, {}, hints(pipeline, 1));
    add(id(), chain, 'embeddings text-embedding-3-small', at + 10, 200_000, { nodeType: 'EMBEDDING', operation: 'embeddings', provider: 'openai',
      modelName: 'text-embedding-3-small', inputTokens: 42, totalTokens: 42, totalCost: 42 * 0.02e-6, costSource: 'price_table' });
    add(id(), chain, 'retriever', at + 300_000, 300_000, { nodeType: 'RETRIEVER' });
  }
  if (rand() < 0.15) { // two spans naming each other as parent
    const a = id();
    const b = id();
    add(a, b, 'loop a', at, 10, { nodeType: 'CHAIN' });
    add(b, a, 'loop b', at + 5, 10, null);
  }
  return out;
}

/** The requests delivering the ledger, in order. */
export function goldenLedger(rand: () => number): PreparedSpan[][] {
  const runs: MappedSpan[][] = [];
  for (let i = 0; i < 24; i++) {
    const tenantId = i % 3 === 2 ? 'globex' : 'acme';
    const t0 = T0 + Math.floor(i / 6) * DAY_US + Math.floor(rand() * 20) * 3_600_000_000 + (i === 5 ? DAY_US - 30_000_000 : 0);
    runs.push(agentRun(rand, tenantId, hexOf(rand, 16), t0, PIPELINES[i % PIPELINES.length]!, { root: i % 7 !== 3, fail: i % 5 === 1 }));
  }
  const shared = hexOf(rand, 16); // one trace id sent by both tenants
  runs.push(agentRun(rand, 'acme', shared, T0 + DAY_US, 'research', { root: true, fail: false }));
  runs.push(agentRun(rand, 'globex', shared, T0 + DAY_US + 1000, 'research', { root: true, fail: true }));
  const all = shuffle(runs.flat(), rand);
  const requests = chunks(all, 12, rand);
  const sent = [...requests, requests[1]!, requests[requests.length - 2]!];
  return sent.map((r) => prepareSpans(r).items);
}
