/**
 * Requests produced by the OpenTelemetry JS SDK's own OTLP serializers (@opentelemetry/otlp-transformer,
 * installed with the OTLP exporters) decode identically in both encodings, in one process with
 * otlp-transformer's own generated protobufjs code (its types live in protobuf.roots.default, ours in
 * protobuf.roots.runledger, so neither replaces the other's message classes).
 */
import { ProtobufTraceSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { decodeTraceRequestJson } from './decode-json.js';
import { decodeTraceRequestProto } from './decode-proto.js';

function recordSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'interop-svc', 'service.version': '1.0.0' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('interop-scope', '0.1.0');
  const root = tracer.startSpan('agent run', { kind: SpanKind.SERVER, startTime: [1700000000, 123456789] });
  const child = tracer.startSpan(
    'chat gpt-4o',
    {
      kind: SpanKind.CLIENT,
      startTime: [1700000000, 500000000],
      attributes: {
        'gen_ai.system': 'openai',
        'gen_ai.usage.input_tokens': 1234,
        'gen_ai.request.temperature': 0.25,
        'gen_ai.request.stream': true,
        'gen_ai.response.finish_reasons': ['stop', 'length'],
      },
      links: [{ context: root.spanContext(), attributes: { 'link.kind': 'parent-run' } }],
    },
    trace.setSpan(context.active(), root),
  );
  child.addEvent('gen_ai.content.completion', { 'gen_ai.completion': 'hello\u0000' }, [1700000001, 999]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
  child.end([1700000002, 0]);
  root.end([1700000003, 1000]);
  return { spans: exporter.getFinishedSpans(), rootCtx: root.spanContext(), childCtx: child.spanContext() };
}

describe('OpenTelemetry JS SDK serializers', () => {
  const { spans, rootCtx, childCtx } = recordSpans();
  const fromProto = decodeTraceRequestProto(ProtobufTraceSerializer.serializeRequest(spans)!, 't');
  const fromJson = decodeTraceRequestJson(JsonTraceSerializer.serializeRequest(spans)!, 't');

  it('decode to the same records in protobuf and JSON', () => {
    expect(fromProto.spans).toHaveLength(2);
    expect(fromJson).toEqual(fromProto);
  });

  it('carry ids, times, kinds, status, attributes, events and links exactly', () => {
    const child = fromProto.spans.find((s) => s.name === 'chat gpt-4o')!;
    const root = fromProto.spans.find((s) => s.name === 'agent run')!;
    expect(root).toMatchObject({
      traceId: rootCtx.traceId, spanId: rootCtx.spanId, parentSpanId: null, kind: 2,
      startUs: 1700000000123456, endUs: 1700000003000001, serviceName: 'interop-svc',
      scopeName: 'interop-scope', scopeVersion: '0.1.0',
    });
    expect(child).toMatchObject({
      traceId: rootCtx.traceId, spanId: childCtx.spanId, parentSpanId: rootCtx.spanId, kind: 3,
      startUs: 1700000000500000, endUs: 1700000002000000, statusCode: 2, statusMessage: 'rate limited',
    });
    expect(child.attributes).toEqual({
      'gen_ai.system': 'openai',
      'gen_ai.usage.input_tokens': 1234,
      'gen_ai.request.temperature': 0.25,
      'gen_ai.request.stream': true,
      'gen_ai.response.finish_reasons': ['stop', 'length'],
    });
    expect(child.events).toEqual([
      { name: 'gen_ai.content.completion', timeUs: 1700000001000000, attributes: { 'gen_ai.completion': 'hello\uFFFD' } },
    ]);
    expect(child.links).toEqual([
      { traceId: rootCtx.traceId, spanId: rootCtx.spanId, attributes: { 'link.kind': 'parent-run' } },
    ]);
    expect(child.resource).toMatchObject({ 'service.name': 'interop-svc', 'service.version': '1.0.0' });
  });
});
