/**
 * OpenLLMetry (@traceloop/node-server-sdk 0.27) as its quick start wires it, exporting OTLP http/protobuf to
 * runledger (TRACELOOP_BASE_URL) through a recording proxy; three apps at once against the mock LLM server:
 * - OpenAI: workflow → agent → chat (tool call), tool, chat (answer), streamed chat;
 * - Anthropic with both tracers on: OpenLLMetry's chat span and, nested under it, the Anthropic SDK's own
 *   `anthropic.messages.create` span for each of 3 calls (tool_use round trip with prompt caching, a stream);
 * - the same with the SDK's tracing off (ANTHROPIC_OPEN_TELEMETRY=false).
 * OpenLLMetry reports Anthropic's raw input_tokens (cache excluded) next to larger cache read/write counts;
 * the SDK's own spans report input including the cache (OTel rule). Both runs must give the same totals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTraceloopAnthropic, runTraceloopOpenAI } from '../helpers/client-apps.js';
import {
  content, expectNothingRefused, expectRunUsage, ledgerRun, named, one, priced, shape, usageCols, type LedgerRun, type Row, type Tokens,
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
  await Promise.all([
    runTraceloopOpenAI(tee.url, 'tl-openai', llm),
    runTraceloopAnthropic(tee.url, 'tl-anthropic', llm, true),
    runTraceloopAnthropic(tee.url, 'tl-anthropic-off', llm, false),
  ]);
}, 240_000); // the apps run at once; under load, loading the client packages alone takes many seconds
afterAll(async () => { await Promise.all([tee?.close(), llm?.close()]); await gw?.close(); });

const MINI = 'gpt-4o-mini-2024-07-18';
const SONNET = 'claude-sonnet-4-6'; // the API answers with the same id (no dated alias)

it('nothing refused: every trace export acknowledged without partial_success', () => {
  expectNothingRefused(tee, ['traces']);
});

describe('OpenLLMetry + openai: workflow, agent, tool, stream', () => {
  let r: LedgerRun;
  beforeAll(async () => { r = await ledgerRun(gw.db.pool, 'service_name = $1', ['tl-openai']); });
  const calls = () => {
    const [chat1, chat2, stream] = named(r.nodes, 'chat gpt-4o-mini');
    return { chat1: chat1!, chat2: chat2!, stream: stream! };
  };
  // OpenLLMetry 0.27 reports no cached or reasoning tokens for chat completions, and for a stream it
  // ignores the usage chunk and counts tokens itself with tiktoken (TRACELOOP_ENRICH_TOKENS): 6 in, 10 out.
  const CHAT_TOOL: Tokens = { input: MOCK_USAGE.chatTool.input, output: MOCK_USAGE.chatTool.output };
  const CHAT_TEXT: Tokens = { input: MOCK_USAGE.chatText.input, output: MOCK_USAGE.chatText.output };
  const STREAM_ESTIMATE: Tokens = { input: 6, output: 10 };

  it('nodes: types, names, agent and tool names, the tree', () => {
    expect(shape(r.nodes)).toEqual([
      'AGENT forecast_agent.agent', 'CHAIN trip_planner.workflow', 'LLM chat gpt-4o-mini', 'LLM chat gpt-4o-mini',
      'LLM chat gpt-4o-mini', 'TOOL get_weather.tool',
    ]);
    const workflow = one(r.nodes, 'trip_planner.workflow');
    const agent = one(r.nodes, 'forecast_agent.agent');
    expect(workflow).toMatchObject({ node_id: r.run.root_span_id, parent_span_id: null });
    expect(agent).toMatchObject({ parent_span_id: workflow.node_id, agent_name: 'forecast_agent' });
    expect(one(r.nodes, 'get_weather.tool')).toMatchObject({ parent_span_id: agent.node_id, tool_name: 'get_weather' });
    for (const n of named(r.nodes, 'chat gpt-4o-mini')) {
      expect(n).toMatchObject({ parent_span_id: agent.node_id, provider: 'openai', request_model: 'gpt-4o-mini', model_name: MINI });
    }
  });

  it('tokens and cost per node and for the run', () => {
    const { chat1, chat2, stream } = calls();
    for (const [n, t] of [[chat1, CHAT_TOOL], [chat2, CHAT_TEXT], [stream, STREAM_ESTIMATE]] as const) {
      expect(n).toMatchObject({ ...usageCols(t), usage_counted: true });
      expect(n.total_cost as number).toBeCloseTo(priced(MINI, t), 12);
    }
    expectRunUsage(r.run, [CHAT_TOOL, CHAT_TEXT, STREAM_ESTIMATE].map((t) => ({ model: MINI, t })));
  });

  it('run: llm_calls, tool_calls, status', () => {
    expect(r.run).toMatchObject({
      name: 'trip_planner.workflow', status: 'COMPLETED', span_count: 6, total_nodes: 6, llm_calls: 3, tool_calls: 1, error_count: 0,
    });
  });

  it('pipeline: the root-most workflow name wins over the agent name stamped below it (issue 10 §4 pipeline)', () => {
    expect(r.run.pipeline).toBe('trip_planner');
  });

  it('content: gen_ai.input/output.messages on the chat nodes, entity input/output on tool and workflow', () => {
    const { chat1, chat2, stream } = calls();
    expect(content(chat1.input)).toContain('You are a weather assistant.');
    expect(content(chat1.input)).toContain('What is the weather in Paris?');
    expect(content(chat1.output)).toContain('get_weather');
    expect(content(chat2.input)).toContain('tempC');
    expect(content(chat2.output)).toContain(MOCK_TEXT);
    expect(content(stream.input)).toContain('Say it again, streamed.');
    expect(content(stream.output)).toContain(MOCK_TEXT);
    expect(content(one(r.nodes, 'get_weather.tool').output)).toContain('tempC');
    expect(content(one(r.nodes, 'trip_planner.workflow').output)).toContain(MOCK_TEXT);
  });
});

// Anthropic: input_tokens 70 (cache excluded), cache read 300, cache write 44 per call; input incl. cache 414.
const anthropicTokens = (u: { input: number; cacheRead: number; cacheWrite: number; output: number }): Tokens =>
  ({ input: u.input + u.cacheRead + u.cacheWrite, cacheRead: u.cacheRead, cacheWrite: u.cacheWrite, output: u.output });
const ANTHROPIC_CALLS = [anthropicTokens(MOCK_USAGE.anthropicTool), anthropicTokens(MOCK_USAGE.anthropicText), anthropicTokens(MOCK_USAGE.anthropicText)];

function expectAnthropicCalls(chats: Row[], counted: boolean): void {
  expect(chats).toHaveLength(3);
  chats.forEach((n, i) => {
    const t = ANTHROPIC_CALLS[i]!;
    expect(n).toMatchObject({ ...usageCols(t), usage_counted: counted, provider: 'anthropic', request_model: 'claude-sonnet-4-6', model_name: SONNET });
    expect(n.total_cost as number).toBeCloseTo(priced(SONNET, t), 12);
  });
}

function expectAnthropicContent(r: LedgerRun): void {
  const [chat1, chat2, stream] = named(r.nodes, 'chat claude-sonnet-4-6');
  expect(content(chat1!.input)).toContain('What is the weather in Paris?');
  expect(content(chat1!.input)).toContain('You are a weather assistant.'); // gen_ai.system_instructions
  expect(content(chat1!.output)).toContain('get_weather');
  expect(content(chat2!.input)).toContain('tempC'); // the tool_call_response part
  expect(content(chat2!.output)).toContain(MOCK_TEXT);
  expect(content(stream!.output)).toContain(MOCK_TEXT);
}

describe('OpenLLMetry + @anthropic-ai/sdk, both tracers on (each call two nested LLM spans)', () => {
  let r: LedgerRun;
  beforeAll(async () => { r = await ledgerRun(gw.db.pool, 'service_name = $1', ['tl-anthropic']); });

  it('nodes: types, names, the tree (the SDK span under OpenLLMetry\'s)', () => {
    expect(shape(r.nodes)).toEqual([
      'CHAIN anthropic_weather.workflow', 'LLM anthropic.messages.create', 'LLM anthropic.messages.create',
      'LLM anthropic.messages.create', 'LLM chat claude-sonnet-4-6', 'LLM chat claude-sonnet-4-6', 'LLM chat claude-sonnet-4-6',
      'TOOL get_weather.tool',
    ]);
    const root = one(r.nodes, 'anthropic_weather.workflow');
    expect(root.node_id).toBe(r.run.root_span_id);
    const chats = named(r.nodes, 'chat claude-sonnet-4-6');
    for (const n of [...chats, one(r.nodes, 'get_weather.tool')]) expect(n.parent_span_id).toBe(root.node_id);
    expect(named(r.nodes, 'anthropic.messages.create').map((n) => n.parent_span_id).sort())
      .toEqual(chats.map((n) => n.node_id).sort());
    expect(one(r.nodes, 'get_weather.tool')).toMatchObject({ tool_name: 'get_weather' });
  });

  it('tokens: the SDK spans (input incl. cache) are counted; OpenLLMetry\'s, normalised to include the cache, are not (issue 10 §3 input tokens)', () => {
    expectAnthropicCalls(named(r.nodes, 'anthropic.messages.create'), true);
    expectAnthropicCalls(named(r.nodes, 'chat claude-sonnet-4-6'), false);
  });

  it('run totals: 3 calls counted once, cost included', () => {
    expectRunUsage(r.run, ANTHROPIC_CALLS.map((t) => ({ model: SONNET, t })));
    expect(r.run).toMatchObject({ input_tokens: 1242, models: [SONNET] });
  });

  it('run: llm_calls counts each call once (issue 10 §3 llm_calls tree rule)', () => {
    expect(r.run).toMatchObject({ llm_calls: 3 });
  });

  it('run: tool_calls, pipeline, status', () => {
    expect(r.run).toMatchObject({
      pipeline: 'anthropic_weather', name: 'anthropic_weather.workflow', status: 'COMPLETED', span_count: 8, total_nodes: 8,
      tool_calls: 1, error_count: 0,
    });
  });

  it('content: messages and system instructions on OpenLLMetry\'s chat nodes', () => {
    expectAnthropicContent(r);
  });
});

describe('OpenLLMetry + @anthropic-ai/sdk with ANTHROPIC_OPEN_TELEMETRY=false', () => {
  let r: LedgerRun;
  beforeAll(async () => { r = await ledgerRun(gw.db.pool, 'service_name = $1', ['tl-anthropic-off']); });

  it('nodes: types, names, the tree', () => {
    expect(shape(r.nodes)).toEqual([
      'CHAIN anthropic_weather.workflow', 'LLM chat claude-sonnet-4-6', 'LLM chat claude-sonnet-4-6', 'LLM chat claude-sonnet-4-6',
      'TOOL get_weather.tool',
    ]);
    const root = one(r.nodes, 'anthropic_weather.workflow');
    for (const n of r.nodes.filter((x) => x !== root)) expect(n.parent_span_id).toBe(root.node_id);
  });

  it('tokens and cost: input normalised to include the cache (issue 10 §3 input tokens)', () => {
    expectAnthropicCalls(named(r.nodes, 'chat claude-sonnet-4-6'), true);
    expectRunUsage(r.run, ANTHROPIC_CALLS.map((t) => ({ model: SONNET, t })));
    expect(r.run).toMatchObject({ input_tokens: 1242 });
  });

  it('run: llm_calls, tool_calls, pipeline, status', () => {
    expect(r.run).toMatchObject({
      pipeline: 'anthropic_weather', status: 'COMPLETED', span_count: 5, total_nodes: 5, llm_calls: 3, tool_calls: 1, error_count: 0,
    });
  });

  it('content: messages and system instructions on the chat nodes', () => {
    expectAnthropicContent(r);
  });
});
