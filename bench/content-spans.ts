/**
 * Content-heavy synthetic GenAI spans for npm run bench's second phase: agent runs whose prompts and completions
 * (0.5–8 KB) and tool arguments/results ride in OTel GenAI, OpenLLMetry and OpenInference attributes, sent by
 * four services with a realistic ~600 B resource each. ~2.2 KB of OTLP protobuf per span (the issue 14 mix).
 */
import { randomBytes } from 'node:crypto';
import { opentelemetry } from '../src/otlp/gen/otlp.js';
import { dbl, int, startRun, str, type Attr } from './otlp-run.js';

const v1 = opentelemetry.proto.collector.trace.v1;

// A deterministic generator (mulberry32): the same mix on every run, so byte counts compare across runs.
let seed = 0x5eed1234;
function rnd(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

// Prose-like text: words from a vocabulary of 3,000 (common English, domain words, a long tail), Zipf-like, with numbers, ids,
// URLs and code-ish tokens sprinkled in. LZ-family compressors find about as many repeats in it as in real
// prompts; random bytes (incompressible) or one repeated sentence (10x) would flatter or defeat them.
const BASE = ('the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her ' +
  'she there been one all we their has would when if so no what up out about who them into more some could time these two may then do first ' +
  'any my now such like other how its our over only new also after use well way even because good each those people must where through ' +
  'long should very still own under last never public same another while might great old year off come since against go came right used ' +
  'take three states himself few house during without again place around however home small found thought went say part once general high ' +
  'upon school every large often within give less following point important although state consider result question order example ').split(' ');
const DOMAIN = ('model retrieval context token prompt completion embedding vector index query document source citation answer user ' +
  'assistant system tool function argument result search reader summary evaluation benchmark latency throughput dataset training ' +
  'inference agent planner step memory chunk passage rerank score threshold filter metadata schema json field value error retry timeout ' +
  'customer invoice order shipment refund account policy contract clause section revenue quarter forecast region product feature release ' +
  'migration database table column partition replica backup restore cluster node pod deployment service endpoint request response status ' +
  'report analysis finding method paper author journal experiment baseline metric accuracy recall precision faithfulness grounding ' +
  'hallucination judge rubric annotator label sample split validation').split(' ');
const WORDS: string[] = [...BASE.filter(Boolean), ...DOMAIN];
const SYLLABLES = 'ka lo mi ne ru sa ti vo pe la gri bor cen dal fen hol jus mar nor pla quin ros stel tra ven wor zan'.split(' ');
for (let i = 0; WORDS.length < 600; i++) WORDS.push(pick(DOMAIN) + pick(['s', 'ing', 'ed', 'er', 'ly', 'ation', 'ity']));
// and ~2,400 rarer words (names, jargon): real text's long tail, which keeps its repeats far apart
for (let i = 0; WORDS.length < 3000; i++) WORDS.push(Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => pick(SYLLABLES)).join(''));
/** Zipf-like: the first words (common ones) often, the tail rarely. */
const word = () => WORDS[Math.floor(Math.pow(rnd(), 2.2) * WORDS.length)]!;

function prose(chars: number): string {
  const out: string[] = [];
  let n = 0;
  let sentence = 0;
  while (n < chars) {
    const r = rnd();
    let w = r < 0.03 ? String(Math.floor(rnd() * 100_000)) : r < 0.04 ? 'https://docs.example.com/' + pick(DOMAIN) + '/' + Math.floor(rnd() * 9999)
      : r < 0.05 ? randomBytes(4).toString('hex') : r < 0.055 ? '`' + pick(DOMAIN) + '_' + pick(DOMAIN) + '()`' : word();
    if (sentence === 0) w = w[0]!.toUpperCase() + w.slice(1);
    sentence++;
    if (sentence > 8 + rnd() * 14) { w += rnd() < 0.15 ? '.\n\n' : '. '; sentence = 0; } else if (rnd() < 0.06) w += ',';
    out.push(w);
    n += w.length + 1;
  }
  return out.join(' ').replace(/ \n/g, '\n');
}

/** 0.5–8 KB, most of them short (median ~0.9 KB, mean ~1.5 KB). */
const contentSize = () => Math.round(500 * Math.pow(16, Math.pow(rnd(), 2.4)));

// Four services, each with the resource an auto-instrumented Python/Node service in Kubernetes sends (~600 B).
const SERVICES = ['research-agent', 'support-bot', 'billing-assistant', 'doc-indexer'].map((name, i) => ({
  name,
  resource: [
    str('service.name', name), str('service.version', `2.${i + 3}.${7 + i}`),
    str('service.instance.id', randomBytes(16).toString('hex')), str('deployment.environment.name', 'production'),
    str('telemetry.sdk.name', 'opentelemetry'), str('telemetry.sdk.language', i % 2 ? 'nodejs' : 'python'),
    str('telemetry.sdk.version', '1.38.0'),
    str('process.runtime.name', i % 2 ? 'nodejs' : 'cpython'), str('process.runtime.version', i % 2 ? '20.18.1' : '3.12.7'),
    str('process.executable.path', i % 2 ? '/usr/local/bin/node' : '/usr/local/bin/python3.12'),
    str('host.name', `${name}-7d9f8c6b5-${randomBytes(3).toString('hex')}`), str('host.arch', 'amd64'),
    str('os.type', 'linux'),
    str('container.id', randomBytes(32).toString('hex')), str('k8s.namespace.name', 'agents-prod'),
    str('k8s.deployment.name', name), str('cloud.provider', 'gcp'),
  ],
}));

const msg = (role: string, content: string) => ({ role, parts: [{ type: 'text', content }] });

/** OTel GenAI chat: the whole conversation in gen_ai.input.messages / gen_ai.output.messages (JSON). */
function otelChat(i: number): Attr[] {
  const input = [msg('system', prose(250)), msg('user', prose(contentSize()))];
  return [
    str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', 'openai'), str('gen_ai.request.model', 'gpt-4o'),
    str('gen_ai.response.model', 'gpt-4o-2024-08-06'), str('gen_ai.response.id', 'chatcmpl-' + randomBytes(12).toString('hex')),
    dbl('gen_ai.request.temperature', 0.2), int('gen_ai.request.max_tokens', 2048),
    int('gen_ai.usage.input_tokens', 900 + i), int('gen_ai.usage.output_tokens', 350), str('server.address', 'api.openai.com'),
    str('gen_ai.input.messages', JSON.stringify(input)),
    str('gen_ai.output.messages', JSON.stringify([{ ...msg('assistant', prose(contentSize())), finish_reason: 'stop' }])),
  ];
}

/** OpenLLMetry (Traceloop): flattened gen_ai.prompt.N.* / gen_ai.completion.N.*. */
function openLLMetryChat(i: number): Attr[] {
  return [
    str('llm.request.type', 'chat'), str('gen_ai.system', 'Anthropic'), str('gen_ai.request.model', 'claude-3-5-sonnet-20241022'),
    str('gen_ai.response.model', 'claude-3-5-sonnet-20241022'), int('gen_ai.usage.prompt_tokens', 1200 + i), int('gen_ai.usage.completion_tokens', 420),
    int('llm.usage.total_tokens', 1620 + i), str('gen_ai.prompt.0.role', 'system'), str('gen_ai.prompt.0.content', prose(300)),
    str('gen_ai.prompt.1.role', 'user'), str('gen_ai.prompt.1.content', prose(contentSize())),
    str('gen_ai.completion.0.role', 'assistant'), str('gen_ai.completion.0.content', prose(contentSize())),
    str('gen_ai.completion.0.finish_reason', 'end_turn'), str('traceloop.workflow.name', 'support'),
  ];
}

/** OpenInference: llm.input_messages.N.message.*, plus input.value / output.value. */
function openInferenceChat(i: number): Attr[] {
  const user = prose(contentSize());
  const answer = prose(Math.min(2000, contentSize()));
  return [
    str('openinference.span.kind', 'LLM'), str('llm.model_name', 'gpt-4o-mini-2024-07-18'), str('llm.provider', 'openai'),
    str('llm.invocation_parameters', '{"model":"gpt-4o-mini","temperature":0.1,"max_tokens":1024}'),
    str('llm.input_messages.0.message.role', 'system'), str('llm.input_messages.0.message.content', prose(250)),
    str('llm.input_messages.1.message.role', 'user'), str('llm.input_messages.1.message.content', user),
    str('llm.output_messages.0.message.role', 'assistant'), str('llm.output_messages.0.message.content', answer),
    int('llm.token_count.prompt', 700 + i), int('llm.token_count.completion', 200), int('llm.token_count.total', 900 + i),
    str('input.mime_type', 'text/plain'), str('input.value', user.slice(0, 300)), str('output.mime_type', 'text/plain'),
    str('output.value', answer.slice(0, 300)), str('session.id', 'sess-' + randomBytes(4).toString('hex')),
  ];
}

function tool(i: number): Attr[] {
  const hits = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => ({
    title: prose(60), url: 'https://kb.example.com/articles/' + Math.floor(rnd() * 99999), score: Math.round(rnd() * 1000) / 1000, snippet: prose(130),
  }));
  return [
    str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 'kb_search'), str('gen_ai.tool.call.id', 'call_' + randomBytes(8).toString('hex')),
    str('gen_ai.tool.type', 'function'), str('gen_ai.tool.call.arguments', JSON.stringify({ query: prose(80), top_k: hits.length, filters: { lang: 'en', index: 'kb-' + i } })),
    str('gen_ai.tool.call.result', JSON.stringify(hits)),
  ];
}

/** One agent run of 8 spans: invoke_agent → OTel chat, OpenLLMetry chat, OpenInference LLM, 3 tool calls, HTTP. */
function agentRun(): Record<string, unknown>[] {
  const { traceId, root, spans, add } = startRun();
  add('invoke_agent assistant', null, 0, 12_000, [
    str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'assistant'), str('gen_ai.agent.id', 'agent-3'),
    str('gen_ai.conversation.id', 'conv-' + traceId.toString('hex').slice(0, 8)), str('user.id', 'user-' + Math.floor(rnd() * 5000)),
    str('gen_ai.system_instructions', JSON.stringify([{ type: 'text', content: prose(300) }])),
  ]);
  add('chat gpt-4o', root, 10, 2500, otelChat(0), 3);
  add('anthropic.chat', root, 3000, 2500, openLLMetryChat(1), 3);
  add('ChatCompletion', root, 6000, 2000, openInferenceChat(2), 3);
  for (let i = 0; i < 3; i++) add('execute_tool kb_search', root, 2600 + i * 3000, 300, tool(i));
  add('POST', root, 2650, 200, [
    str('http.request.method', 'POST'), str('url.full', 'https://kb.example.com/api/search'), str('server.address', 'kb.example.com'),
    int('server.port', 443), int('http.response.status_code', 200),
  ], 3);
  return spans;
}

export const CONTENT_SPANS_PER_RUN = 8;

/** An ExportTraceServiceRequest of `runs` content-heavy agent runs from one of the services, encoded. */
export function encodedContentRequest(runs: number): Uint8Array {
  const svc = pick(SERVICES);
  const spans = [];
  for (let i = 0; i < runs; i++) spans.push(...agentRun());
  const req = v1.ExportTraceServiceRequest.create({
    resourceSpans: [{ resource: { attributes: svc.resource }, scopeSpans: [{ scope: { name: 'opentelemetry.instrumentation.openai', version: '0.40.0' }, spans }] }],
  } as never);
  return v1.ExportTraceServiceRequest.encode(req).finish();
}
