/**
 * Reusable pieces for capturing REAL GenAI instrumentation spans in-process:
 * - a mock OpenAI HTTP server (chat.completions incl. streaming + tool calls, embeddings),
 * - an in-memory span capture (BasicTracerProvider + InMemorySpanExporter), records via src/exporter.ts toSpanRecord,
 * - scenario runners for the Vercel AI SDK (ai/test mocks), @opentelemetry/instrumentation-openai and
 *   @arizeai/openinference-instrumentation-openai.
 *
 * The OpenAI instrumentations are applied manually to the ESM `openai` module (no require hooks needed)
 * and removed again afterwards, so the scenarios can run one after another in one process.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanRecord } from '../../src/otlp/types.js';
import { toSpanRecord } from '../../src/exporter.js';

/** ReadableSpan → SpanRecord: the in-process exporter's conversion (what the OTLP decoders produce). */
export { toSpanRecord };

// ---------------------------------------------------------------------------------------------------------
// Mock OpenAI server
// ---------------------------------------------------------------------------------------------------------

export interface MockUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

export interface MockOpenAIOptions {
  /** usage reported by chat completions (defaults: 120 prompt incl. 100 cached, 30 completion, 0 reasoning) */
  usage?: Partial<MockUsage>;
  /** the response model for a request model (default: gpt-4o-mini → gpt-4o-mini-2024-07-18, else unchanged) */
  responseModel?: (requestModel: string) => string;
  /** assistant text of non-tool answers */
  text?: string;
}

export interface MockOpenAIServer {
  /** e.g. http://127.0.0.1:12345/v1 — pass as `baseURL` to the OpenAI client */
  baseURL: string;
  /** every request received: path and parsed JSON body */
  requests: { path: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

const DEFAULT_USAGE: MockUsage = { promptTokens: 120, completionTokens: 30, cachedTokens: 100, reasoningTokens: 0 };

function defaultResponseModel(model: string): string {
  return model === 'gpt-4o-mini' ? 'gpt-4o-mini-2024-07-18' : model;
}

function chatUsage(u: MockUsage) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0,
    },
  };
}

/** A tool call is answered when tools are offered and no tool result is in the conversation yet. */
function wantsToolCall(body: Record<string, unknown>): { name: string } | null {
  const tools = body.tools as { function?: { name?: string } }[] | undefined;
  const messages = (body.messages as { role?: string }[] | undefined) ?? [];
  if (!tools?.length || messages.some((m) => m.role === 'tool')) return null;
  return { name: tools[0]!.function?.name ?? 'tool' };
}

function chatCompletion(body: Record<string, unknown>, opts: Required<MockOpenAIOptions>, seq: number) {
  const usage = { ...DEFAULT_USAGE, ...opts.usage };
  const tool = wantsToolCall(body);
  const message = tool
    ? {
      role: 'assistant', content: null, refusal: null,
      tool_calls: [{ id: `call_mock_${seq}`, type: 'function', function: { name: tool.name, arguments: '{"city":"Paris"}' } }],
    }
    : { role: 'assistant', content: opts.text, refusal: null };
  return {
    id: `chatcmpl-mock-${seq}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: opts.responseModel(String(body.model)),
    system_fingerprint: 'fp_mock',
    service_tier: 'default',
    choices: [{ index: 0, message, logprobs: null, finish_reason: tool ? 'tool_calls' : 'stop' }],
    usage: chatUsage(usage),
  };
}

function sseChunks(body: Record<string, unknown>, opts: Required<MockOpenAIOptions>, seq: number): string {
  const usage = { ...DEFAULT_USAGE, ...opts.usage };
  const base = {
    id: `chatcmpl-mock-${seq}`, object: 'chat.completion.chunk', created: 1_700_000_000,
    model: opts.responseModel(String(body.model)), system_fingerprint: 'fp_mock',
  };
  const words = opts.text.split(/(?<= )/);
  const chunks: unknown[] = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] },
    ...words.map((w) => ({ ...base, choices: [{ index: 0, delta: { content: w }, logprobs: null, finish_reason: null }] })),
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
  ];
  const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
  if (streamOptions?.include_usage) chunks.push({ ...base, choices: [], usage: chatUsage(usage) });
  return chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
}

function embeddings(body: Record<string, unknown>) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const vector = [0.1, 0.2, 0.3, 0.4];
  const base64 = body.encoding_format === 'base64';
  const encode = () => Buffer.from(new Float32Array(vector).buffer).toString('base64');
  return {
    object: 'list',
    model: String(body.model),
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: base64 ? encode() : vector })),
    usage: { prompt_tokens: 8 * inputs.length, total_tokens: 8 * inputs.length },
  };
}

export async function startMockOpenAI(options: MockOpenAIOptions = {}): Promise<MockOpenAIServer> {
  const opts: Required<MockOpenAIOptions> = {
    usage: options.usage ?? {},
    responseModel: options.responseModel ?? defaultResponseModel,
    text: options.text ?? 'Hello from the mock model.',
  };
  const requests: MockOpenAIServer['requests'] = [];
  let seq = 0;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = parts.length ? (JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad json"}}');
        return;
      }
      const path = (req.url ?? '').split('?')[0]!;
      requests.push({ path, body });
      seq++;
      if (req.method === 'POST' && path === '/v1/chat/completions') {
        if (body.stream === true) {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          res.end(sseChunks(body, opts, seq));
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(chatCompletion(body, opts, seq)));
        }
      } else if (req.method === 'POST' && path === '/v1/embeddings') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(embeddings(body)));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: `no mock for ${req.method} ${path}`, type: 'invalid_request_error' } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

// ---------------------------------------------------------------------------------------------------------
// In-memory capture
// ---------------------------------------------------------------------------------------------------------

let contextManagerSet = false;

/** Parent/child spans need a context manager; registers AsyncLocalStorage once per process (idempotent). */
export function ensureContextManager(): void {
  if (contextManagerSet) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextManagerSet = true;
}

export interface SpanCapture {
  provider: BasicTracerProvider;
  exporter: InMemorySpanExporter;
  tracer(name?: string): Tracer;
  /** finished spans so far, converted, ordered by start time */
  records(tenantId?: string): SpanRecord[];
  reset(): void;
  shutdown(): Promise<void>;
}

export function createSpanCapture(resource: Record<string, string> = {}, extraProcessors: SpanProcessor[] = []): SpanCapture {
  ensureContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'runledger-fixtures', ...resource }),
    spanProcessors: [new SimpleSpanProcessor(exporter), ...extraProcessors],
  });
  return {
    provider,
    exporter,
    tracer: (name = 'runledger-fixtures') => provider.getTracer(name),
    records: (tenantId = 'default') => {
      const out = exporter.getFinishedSpans().map((s) => toSpanRecord(s, tenantId));
      return out.sort((x, y) => x.startUs - y.startUs || (x.spanId < y.spanId ? -1 : 1));
    },
    reset: () => exporter.reset(),
    shutdown: () => provider.shutdown(),
  };
}

// The scenarios import the client packages, so they live in the test package (resolved from test/clients/node_modules).
export { runVercelAiScenarios, runOtelOpenAIScenarios, runOpenInferenceOpenAIScenarios } from '../clients/genai-scenarios.js';
