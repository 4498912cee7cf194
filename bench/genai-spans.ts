/** Synthetic ~1 KB GenAI spans (agent runs in OTel GenAI conventions) as OTLP protobuf requests. */
import { randomBytes } from 'node:crypto';
import { opentelemetry } from '../src/otlp/gen/otlp.js';

const v1 = opentelemetry.proto.collector.trace.v1;

type Attr = { key: string; value: Record<string, unknown> };
const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): Attr => ({ key, value: { intValue: v } });
const dbl = (key: string, v: number): Attr => ({ key, value: { doubleValue: v } });

const PROMPT = JSON.stringify([
  { role: 'system', parts: [{ type: 'text', content: 'You are a careful research assistant. Cite sources. Prefer primary literature over blog posts, state uncertainty explicitly, and never invent citations. When a question is ambiguous, list the interpretations you considered before answering. Keep answers under 200 words unless asked otherwise.' }] },
  { role: 'user', parts: [{ type: 'text', content: 'Summarise the latest findings on retrieval-augmented generation evaluation, with three bullet points and links.' }] },
]);
const COMPLETION = JSON.stringify([
  { role: 'assistant', parts: [{ type: 'text', content: '1. Faithfulness metrics now dominate. 2. LLM-as-judge agreement is improving. 3. Benchmarks shift to long-context tasks.' }], finish_reason: 'stop' },
]);

let clock = BigInt(Date.now()) * 1_000_000n;

/** One agent run of 8 spans: invoke_agent → 3 × (chat, execute_tool) + an HTTP client span. */
function agentRun(): Record<string, unknown>[] {
  const traceId = randomBytes(16);
  const root = randomBytes(8);
  const t0 = (clock += 50_000_000n);
  const spans: Record<string, unknown>[] = [];
  const add = (name: string, parent: Buffer | null, offsetMs: number, durMs: number, attributes: Attr[], kind = 1) => {
    const id = parent === null ? root : randomBytes(8);
    const start = t0 + BigInt(offsetMs) * 1_000_000n;
    spans.push({
      traceId, spanId: id, parentSpanId: parent ?? undefined, name, kind,
      startTimeUnixNano: start.toString(), endTimeUnixNano: (start + BigInt(durMs) * 1_000_000n).toString(),
      attributes, status: { code: 1 },
    });
    return id;
  };
  add('invoke_agent researcher', null, 0, 9000, [
    str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'researcher'), str('gen_ai.conversation.id', 'conv-' + traceId.toString('hex').slice(0, 6)),
    str('user.id', 'user-42'),
  ]);
  for (let i = 0; i < 3; i++) {
    add('chat gpt-4o-mini', root, 10 + i * 3000, 1500, [
      str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', 'openai'), str('gen_ai.request.model', 'gpt-4o-mini'),
      str('gen_ai.response.model', 'gpt-4o-mini-2024-07-18'), str('gen_ai.response.id', 'chatcmpl-' + randomBytes(6).toString('hex')),
      int('gen_ai.usage.input_tokens', 420 + i), int('gen_ai.usage.output_tokens', 96), dbl('gen_ai.request.temperature', 0.2),
      str('gen_ai.input.messages', PROMPT), str('gen_ai.output.messages', COMPLETION),
      { key: 'gen_ai.response.finish_reasons', value: { arrayValue: { values: [{ stringValue: 'stop' }] } } },
    ], 3);
    add('execute_tool web_search', root, 1600 + i * 3000, 900, [
      str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 'web_search'), str('gen_ai.tool.call.id', 'call_' + i),
      str('gen_ai.tool.call.arguments', '{"query":"rag evaluation 2026","top_k":5}'),
      str('gen_ai.tool.call.result', JSON.stringify([
        { title: 'Evaluating retrieval-augmented generation: a survey', url: 'https://example.org/papers/rag-eval-survey', score: 0.91 },
        { title: 'Faithfulness metrics for grounded generation', url: 'https://example.org/papers/faithfulness', score: 0.87 },
        { title: 'Long-context benchmarks for RAG systems', url: 'https://example.org/papers/long-context-rag', score: 0.82 },
      ])),
    ]);
  }
  add('GET https://search.example/api', root, 1700, 400, [
    str('http.request.method', 'GET'), str('url.full', 'https://search.example/api?q=rag+evaluation'), int('http.response.status_code', 200),
  ], 3);
  return spans;
}

export const SPANS_PER_RUN = 8;

/** An ExportTraceServiceRequest of `runs` agent runs, encoded. */
export function encodedRequest(runs: number): Uint8Array {
  const spans = [];
  for (let i = 0; i < runs; i++) spans.push(...agentRun());
  const req = v1.ExportTraceServiceRequest.create({
    resourceSpans: [{
      resource: { attributes: [str('service.name', 'bench-agent'), str('deployment.environment.name', 'bench')] },
      scopeSpans: [{ scope: { name: 'bench', version: '1.0.0' }, spans }],
    }],
  } as never);
  return v1.ExportTraceServiceRequest.encode(req).finish();
}
