/**
 * LangChain.js (langchain 1.5 createAgent over LangGraph, @langchain/openai ChatOpenAI) traced by
 * @arizeai/openinference-instrumentation-langchain, set up as its README shows (NodeTracerProvider, OTLP
 * http/protobuf exporter), against the mock LLM server and through a recording proxy to runledger. Two runs:
 * the agent (model → tool → model: 10 spans, every LangGraph step a CHAIN) and a streamed model call.
 * OpenInference carries the provider only in the `metadata` JSON (ls_provider) and the agent's name only as
 * the root span's name and in LangGraph metadata (lc_agent_name).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLangChainOpenInference } from '../helpers/client-apps.js';
import {
  content, expectNothingRefused, expectRunUsage, ledgerRun, named, one, priced, shape, usageCols, type LedgerRun, type Tokens,
} from '../helpers/client-ledger.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { MOCK_TEXT, MOCK_USAGE, startMockLLM, type MockLLMServer } from '../helpers/mock-llm.js';
import { startOtlpTee, type OtlpTee } from '../helpers/otlp-tee.js';

let gw: TestGateway;
let llm: MockLLMServer;
let tee: OtlpTee;

beforeAll(async () => {
  [gw, llm] = await Promise.all([startTestGateway(), startMockLLM()]);
  tee = await startOtlpTee(gw.httpUrl);
  await runLangChainOpenInference(tee.url, 'lc-openinference', llm);
}, 240_000); // the apps run at once; under load, loading the client packages alone takes many seconds
afterAll(async () => { await Promise.all([tee?.close(), llm?.close()]); await gw?.close(); });

// OpenInference reports cache reads (llm.token_count.prompt_details.cache_read) and reasoning
// (llm.token_count.completion_details.reasoning) as the API returned them.
const chatTokens = (u: { input: number; cached: number; output: number; reasoning: number }): Tokens =>
  ({ input: u.input, cacheRead: u.cached, output: u.output, reasoning: u.reasoning });
const CHAT_TOOL = chatTokens(MOCK_USAGE.chatTool);
const CHAT_TEXT = chatTokens(MOCK_USAGE.chatText);
const MINI = 'gpt-4o-mini'; // llm.model_name is the request model

it('nothing refused: every trace export acknowledged without partial_success', () => {
  expectNothingRefused(tee, ['traces']);
});

describe('LangChain createAgent + OpenInference', () => {
  let r: LedgerRun;
  beforeAll(async () => { r = await ledgerRun(gw.db.pool, 'service_name = $1 AND name = $2', ['lc-openinference', 'weather_agent']); });

  it('nodes: types, names, the tree (LangGraph steps as chains)', () => {
    expect(shape(r.nodes)).toEqual([
      'CHAIN RunnableLambda', 'CHAIN RunnableLambda', 'CHAIN __start__', 'CHAIN model_request', 'CHAIN model_request',
      'CHAIN tools', 'CHAIN weather_agent', 'LLM ChatOpenAI', 'LLM ChatOpenAI', 'TOOL get_weather',
    ]);
    const root = one(r.nodes, 'weather_agent');
    expect(root).toMatchObject({ node_id: r.run.root_span_id, parent_span_id: null });
    for (const name of ['__start__', 'model_request', 'tools']) {
      for (const n of named(r.nodes, name)) expect(n.parent_span_id, name).toBe(root.node_id);
    }
    const steps = named(r.nodes, 'model_request');
    named(r.nodes, 'ChatOpenAI').forEach((n, i) => expect(n.parent_span_id).toBe(steps[i]!.node_id));
    expect(one(r.nodes, 'get_weather')).toMatchObject({ parent_span_id: one(r.nodes, 'tools').node_id, tool_name: 'get_weather' });
    for (const n of named(r.nodes, 'ChatOpenAI')) expect(n.model_name).toMatch(/^gpt-4o-mini/);
  });

  it('provider of the LLM nodes from the metadata\'s ls_provider (issue 10 §4 provider)', () => {
    for (const n of named(r.nodes, 'ChatOpenAI')) expect(n.provider).toBe('openai');
  });

  it('agent name from the LangGraph metadata (lc_agent_name) on the agent\'s root node (issue 10 §4 agent names)', () => {
    expect(one(r.nodes, 'weather_agent').agent_name).toBe('weather_agent');
  });

  it('tokens (incl. cache reads and reasoning) and cost per node and for the run', () => {
    const [llm1, llm2] = named(r.nodes, 'ChatOpenAI');
    for (const [n, t] of [[llm1!, CHAT_TOOL], [llm2!, CHAT_TEXT]] as const) {
      expect(n).toMatchObject({ ...usageCols(t), usage_counted: true });
      expect(n.total_cost as number).toBeCloseTo(priced(MINI, t), 12);
    }
    expectRunUsage(r.run, [CHAT_TOOL, CHAT_TEXT].map((t) => ({ model: MINI, t })));
  });

  it('run: llm_calls, tool_calls, pipeline (root span name), status', () => {
    expect(r.run).toMatchObject({
      pipeline: 'weather_agent', status: 'COMPLETED', span_count: 10, total_nodes: 10, llm_calls: 2, tool_calls: 1, error_count: 0,
    });
  });

  it('content: messages on the LLM nodes, arguments and result on the tool, the agent\'s input and output', () => {
    const [llm1, llm2] = named(r.nodes, 'ChatOpenAI');
    expect(content(llm1!.input)).toContain('What is the weather in Paris?');
    expect(content(llm1!.output)).toContain('get_weather');
    expect(content(llm2!.input)).toContain('tempC'); // the tool message
    expect(content(llm2!.output)).toContain(MOCK_TEXT);
    const tool = one(r.nodes, 'get_weather');
    expect(content(tool.input)).toContain('Paris');
    expect(content(tool.output)).toContain('tempC');
    const root = one(r.nodes, 'weather_agent');
    expect(content(root.input)).toContain('What is the weather in Paris?');
    expect(content(root.output)).toContain(MOCK_TEXT);
  });
});

describe('LangChain streamed model call + OpenInference', () => {
  let r: LedgerRun;
  beforeAll(async () => { r = await ledgerRun(gw.db.pool, 'service_name = $1 AND name = $2', ['lc-openinference', 'ChatOpenAI']); });

  it('one LLM node: tokens (incl. cache and reasoning), cost, content, the run', () => {
    expect(shape(r.nodes)).toEqual(['LLM ChatOpenAI']);
    const n = r.nodes[0]!;
    expect(n).toMatchObject({ ...usageCols(CHAT_TEXT), usage_counted: true, parent_span_id: null });
    expect(content(n.input)).toContain('Say it again, streamed.');
    expect(content(n.output)).toContain(MOCK_TEXT);
    expectRunUsage(r.run, [{ model: MINI, t: CHAT_TEXT }]);
    expect(r.run).toMatchObject({ pipeline: 'ChatOpenAI', status: 'COMPLETED', llm_calls: 1, total_nodes: 1, span_count: 1 });
  });

  it('provider from the metadata\'s ls_provider (issue 10 §4 provider)', () => {
    expect(r.nodes[0]!.provider).toBe('openai');
  });
});
