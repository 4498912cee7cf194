/**
 * Mapping throughput on one core: synthetic ~1 KB GenAI spans modelled on the captured fixtures
 * (OTel GenAI chat, OpenInference LLM with flattened messages, Vercel doGenerate, tool, plain HTTP span).
 *   npx vite-node bench/mapping.ts        (or: npm run build && node dist/bench/mapping.js)
 * Then the pricing step alone (resolveCost over the same spans: the memoised manifest lookup and the exact
 * price math), the cost of a first lookup (a model absent from the manifest), and one unmemoised calcPrice.
 * Env: BENCH_SPANS (default 200000), BENCH_ROUNDS (default 5).
 */
import { calcPrice } from '@pydantic/genai-prices';
import type { Attributes, SpanRecord } from '../src/otlp/types.js';
import { createMapper, loadPriceTable, mapSpans } from '../src/mapping/index.js';
import { resolveCost } from '../src/mapping/cost.js';
import { resolveModels } from '../src/mapping/model.js';
import { resolveProvider } from '../src/mapping/provider.js';
import { resolveNodeKind } from '../src/mapping/node-type.js';
import { invocationParams } from '../src/mapping/params.js';
import { resolveUsage } from '../src/mapping/usage.js';

const N = Number(process.env.BENCH_SPANS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const resource: Attributes = { 'service.name': 'bench-svc', 'deployment.environment.name': 'bench', 'telemetry.sdk.language': 'nodejs' };
const prose = 'Summarise the quarterly report and list the three biggest risks with one sentence each. ';

function otelChat(i: number): Attributes {
  return {
    'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.response.id': `chatcmpl-${i}`,
    'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.request.temperature': 0.2, 'gen_ai.request.max_tokens': 512,
    'gen_ai.usage.input_tokens': 300 + (i % 50), 'gen_ai.usage.output_tokens': 120, 'gen_ai.usage.cache_read.input_tokens': 128,
    'server.address': 'api.openai.com', 'server.port': 443,
    'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `${prose.repeat(3)} #${i}` }] }]),
    'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: prose.repeat(2) }], finish_reason: 'stop' }]),
  };
}

function openInference(i: number): Attributes {
  return {
    'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o-mini-2024-07-18', 'llm.system': 'openai', 'llm.provider': 'openai',
    'llm.invocation_parameters': '{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":512}',
    'llm.input_messages.0.message.role': 'system', 'llm.input_messages.0.message.content': 'You are terse.',
    'llm.input_messages.1.message.role': 'user', 'llm.input_messages.1.message.content': `${prose.repeat(3)} #${i}`,
    'llm.output_messages.0.message.role': 'assistant', 'llm.output_messages.0.message.content': prose.repeat(2),
    'llm.token_count.prompt': 300, 'llm.token_count.completion': 120, 'llm.token_count.total': 420,
    'llm.token_count.prompt_details.cache_read': 128, 'input.mime_type': 'application/json', 'output.mime_type': 'text/plain',
  };
}

function vercel(i: number): Attributes {
  return {
    'operation.name': 'ai.generateText.doGenerate my-fn', 'ai.operationId': 'ai.generateText.doGenerate',
    'ai.telemetry.functionId': 'my-fn', 'ai.model.provider': 'openai.chat', 'ai.model.id': 'gpt-4o-mini',
    'ai.settings.maxRetries': 2, 'ai.telemetry.metadata.sessionId': `s${i % 100}`, 'ai.telemetry.metadata.userId': 'u1',
    'ai.prompt.messages': JSON.stringify([{ role: 'user', content: [{ type: 'text', text: `${prose.repeat(3)} #${i}` }] }]),
    'gen_ai.system': 'openai.chat', 'gen_ai.request.model': 'gpt-4o-mini', 'ai.response.finishReason': 'stop',
    'ai.response.text': prose.repeat(2), 'ai.response.id': `resp-${i}`, 'ai.response.model': 'gpt-4o-mini-2024-07-18',
    'ai.usage.inputTokens': 300, 'ai.usage.outputTokens': 120, 'ai.usage.totalTokens': 420, 'ai.usage.cachedInputTokens': 0,
    'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.usage.input_tokens': 300, 'gen_ai.usage.output_tokens': 120,
  };
}

function tool(i: number): Attributes {
  return {
    'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'gen_ai.tool.call.id': `call_${i}`,
    'gen_ai.tool.call.arguments': JSON.stringify({ query: prose, page: i % 10 }), 'gen_ai.tool.call.result': JSON.stringify({ hits: [prose, prose] }),
  };
}

function http(i: number): Attributes {
  return {
    'http.request.method': 'POST', 'url.full': `https://api.example.com/v1/items/${i}`, 'http.response.status_code': 200,
    'server.address': 'api.example.com', 'server.port': 443, 'user_agent.original': 'node-fetch/1.0', 'network.protocol.version': '1.1',
  };
}

const KINDS: [string, (i: number) => Attributes][] = [
  ['chat gpt-4o-mini', otelChat], ['chat gpt-4o-mini', otelChat], ['OpenAI Chat Completions', openInference],
  ['ai.generateText.doGenerate', vercel], ['execute_tool search', tool], ['POST', http],
];

function makeSpans(n: number): SpanRecord[] {
  const spans = new Array<SpanRecord>(n);
  for (let i = 0; i < n; i++) {
    const [name, attrs] = KINDS[i % KINDS.length]!;
    spans[i] = {
      traceId: (i >> 3).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'),
      parentSpanId: i % 8 === 0 ? null : ((i & ~7) + 1).toString(16).padStart(16, '0'), name, kind: 3,
      startUs: 1_767_225_600_000_000 + i, endUs: 1_767_225_600_000_500 + i, statusCode: i % 50 === 0 ? 2 : 0,
      statusMessage: '', attributes: attrs(i), events: [], links: [], resource, serviceName: 'bench-svc',
      scopeName: 'bench', scopeVersion: null, tenantId: 'default',
    };
  }
  return spans;
}

const spans = makeSpans(N);
const avgBytes = Math.round(spans.slice(0, 600).reduce((s, x) => s + JSON.stringify(x.attributes).length, 0) / 600);
const mapper = createMapper({ maxContentChars: 4000, captureContent: true, prices: loadPriceTable() });
mapSpans(spans.slice(0, 20_000), mapper); // warm-up

// Wall-clock rate, and the rate per CPU second of this process (user+system, incl. GC helper threads),
// which is less sensitive to other processes competing for the core.
const wall: number[] = [];
const cpu: number[] = [];
let nodes = 0;
for (let r = 0; r < ROUNDS; r++) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = mapSpans(spans, mapper);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  wall.push(N / s);
  cpu.push(N / ((c.user + c.system) / 1e6));
  nodes = out.reduce((n, m) => n + (m.node ? 1 : 0), 0);
}
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const summary = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return `median ${fmt(v[Math.floor(v.length / 2)]!)}, best ${fmt(v[v.length - 1]!)}, worst ${fmt(v[0]!)}`;
};
console.log(`mapping: ${N} spans (avg ${avgBytes} B of attributes, ${nodes} nodes), ${ROUNDS} rounds, outputs retained`);
console.log(`spans/s (wall):       ${summary(wall)}`);
console.log(`spans/s (per CPU-s):  ${summary(cpu)}`);

// Pricing alone: the cost step of every node (its inputs resolved beforehand), per span of the mix.
const prices = loadPriceTable();
const inputs = spans.map((sp) => {
  const a = sp.attributes;
  if (resolveNodeKind(a, sp.name) === null) return null;
  return { a, usage: resolveUsage(a), provider: resolveProvider(a), models: resolveModels(a, invocationParams(a)), startUs: sp.startUs };
});
const pricingWall: number[] = [];
const pricingCpu: number[] = [];
let priced = 0;
for (let r = 0; r < ROUNDS + 1; r++) {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const x of inputs) if (x !== null && resolveCost(x.a, x.usage, prices, x.provider, x.models, x.startUs).priceRef !== null) n++;
  const c = process.cpuUsage(c0);
  if (r > 0) { // round 0 warms up
    pricingWall.push(Number(process.hrtime.bigint() - t0) / N);
    pricingCpu.push(((c.user + c.system) * 1000) / N);
  }
  priced = n;
}
const nsSummary = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return `median ${v[Math.floor(v.length / 2)]!.toFixed(0)} ns, best ${v[0]!.toFixed(0)} ns`; };
console.log(`pricing per span (wall):  ${nsSummary(pricingWall)}`);
console.log(`pricing per span (CPU):   ${nsSummary(pricingCpu)} (${priced} of ${N} spans priced from the manifest, memoised per provider and model)`);
/** µs of CPU per call of f (n calls after n / 4 to warm up). */
const cpuMicros = (n: number, f: (i: number) => unknown) => {
  for (let i = 0; i < n / 4; i++) f(-1 - i);
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f(i);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / n).toFixed(1);
};
const fresh = loadPriceTable();
const when = Date.now() * 1000;
console.log(`first lookup of a model in no catalogue (CPU): ${cpuMicros(2000, (i) => fresh.find('openai', `unlisted-model-${i}`, null, null, when))} µs, then memoised`);
console.log(`calcPrice, unmemoised (CPU):  ${cpuMicros(1000, (i) => calcPrice({ input_tokens: 300 + Math.abs(i), output_tokens: 120, cache_read_tokens: 128 }, 'gpt-4o-mini-2024-07-18', { providerId: 'openai' }))} µs per call`);
