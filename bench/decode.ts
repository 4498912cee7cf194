/**
 * Decode micro benchmark: one ExportTraceServiceRequest of 512 GenAI spans (~1 KB each),
 * decoded repeatedly as OTLP/protobuf and OTLP/JSON on one core.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/decode.js [seconds-per-case]
 */
import { decodeTraceRequestJson } from '../src/otlp/decode-json.js';
import { decodeTraceRequestProto } from '../src/otlp/decode-proto.js';
import { encodeTraceRequestProto, otlpJsonToProtoRequest } from '../src/otlp/request.js';

const SPANS = 512;
const SECONDS = Number(process.argv[2] ?? 3);
const T0 = 1_700_000_000_000_000_000n;

const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: number) => ({ key, value: { intValue: String(value) } });
const dbl = (key: string, value: number) => ({ key, value: { doubleValue: value } });

function genAiSpan(i: number) {
  const start = T0 + BigInt(i) * 1_000_000n;
  return {
    traceId: hex(0xabc0000 + Math.floor(i / 8), 16),
    spanId: hex(i + 1, 8),
    parentSpanId: i % 8 === 0 ? '' : hex(i - (i % 8) + 1, 8),
    name: `chat gpt-4o-mini #${i}`,
    kind: 3,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: (start + 734_000_000n).toString(),
    attributes: [
      str('gen_ai.operation.name', 'chat'),
      str('gen_ai.system', 'openai'),
      str('gen_ai.request.model', 'gpt-4o-mini'),
      str('gen_ai.response.model', 'gpt-4o-mini-2024-07-18'),
      str('gen_ai.response.id', `chatcmpl-${hex(i * 7919, 12)}`),
      dbl('gen_ai.request.temperature', 0.2),
      int('gen_ai.request.max_tokens', 1024),
      int('gen_ai.usage.input_tokens', 800 + i),
      int('gen_ai.usage.output_tokens', 120 + (i % 50)),
      { key: 'gen_ai.response.finish_reasons', value: { arrayValue: { values: [{ stringValue: 'stop' }] } } },
      str('gen_ai.conversation.id', `conv-${hex(Math.floor(i / 8), 8)}`),
      str('server.address', 'api.openai.com'),
      int('server.port', 443),
      str('gen_ai.input.messages', JSON.stringify([
        { role: 'system', content: 'You are a concise assistant for the run ledger benchmark.' },
        { role: 'user', content: `Summarise ticket ${i}: the nightly export failed twice with a timeout.` },
      ])),
      str('gen_ai.output.messages', JSON.stringify([
        { role: 'assistant', content: 'The export timed out twice; retry with a larger batch window.' },
      ])),
    ],
    status: { code: 0 },
  };
}

function request() {
  return {
    resourceSpans: [{
      resource: { attributes: [str('service.name', 'bench-agent'), str('deployment.environment', 'bench')] },
      scopeSpans: [{ scope: { name: 'openinference.instrumentation.openai', version: '1.0.0' }, spans: Array.from({ length: SPANS }, (_, i) => genAiSpan(i)) }],
    }],
  };
}

function measure(label: string, bytes: number, decode: () => number): void {
  for (let i = 0; i < 50; i++) decode(); // warm up the JIT
  let requests = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(SECONDS * 1e9);
  let now = start;
  while (now < deadline) {
    if (decode() !== SPANS) throw new Error(`${label}: wrong span count`);
    requests++;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - start) / 1e9;
  const spansPerSec = (requests * SPANS) / secs;
  console.log(
    `${label.padEnd(6)} ${Math.round(spansPerSec).toLocaleString('en-US').padStart(9)} spans/s` +
      `  ${((requests * bytes) / secs / 1e6).toFixed(1).padStart(6)} MB/s` +
      `  ${(bytes / SPANS).toFixed(0)} B/span  (${requests} requests in ${secs.toFixed(1)} s)`,
  );
}

const json = request();
const protoBody = encodeTraceRequestProto(otlpJsonToProtoRequest(json));
const jsonBody = Buffer.from(JSON.stringify(json));

console.log(`decode benchmark: ${SPANS} GenAI spans per request, node ${process.version}, ${SECONDS} s per case`);
measure('proto', protoBody.length, () => decodeTraceRequestProto(protoBody, 'bench').spans.length);
measure('json', jsonBody.length, () => decodeTraceRequestJson(jsonBody, 'bench').spans.length);
