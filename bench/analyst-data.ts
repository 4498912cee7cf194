/**
 * Seeded generator of a realistic multi-tenant GenAI ledger for bench/analyst.ts, as OTLP protobuf requests:
 * 5 tenants (skewed sizes, one API key each), 8 pipelines in 4 instrumentation dialects (OTel GenAI,
 * OpenInference, OpenLLMetry, Vercel AI SDK), 6 models, agent trees up to node depth 9 with plain spans
 * between nodes, ~5–6% failed runs, retried tool calls, root spans arriving late, a few runs still RUNNING.
 * Same seed, span count, days and end time → the same requests, byte for byte (ids come from the seed).
 */
import { opentelemetry } from '../src/otlp/gen/otlp.js';

const v1 = opentelemetry.proto.collector.trace.v1;
const DAY_MS = 86_400_000;

/** sfc32: small, fast, seedable; Math.random cannot be seeded. */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9; this.b = 0x243f6a88; this.c = 0xb7e15162; this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  between(lo: number, hi: number): number { return lo + this.next() * (hi - lo); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  weighted<T>(xs: readonly (readonly [T, number])[]): T {
    let r = this.next() * xs.reduce((s, x) => s + x[1], 0);
    for (const [v, w] of xs) if ((r -= w) < 0) return v;
    return xs[xs.length - 1]![0];
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(Math.ceil(n / 4) * 4);
    for (let i = 0; i < b.length; i += 4) b.writeUInt32BE((this.next() * 4294967296) >>> 0 || 1, i);
    return b.subarray(0, n);
  }
}

/** Tenants, their share of the runs and the pipelines they run. The smallest one is the default analyst's. */
export const TENANTS = [
  { id: 'acme', share: 0.38, pipelines: [0, 1, 2, 3, 4, 5, 6, 7] },
  { id: 'globex', share: 0.27, pipelines: [0, 1, 3, 4, 5] },
  { id: 'initech', share: 0.18, pipelines: [0, 2, 6, 7] },
  { id: 'umbrella', share: 0.12, pipelines: [1, 3, 5] },
  { id: 'hooli', share: 0.05, pipelines: [0, 2, 4] },
] as const;
export const apiKey = (tenant: string) => `bench-key-${tenant}`;

type Dialect = 'otel' | 'openinference' | 'traceloop' | 'vercel';
/** 8 pipelines; deep ones nest sub-agents more often. */
const PIPELINES: { name: string; dialect: Dialect; deep: number }[] = [
  { name: 'support-bot', dialect: 'otel', deep: 0.02 }, { name: 'research-agent', dialect: 'otel', deep: 0.12 },
  { name: 'code-review', dialect: 'openinference', deep: 0.05 }, { name: 'doc-summarizer', dialect: 'vercel', deep: 0.01 },
  { name: 'sales-outreach', dialect: 'traceloop', deep: 0.03 }, { name: 'data-extraction', dialect: 'vercel', deep: 0.02 },
  { name: 'ticket-triage', dialect: 'openinference', deep: 0.02 }, { name: 'nightly-etl', dialect: 'traceloop', deep: 0.04 },
];
/** 5 chat models and 1 embedding model, with their providers and weights. */
const CHAT_MODELS = [
  ['gpt-4o-mini', 'openai', 40], ['gpt-4o', 'openai', 15], ['gpt-4.1-mini', 'openai', 15],
  ['claude-sonnet-4-20250514', 'anthropic', 20], ['gemini-2.5-flash', 'gcp.gemini', 10],
] as const;
const EMBEDDING_MODEL = 'text-embedding-3-small';
const TOOLS = ['web_search', 'fetch_page', 'sql_query', 'lookup_customer', 'send_email', 'read_file', 'create_ticket', 'calculator'];
const SUB_AGENTS = ['planner', 'researcher', 'coder', 'critic', 'summarizer', 'writer', 'verifier', 'analyst'];
const FAILURES = [
  ['TimeoutError', 'tool timed out after 30s', 30], ['RateLimitError', 'rate limited: 429 Too Many Requests', 25],
  ['APIConnectionError', 'connection reset by peer', 15], ['ValidationError', 'output did not match the schema', 15],
  ['KeyError', 'no such customer', 15],
] as const;

type Attr = { key: string; value: Record<string, unknown> };
const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): Attr => ({ key, value: { intValue: v } });
const dbl = (key: string, v: number): Attr => ({ key, value: { doubleValue: v } });
const strs = (key: string, vs: string[]): Attr => ({ key, value: { arrayValue: { values: vs.map((v) => ({ stringValue: v })) } } });

interface GenSpan {
  spanId: Buffer; parent: GenSpan | null; name: string; kind: number; start: number; end: number;
  attrs: Attr[]; node: boolean; depth: number; error?: readonly [string, string]; links?: Buffer[];
}

const TEXT = 'Summarise the customer conversation, list the open questions and propose the next action with a short justification.';
const ANSWER = 'The customer wants a refund for the duplicate charge; open question: which card. Next action: confirm the card and refund.';
const MESSAGES_IN = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: TEXT }] }]);
const MESSAGES_OUT = JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: ANSWER }], finish_reason: 'stop' }]);
const VERCEL_PROMPT = JSON.stringify([{ role: 'user', content: [{ type: 'text', text: TEXT }] }]);
/** nanoseconds since the epoch of a time in ms, as protobufjs takes a fixed64 (low and high 32 bits) */
function nanos(ms: number): { low: number; high: number; unsigned: boolean } {
  const ns = BigInt(Math.round(ms * 1000)) * 1000n;
  return { low: Number(ns & 0xffffffffn) | 0, high: Number(ns >> 32n) | 0, unsigned: true };
}

/** Builds one run: a tree of spans with times (ms) and node depths. */
class RunBuilder {
  readonly spans: GenSpan[] = [];
  readonly model: readonly [string, string, number];
  maxDepth = 0;
  constructor(private readonly rng: Rng, readonly dialect: Dialect, readonly pipeline: string, private readonly agentDepth: number) {
    this.model = rng.weighted(CHAT_MODELS.map((m) => [m, m[2]] as const));
  }

  private add(parent: GenSpan | null, name: string, kind: number, start: number, attrs: Attr[], node: boolean): GenSpan {
    const nodeParent = (p: GenSpan | null): GenSpan | null => (p === null || p.node ? p : nodeParent(p.parent));
    const np = nodeParent(parent);
    const s: GenSpan = { spanId: this.rng.bytes(8), parent, name, kind, start, end: start, attrs, node, depth: np === null ? 0 : np.depth + 1 };
    if (node) this.maxDepth = Math.max(this.maxDepth, s.depth);
    this.spans.push(s);
    return s;
  }

  /** A plain span (not a node): an HTTP call under an LLM or tool call, or a framework step between nodes. */
  private plain(parent: GenSpan, t: number, http: boolean): GenSpan {
    const s = http
      ? this.add(parent, 'POST', 3, t, [str('http.request.method', 'POST'), str('url.full', 'https://api.example.com/v1/run'),
        str('server.address', 'api.example.com'), int('http.response.status_code', 200)], false)
      : this.add(parent, `step ${this.rng.int(6)}`, 1, t, [str('framework.step', 'graph-node'), int('framework.step.index', this.rng.int(20))], false);
    s.end = t + (http ? this.rng.between(20, 400) : 1);
    return s;
  }

  llm(parent: GenSpan, t: number): number {
    const [model, provider] = this.rng.chance(0.08) ? [EMBEDDING_MODEL, 'openai'] : [this.model[0], this.model[1]];
    const embedding = model === EMBEDDING_MODEL;
    const inTok = embedding ? 40 + this.rng.int(400) : 300 + this.rng.int(3000);
    const outTok = embedding ? 0 : 20 + this.rng.int(600);
    const dur = embedding ? this.rng.between(30, 200) : this.rng.between(300, 4000);
    const msgs = MESSAGES_IN;
    const out = MESSAGES_OUT;
    let s: GenSpan;
    switch (this.dialect) {
      case 'otel':
        s = this.add(parent, `${embedding ? 'embeddings' : 'chat'} ${model}`, 3, t, [
          str('gen_ai.operation.name', embedding ? 'embeddings' : 'chat'), str('gen_ai.provider.name', provider),
          str('gen_ai.request.model', model), str('gen_ai.response.model', model), str('gen_ai.response.id', 'chatcmpl-' + this.rng.bytes(6).toString('hex')),
          dbl('gen_ai.request.temperature', 0.2), int('gen_ai.request.max_tokens', 1024), int('gen_ai.usage.input_tokens', inTok),
          int('gen_ai.usage.output_tokens', outTok), strs('gen_ai.response.finish_reasons', ['stop']),
          ...(embedding ? [] : [str('gen_ai.input.messages', msgs), str('gen_ai.output.messages', out)]),
        ], true);
        break;
      case 'openinference':
        s = this.add(parent, embedding ? 'CreateEmbeddings' : 'ChatCompletion', 1, t, [
          str('openinference.span.kind', embedding ? 'EMBEDDING' : 'LLM'), str(embedding ? 'embedding.model_name' : 'llm.model_name', model),
          str('llm.provider', provider), int('llm.token_count.prompt', inTok), int('llm.token_count.completion', outTok),
          str('llm.invocation_parameters', '{"temperature":0.2,"max_tokens":1024}'),
          ...(embedding ? [] : [str('llm.input_messages.0.message.role', 'user'), str('llm.input_messages.0.message.content', TEXT),
            str('llm.output_messages.0.message.role', 'assistant'), str('llm.output_messages.0.message.content', ANSWER)]),
        ], true);
        break;
      case 'traceloop':
        s = this.add(parent, embedding ? 'openai.embeddings' : `${provider}.chat`, 3, t, [
          str('llm.request.type', embedding ? 'embedding' : 'chat'), str('gen_ai.system', provider), str('gen_ai.request.model', model),
          str('gen_ai.response.model', model), int('gen_ai.usage.prompt_tokens', inTok), int('gen_ai.usage.completion_tokens', outTok),
          ...(embedding ? [] : [str('gen_ai.prompt.0.role', 'user'), str('gen_ai.prompt.0.content', TEXT),
            str('gen_ai.completion.0.role', 'assistant'), str('gen_ai.completion.0.content', ANSWER)]),
        ], true);
        break;
      case 'vercel':
        s = this.add(parent, embedding ? 'ai.embed.doEmbed' : 'ai.generateText.doGenerate', 1, t, [
          str('ai.model.id', model), str('ai.model.provider', `${provider}.chat`), str('ai.telemetry.functionId', this.pipeline),
          int('ai.usage.inputTokens', inTok), ...(embedding ? [] : [int('ai.usage.outputTokens', outTok),
            str('ai.prompt.messages', VERCEL_PROMPT),
            str('ai.response.text', ANSWER), str('ai.response.finishReason', 'stop')]),
        ], true);
        break;
    }
    if (this.rng.chance(0.4)) this.plain(s, t + 5, true);
    s.end = t + dur;
    return s.end + this.rng.between(1, 20);
  }

  tool(parent: GenSpan, t: number, name = this.rng.pick(TOOLS)): number {
    const args = `{"query":"refund status for order ${this.rng.int(100000)}","limit":5}`;
    const result = `{"status":"ok","items":[{"id":${this.rng.int(1e6)},"title":"Order found","score":0.93}]}`;
    const attrs: Record<Dialect, [string, Attr[]]> = {
      otel: [`execute_tool ${name}`, [str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', name),
        str('gen_ai.tool.call.id', 'call_' + this.rng.bytes(4).toString('hex')), str('gen_ai.tool.call.arguments', args), str('gen_ai.tool.call.result', result)]],
      openinference: [name, [str('openinference.span.kind', 'TOOL'), str('tool.name', name), str('input.value', args),
        str('input.mime_type', 'application/json'), str('output.value', result), str('output.mime_type', 'application/json')]],
      traceloop: [`${name}.tool`, [str('traceloop.span.kind', 'tool'), str('traceloop.entity.name', name),
        str('traceloop.entity.input', args), str('traceloop.entity.output', result)]],
      vercel: ['ai.toolCall', [str('ai.toolCall.name', name), str('ai.toolCall.id', 'call_' + this.rng.bytes(4).toString('hex')),
        str('ai.toolCall.args', args), str('ai.toolCall.result', result), str('ai.telemetry.functionId', this.pipeline)]],
    };
    const [spanName, a] = attrs[this.dialect];
    const s = this.add(parent, spanName, 1, t, a, true);
    if (this.rng.chance(0.5)) this.plain(s, t + 2, true);
    s.end = t + this.rng.between(50, 2000);
    let next = s.end + this.rng.between(1, 20);
    // a failed call retried by its agent: a failed node in a completed run, and a second attempt of the step
    if (this.rng.chance(0.03)) {
      s.error = this.rng.weighted(FAILURES.map((f) => [[f[0], f[1]] as const, f[2]] as const));
      next = this.tool(parent, next, name);
    }
    return next;
  }

  /** An agent node and its steps: LLM calls, tool calls, sub-agents (down to agentDepth), framework steps between them. */
  agent(parent: GenSpan | null, t: number, depth: number, name: string): GenSpan {
    const attrs: Record<Dialect, [string, Attr[]]> = {
      otel: [`invoke_agent ${name}`, [str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', name),
        str('gen_ai.agent.id', 'agent-' + name)]],
      openinference: [name, [str('openinference.span.kind', 'AGENT'), str('agent.name', name)]],
      traceloop: [depth === 0 ? `${name}.workflow` : `${name}.agent`, depth === 0
        ? [str('traceloop.span.kind', 'workflow'), str('traceloop.workflow.name', this.pipeline), str('traceloop.entity.name', name)]
        : [str('traceloop.span.kind', 'agent'), str('traceloop.entity.name', name)]],
      vercel: ['ai.generateText', [str('ai.telemetry.functionId', this.pipeline), str('ai.model.id', this.model[0]),
        str('ai.model.provider', `${this.model[1]}.chat`)]],
    };
    const [spanName, a] = attrs[this.dialect];
    const s = this.add(parent, spanName, 1, t, a, true);
    let cursor = t + this.rng.between(1, 5);
    const steps = 1 + this.rng.int(2);
    for (let i = 0; i < steps; i++) {
      const container = this.dialect !== 'vercel' && this.rng.chance(0.3) ? this.plain(s, cursor, false) : s;
      cursor = this.llm(container, cursor);
      for (let k = this.rng.int(depth === 0 ? 3 : 2); k > 0; k--) cursor = this.tool(container, cursor);
      // the first step goes one level deeper while the run's depth allows; later ones sometimes
      if (depth < this.agentDepth && (i === 0 || this.rng.chance(0.1))) {
        const sub = this.agent(container, cursor, depth + 1, this.rng.pick(SUB_AGENTS));
        cursor = sub.end + this.rng.between(1, 20);
      }
      if (container !== s) container.end = cursor;
    }
    cursor = this.llm(s, cursor);
    s.end = cursor + this.rng.between(1, 10);
    if (this.dialect === 'vercel') {
      // the aggregate carries its calls' usage again (runledger counts it once: usage_counted)
      s.attrs.push(int('ai.usage.inputTokens', 1000), int('ai.usage.outputTokens', 200));
    }
    return s;
  }

  /** Fails a random LLM or tool node and every span above it (the error propagates to the root). */
  fail(): void {
    const leaves = this.spans.filter((x) => x.node && !this.spans.some((c) => c.parent === x && c.node));
    let s: GenSpan | null = this.rng.pick(leaves);
    const f = this.rng.weighted(FAILURES.map((x) => [[x[0], x[1]] as const, x[2]] as const));
    for (; s !== null; s = s.parent) s.error = f;
  }
}

export interface GenStats { runs: number; spans: number; nodes: number; failedRuns: number; runningRuns: number; maxDepth: number; requests: number }
export interface Request { tenant: string; body: Uint8Array; spans: number }
export interface GenOptions {
  spans: number; days: number; endMs: number; seed: number; spansPerRequest: number;
  /** share of runs whose root span is sent with the tenant's next request (does not change the data, only its grouping) */
  lateRoots: number;
}

/**
 * The requests of the whole load, in order, per tenant (a request carries one tenant's runs, under its API
 * key). Runs start in time order over [end − days, end); a run's spans go in one request, except its root
 * span in a share `lateRoots` of the runs (sent with the tenant's next request: parents arriving after
 * children, as exporters send long runs), and runs of the last 0.1% of the window never send theirs (RUNNING).
 */
export class LedgerGenerator {
  readonly stats: GenStats = { runs: 0, spans: 0, nodes: 0, failedRuns: 0, runningRuns: 0, maxDepth: 0, requests: 0 };
  private readonly rng: Rng;
  /** per tenant: runs to send, roots held back from the previous request (sent with this one) and from this one */
  private readonly buffers = new Map<string, { runs: unknown[]; spans: number; held: unknown[]; holding: unknown[] }>();
  private readonly startMs: number;
  private readonly pending: Request[] = [];
  private done = false;

  constructor(private readonly opts: GenOptions) {
    this.rng = new Rng(opts.seed);
    this.startMs = opts.endMs - opts.days * DAY_MS;
    for (const t of TENANTS) this.buffers.set(t.id, { runs: [], spans: 0, held: [], holding: [] });
  }

  /** The next request, or null when all spans were generated and sent. */
  next(): Request | null {
    while (this.pending.length === 0 && !this.done) this.generateRun();
    return this.pending.shift() ?? null;
  }

  private generateRun(): void {
    const rng = this.rng;
    const frac = this.stats.spans / this.opts.spans;
    if (frac >= 1) {
      for (const t of TENANTS) this.flush(t.id, true);
      this.done = true;
      return;
    }
    const tenant = rng.weighted(TENANTS.map((t) => [t, t.share] as const));
    const p = PIPELINES[rng.pick(tenant.pipelines)]!;
    const deep = rng.chance(p.deep);
    const agentDepth = deep ? 4 + rng.int(5) : rng.weighted([[0, 60], [1, 28], [2, 8], [3, 4]] as const);
    const b = new RunBuilder(rng, p.dialect, p.name, agentDepth);
    const start = this.startMs + frac * (this.opts.endMs - this.startMs);
    const user = `u-${tenant.id}-${rng.int(Math.round(2000 * tenant.share))}`;
    const root = b.agent(null, start, 0, p.name);
    root.kind = rng.chance(0.4) ? 2 : 1;
    root.attrs.push(str('user.id', user), str('session.id', 'sess-' + rng.bytes(6).toString('hex')));
    const input = JSON.stringify({ userId: user, request: TEXT, channel: rng.pick(['web', 'email', 'api']) });
    if (p.dialect === 'openinference') root.attrs.push(str('input.value', input), str('input.mime_type', 'application/json'));
    if (p.dialect === 'traceloop') root.attrs.push(str('traceloop.entity.input', input), str('traceloop.entity.output', JSON.stringify({ answer: ANSWER })));
    if (p.dialect === 'otel') root.attrs.push(str('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: TEXT }] }])));
    if (p.dialect === 'vercel') root.attrs.push(str('ai.prompt', JSON.stringify({ prompt: TEXT })), str('ai.response.text', ANSWER));
    if (rng.chance(0.02)) root.links = [rng.bytes(16)];
    const failed = rng.chance(0.057);
    if (failed) b.fail();
    const running = frac > 0.999;
    const traceId = rng.bytes(16);
    const env = rng.weighted([['production', 85], ['staging', 10], ['dev', 5]] as const);
    const encode = (s: GenSpan) => ({
      traceId, spanId: s.spanId, parentSpanId: s.parent?.spanId, name: s.name, kind: s.kind,
      startTimeUnixNano: nanos(s.start), endTimeUnixNano: nanos(s.end),
      attributes: s.error ? [...s.attrs, str('error.type', s.error[0])] : s.attrs,
      status: s.error ? { code: 2, message: s.error[1] } : { code: 0 },
      events: s.error ? [{ timeUnixNano: nanos(s.end), name: 'exception', attributes: [
        str('exception.type', s.error[0]), str('exception.message', s.error[1]),
        str('exception.stacktrace', `${s.error[0]}: ${s.error[1]}\n    at call (/app/agent.py:120)\n    at step (/app/graph.py:88)`)] }] : [],
      links: s.links?.map((t) => ({ traceId: t, spanId: rng.bytes(8) })) ?? [],
    });
    const resource = { attributes: [str('service.name', `${p.name}-svc`), str('service.version', '1.' + rng.int(8) + '.0'),
      str('deployment.environment.name', env), str('telemetry.sdk.language', 'python')] };
    // in the order a batch span processor exports them: by end time (children before their parents)
    const rs = (spans: GenSpan[]) => ({ resource, scopeSpans: [{ scope: { name: `bench.${p.dialect}`, version: '1.0.0' },
      spans: [...spans].sort((x, y) => x.end - y.end).map(encode) }] });
    const buf = this.buffers.get(tenant.id)!;
    const rest = b.spans.slice(1);
    if (running) {
      buf.runs.push(rs(rest));
    } else if (rng.next() < this.opts.lateRoots) {
      buf.runs.push(rs(rest));
      buf.holding.push(rs([root]));
    } else {
      buf.runs.push(rs(b.spans));
    }
    const sent = running ? rest.length : b.spans.length;
    buf.spans += sent;
    const s = this.stats;
    s.runs++; s.spans += sent; s.nodes += b.spans.filter((x) => x.node && (!running || x !== root)).length;
    s.failedRuns += failed && !running ? 1 : 0; s.runningRuns += running ? 1 : 0; s.maxDepth = Math.max(s.maxDepth, b.maxDepth);
    if (buf.spans >= this.opts.spansPerRequest) this.flush(tenant.id, false);
  }

  private flush(tenant: string, all: boolean): void {
    const buf = this.buffers.get(tenant)!;
    const resourceSpans = [...buf.runs, ...buf.held, ...(all ? buf.holding : [])];
    buf.runs = [];
    buf.spans = 0;
    buf.held = all ? [] : buf.holding;
    buf.holding = [];
    if (resourceSpans.length === 0) return;
    const spans = resourceSpans.reduce((n: number, r) => n + (r as { scopeSpans: { spans: unknown[] }[] }).scopeSpans[0]!.spans.length, 0);
    const body = v1.ExportTraceServiceRequest.encode(v1.ExportTraceServiceRequest.create({ resourceSpans } as never)).finish();
    this.stats.requests++;
    this.pending.push({ tenant, body, spans });
  }
}
