/**
 * Zero-code OpenTelemetry, as a new user wires it: `node --require @opentelemetry/auto-instrumentations-node/register`
 * over a plain OpenAI app (instrumentation-openai 0.21 inside), configured only by OTEL_* variables with content
 * capture on, exporting every signal to runledger over gRPC and over http/protobuf (both apps run at once).
 * instrumentation-openai sends prompts and completions only as OTel log records (chat: gen_ai.*.message /
 * gen_ai.choice; Responses API: gen_ai.client.inference.operation.details), so the content assertions need the
 * logs signal of issue 10 §1. The app: a manual root span over a tool-calling chat round trip, a streamed chat,
 * a Responses API call and an embeddings call (undici HTTP client spans under each call are not nodes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runZeroCodeOpenAI, type AppRun } from '../helpers/client-apps.js';
import {
  content, expectNothingRefused, expectRunUsage, ledgerRun, logSpanIds, named, one, priced, shape, usageCols,
  type LedgerRun, type Tokens,
} from '../helpers/client-ledger.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { MOCK_TEXT, MOCK_USAGE, startMockLLM, type MockLLMServer } from '../helpers/mock-llm.js';
import { refusals, startOtlpTee, type OtlpTee } from '../helpers/otlp-tee.js';

let gw: TestGateway;
let llm: MockLLMServer;
let tee: OtlpTee;
const apps: Record<string, AppRun> = {};

beforeAll(async () => {
  [gw, llm] = await Promise.all([startTestGateway(), startMockLLM()]);
  tee = await startOtlpTee(gw.httpUrl);
  [apps.grpc, apps.http] = await Promise.all([
    runZeroCodeOpenAI(`http://${gw.grpcAddress}`, 'grpc', 'zc-grpc', llm),
    runZeroCodeOpenAI(tee.url, 'http/protobuf', 'zc-http', llm),
  ]);
}, 240_000); // the apps run at once; under load, loading the client packages alone takes many seconds
afterAll(async () => { await Promise.all([tee?.close(), llm?.close()]); await gw?.close(); });

// instrumentation-openai 0.21 reports input/output tokens only: the cached and reasoning counts the API
// returned (MOCK_USAGE) are in neither its spans nor its log records, so the ledger cannot have them.
const plain = (u: { input: number; output: number }): Tokens => ({ input: u.input, output: u.output });
const CHAT_TOOL = plain(MOCK_USAGE.chatTool);
const CHAT_TEXT = plain(MOCK_USAGE.chatText);
const RESPONSES = plain(MOCK_USAGE.responses);
const EMBED: Tokens = { input: MOCK_USAGE.embedPerInput, output: 0 };
const MINI = 'gpt-4o-mini-2024-07-18';
const O4 = 'o4-mini-2025-04-16';

describe.each([['grpc', 'zc-grpc'], ['http/protobuf', 'zc-http']])('zero-code instrumentation-openai over %s', (protocol, service) => {
  let r: LedgerRun;
  beforeAll(async () => { r = await ledgerRun(gw.db.pool, 'service_name = $1', [service]); });
  const calls = () => {
    const [chat1, chat2, stream] = named(r.nodes, 'chat gpt-4o-mini');
    return { chat1: chat1!, chat2: chat2!, stream: stream!, o4: one(r.nodes, 'chat o4-mini'), embed: one(r.nodes, 'embeddings text-embedding-3-small') };
  };

  it('nodes: types, names, models and the tree (every call under the root span, HTTP spans not nodes)', () => {
    expect(shape(r.nodes)).toEqual([
      'EMBEDDING embeddings text-embedding-3-small', 'LLM chat gpt-4o-mini', 'LLM chat gpt-4o-mini', 'LLM chat gpt-4o-mini',
      'LLM chat o4-mini',
    ]);
    for (const n of r.nodes) expect(n).toMatchObject({ parent_span_id: r.run.root_span_id, provider: 'openai', status: 'COMPLETED' });
    const { chat1, chat2, stream, o4, embed } = calls();
    expect(chat1).toMatchObject({ request_model: 'gpt-4o-mini', model_name: MINI, finish_reasons: ['tool_calls'], temperature: 0.2 });
    expect(chat2).toMatchObject({ model_name: MINI, finish_reasons: ['stop'], temperature: 0.2 });
    expect(stream).toMatchObject({ model_name: MINI, finish_reasons: ['stop'], temperature: null });
    expect(o4).toMatchObject({ request_model: 'o4-mini', model_name: O4, finish_reasons: ['stop'] });
    expect(embed).toMatchObject({ model_name: 'text-embedding-3-small' });
  });

  it('tokens and cost per node and for the run', () => {
    const { chat1, chat2, stream, o4, embed } = calls();
    const expected: [typeof chat1, string, Tokens][] = [
      [chat1, MINI, CHAT_TOOL], [chat2, MINI, CHAT_TEXT], [stream, MINI, CHAT_TEXT], [o4, O4, RESPONSES],
    ];
    for (const [n, model, t] of expected) {
      expect(n).toMatchObject({ ...usageCols(t), usage_counted: true, cost_source: 'price_table' });
      expect(n.total_cost as number).toBeCloseTo(priced(model, t), 12);
    }
    expect(embed).toMatchObject({ input_tokens: EMBED.input, usage_counted: true });
    expectRunUsage(r.run, [...expected.map(([, model, t]) => ({ model, t })), { model: 'text-embedding-3-small', t: EMBED }]);
    expect([...(r.run.models as string[])].sort()).toEqual([O4, MINI, 'text-embedding-3-small'].sort());
  });

  it('run: llm_calls, tool_calls, pipeline (the root span name), status', () => {
    expect(r.run).toMatchObject({
      pipeline: 'weather-question', name: 'weather-question', status: 'COMPLETED', span_count: 11, total_nodes: 5,
      llm_calls: 4, tool_calls: 0, error_count: 0,
    });
  });

  it('content: the log records fill the LLM nodes (issue 10 §1 logs signal)', () => {
    const { chat1, chat2, stream, o4 } = calls();
    expect(content(chat1.input)).toContain('You are a weather assistant.');
    expect(content(chat1.input)).toContain('What is the weather in Paris?');
    expect(content(chat1.output)).toContain('get_weather');
    expect(content(chat2.input)).toContain('tempC'); // the tool message
    expect(content(chat2.output)).toContain(MOCK_TEXT);
    expect(content(stream.input)).toContain('Say it again, streamed.');
    expect(content(stream.output)).toContain(MOCK_TEXT);
    // Responses API: gen_ai.client.inference.operation.details (input and output in two records)
    expect(content(o4.input)).toContain('Summarise the weather in Paris.');
    expect(content(o4.output)).toContain(MOCK_TEXT);
  });

  it('content: the Responses span\'s gen_ai.system_instructions is kept with the input (issue 10 §2)', () => {
    expect(content(calls().o4.input)).toContain('Answer in one sentence.');
  });

  it('logs: every record stored with its span (issue 10 §1 logs signal)', async () => {
    const { chat1, chat2, stream, o4 } = calls();
    // chat: system + user + choice; then system + user + assistant(tool call) + tool + choice; user + choice;
    // Responses: one operation.details record for the input, one for the output
    const expected = [
      ...Array(3).fill(chat1.node_id), ...Array(5).fill(chat2.node_id), ...Array(2).fill(stream.node_id), ...Array(2).fill(o4.node_id),
    ].sort();
    expect(await logSpanIds(gw.db.pool, r.run.run_id)).toEqual(expected);
  });

  it('nothing refused: traces and logs acknowledged without partial_success (issue 10 §1 logs signal)', () => {
    if (protocol === 'grpc') {
      // the SDK reports failed or partial exports only through its diag logger (OTEL_LOG_LEVEL=warn); the
      // metrics exporter's partial successes (next test) are the only ones
      expect(apps.grpc!.stderr).not.toMatch(/collector\.(trace|logs)\.v1/i);
      expect(apps.grpc!.stderr.split('\n').filter((l) => /partial success/i.test(l) && !/not metrics/.test(l))).toEqual([]);
    } else {
      expectNothingRefused(tee, ['traces', 'logs']);
    }
  });

  it('metrics (exported by default): answered 200 / OK as a partial success saying runledger keeps none', () => {
    if (protocol === 'grpc') {
      expect(apps.grpc!.stderr).toMatch(/partial success.*runledger stores traces and logs, not metrics/i);
    } else {
      const metrics = refusals(tee.records.filter((x) => x.path === '/v1/metrics'));
      expect(metrics.length).toBeGreaterThan(0);
      for (const m of metrics) expect(m).toMatchObject({ status: 200, response: expect.stringContaining('not metrics') });
    }
  });
});
