/** Synthetic ~1 KB GenAI spans (agent runs mixing OTel GenAI, OpenInference and Vercel AI SDK) as OTLP requests. */
import { randomBytes } from 'node:crypto';
import { opentelemetry } from '../src/otlp/gen/otlp.js';
import { dbl, int, startRun, str, type Attr } from './otlp-run.js';

const v1 = opentelemetry.proto.collector.trace.v1;

const MESSAGES_IN = JSON.stringify([
  { role: 'system', parts: [{ type: 'text', content: 'You are a careful research assistant. Cite sources.' }] },
  { role: 'user', parts: [{ type: 'text', content: 'Summarise recent findings on RAG evaluation in three bullets, with links to the primary papers and one sentence on each method.' }] },
]);
const MESSAGES_OUT = JSON.stringify([
  { role: 'assistant', parts: [{ type: 'text', content: 'Faithfulness metrics dominate; judges agree more; long context.' }], finish_reason: 'stop' },
]);
const hexId = (n: number) => randomBytes(n).toString('hex');
const strs = (key: string, vs: string[]): Attr => ({ key, value: { arrayValue: { values: vs.map((v) => ({ stringValue: v })) } } });

/** OTel GenAI semantic conventions (current keys). */
function otelChat(i: number): Attr[] {
  return [
    str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', 'openai'), str('gen_ai.request.model', 'gpt-4o-mini'),
    str('gen_ai.response.model', 'gpt-4o-mini-2024-07-18'), str('gen_ai.response.id', 'chatcmpl-' + hexId(6)),
    dbl('gen_ai.request.temperature', 0.2), dbl('gen_ai.request.top_p', 0.9), int('gen_ai.request.max_tokens', 512),
    int('gen_ai.usage.input_tokens', 420 + i), int('gen_ai.usage.output_tokens', 96), int('gen_ai.usage.cache_read.input_tokens', 128),
    strs('gen_ai.response.finish_reasons', ['stop']), str('server.address', 'api.openai.com'), int('server.port', 443),
    str('gen_ai.input.messages', MESSAGES_IN), str('gen_ai.output.messages', MESSAGES_OUT),
  ];
}

/** OpenInference (flattened message keys). */
function openInferenceChat(i: number): Attr[] {
  return [
    str('openinference.span.kind', 'LLM'), str('llm.model_name', 'gpt-4o-mini-2024-07-18'), str('llm.provider', 'openai'),
    str('llm.system', 'openai'), str('llm.invocation_parameters', '{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":512}'),
    str('llm.input_messages.0.message.role', 'system'), str('llm.input_messages.0.message.content', 'You are a careful research assistant.'),
    str('llm.input_messages.1.message.role', 'user'), str('llm.input_messages.1.message.content', 'Which sources disagree, and why?'),
    str('llm.output_messages.0.message.role', 'assistant'), str('llm.output_messages.0.message.content', 'Two surveys differ on judge reliability.'),
    int('llm.token_count.prompt', 380 + i), int('llm.token_count.completion', 64), int('llm.token_count.total', 444 + i),
    str('input.mime_type', 'application/json'), str('output.mime_type', 'text/plain'), str('session.id', 'sess-' + hexId(4)),
  ];
}

/** Vercel AI SDK (ai.* legacy spans, with their gen_ai.* mirror). */
function vercelDoGenerate(i: number): Attr[] {
  return [
    str('operation.name', 'ai.generateText.doGenerate research'), str('ai.operationId', 'ai.generateText.doGenerate'),
    str('ai.model.id', 'gpt-4o-mini'), str('ai.model.provider', 'openai.chat'), str('ai.telemetry.functionId', 'research'),
    int('ai.usage.inputTokens', 300 + i), int('ai.usage.outputTokens', 80), str('ai.response.finishReason', 'stop'),
    str('ai.response.id', 'resp-' + hexId(6)), str('ai.response.model', 'gpt-4o-mini-2024-07-18'),
    str('ai.response.timestamp', '2026-11-24T10:00:00.000Z'), int('ai.settings.maxRetries', 2),
    str('ai.prompt.messages', '[{"role":"user","content":[{"type":"text","text":"List three RAG benchmarks."}]}]'),
    str('ai.response.text', 'RAGAS, ARES and CRUD-RAG.'), str('gen_ai.system', 'openai.chat'),
    str('gen_ai.request.model', 'gpt-4o-mini'), str('gen_ai.response.model', 'gpt-4o-mini-2024-07-18'),
    int('gen_ai.usage.input_tokens', 300 + i), int('gen_ai.usage.output_tokens', 80), strs('gen_ai.response.finish_reasons', ['stop']),
  ];
}

/**
 * One agent run of 8 spans mixing the conventions runledger maps: invoke_agent → an OTel GenAI chat,
 * an OpenInference LLM span, a Vercel AI doGenerate, three tool calls, and an HTTP client span.
 */
function agentRun(): Record<string, unknown>[] {
  const { traceId, root, spans, add } = startRun();
  add('invoke_agent researcher', null, 0, 9000, [
    str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'researcher'), str('gen_ai.agent.id', 'agent-7'),
    str('gen_ai.conversation.id', 'conv-' + traceId.toString('hex').slice(0, 6)), str('user.id', 'user-42'),
    str('gen_ai.agent.description', 'Answers research questions by searching, reading and citing primary sources.'),
    str('gen_ai.system_instructions', '[{"type":"text","content":"Plan, search, read, then answer with citations. Stop after three searches."}]'),
  ]);
  const chats: [string, (i: number) => Attr[], number][] = [
    ['chat gpt-4o-mini', otelChat, 3], ['ChatCompletion', openInferenceChat, 1], ['ai.generateText.doGenerate', vercelDoGenerate, 3],
  ];
  chats.forEach(([name, attrs, kind], i) => {
    add(name, root, 10 + i * 3000, 1500, attrs(i), kind);
    add('execute_tool web_search', root, 1600 + i * 3000, 900, [
      str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 'web_search'), str('gen_ai.tool.call.id', 'call_' + i),
      str('gen_ai.tool.type', 'function'), str('gen_ai.tool.call.arguments', '{"query":"rag evaluation 2026","top_k":5}'),
      str('gen_ai.tool.description', 'Searches the web and returns the top results with title, URL and a relevance score.'),
      str('gen_ai.tool.call.result', JSON.stringify([
        { title: 'Evaluating retrieval-augmented generation: a survey', url: 'https://example.org/papers/rag-eval-survey', score: 0.91 },
        { title: 'Faithfulness metrics for grounded generation', url: 'https://example.org/papers/faithfulness', score: 0.87 },
        { title: 'Long-context benchmarks for RAG systems', url: 'https://example.org/papers/long-context-rag', score: 0.82 },
      ])),
    ]);
  });
  add('GET', root, 1700, 400, [
    str('http.request.method', 'GET'), str('url.full', 'https://search.example/api?q=rag+evaluation'), str('url.scheme', 'https'),
    str('server.address', 'search.example'), int('server.port', 443), int('http.response.status_code', 200),
    str('network.protocol.version', '1.1'), str('user_agent.original', 'runledger-bench/1.0'),
  ], 3);
  return spans;
}

export const SPANS_PER_RUN = 8;

/**
 * What an OpenTelemetry SDK in a Kubernetes pod sends as its resource (the resource of every request with
 * BENCH_RESOURCE=sdk, else two attributes; also bench/logs-storage.ts's) (service, SDK, process, host, OS, container, k8s and cloud attributes: 1,155 B of JSON,
 * 931 B as jsonb in a span row; issue 14 measured ~600 B on realistic services).
 */
export const SDK_RESOURCE = [
  str('service.name', 'bench-agent'), str('service.version', '2.14.3'), str('service.namespace', 'agents'),
  str('service.instance.id', '6f1c2a9e-3b7d-4c52-9a1e-0d8f7b6c5e4a'), str('deployment.environment.name', 'bench'),
  str('telemetry.sdk.name', 'opentelemetry'), str('telemetry.sdk.language', 'python'), str('telemetry.sdk.version', '1.27.0'),
  str('telemetry.distro.name', 'opentelemetry-distro'), str('telemetry.distro.version', '0.48b0'),
  int('process.pid', 4127), str('process.executable.name', 'python3.12'), str('process.executable.path', '/usr/local/bin/python3.12'),
  str('process.command', '/app/agent/main.py'), str('process.runtime.name', 'cpython'), str('process.runtime.version', '3.12.7'),
  str('process.runtime.description', '3.12.7 (main, Oct  1 2024, 02:05:46) [GCC 12.2.0]'), str('process.owner', 'app'),
  str('host.name', 'agent-7d9f8c6b5-x2kqp'), str('host.arch', 'amd64'), str('os.type', 'linux'),
  str('os.description', 'Linux 6.1.0-26-cloud-amd64'), str('container.id', '3f9e2d1c0b8a79685746352413f2e1d0c9b8a7968574635241302f1e0d9c8b7a'),
  str('k8s.namespace.name', 'agents-prod'), str('k8s.pod.name', 'agent-7d9f8c6b5-x2kqp'), str('k8s.pod.uid', 'a1b2c3d4-e5f6-4789-abcd-ef0123456789'),
  str('k8s.deployment.name', 'agent'), str('k8s.node.name', 'gke-prod-pool-1-9c8b7a6d-k3lm'), str('cloud.provider', 'gcp'),
  str('cloud.region', 'europe-west1'),
];
const RESOURCE = process.env.BENCH_RESOURCE === 'sdk' ? SDK_RESOURCE
  : [str('service.name', 'bench-agent'), str('deployment.environment.name', 'bench')];

/** An ExportTraceServiceRequest of `runs` agent runs, encoded. */
export function encodedRequest(runs: number): Uint8Array {
  const spans = [];
  for (let i = 0; i < runs; i++) spans.push(...agentRun());
  const req = v1.ExportTraceServiceRequest.create({
    resourceSpans: [{
      resource: { attributes: RESOURCE },
      scopeSpans: [{ scope: { name: 'bench', version: '1.0.0' }, spans }],
    }],
  } as never);
  return v1.ExportTraceServiceRequest.encode(req).finish();
}
