/** The in-process exporter's conversion of SDK spans to SpanRecords, sanitised like the decoders do. */
import { describe, expect, it } from 'vitest';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { toSpanRecord } from './exporter.js';

describe('toSpanRecord', () => {
  it('sanitises NUL and lone surrogates like the OTLP decoders (PostgreSQL would refuse the span)', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'svc\u0000', 'r\ud800': 'x' }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const span = provider.getTracer('scope\u0000', '1\udc00').startSpan('na\u0000me', {
      attributes: { 'k\u0000': 'v\ud800', list: ['a\u0000', 'ok'], n: 1 },
    });
    span.addEvent('ev\u0000', { 'e\u0000': '\u0000' });
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'bad\u0000' });
    span.end();
    await provider.forceFlush();
    const r = toSpanRecord(memory.getFinishedSpans()[0]!, 'default');
    const x = '\uFFFD';
    expect(r).toMatchObject({
      name: `na${x}me`, statusMessage: `bad${x}`, serviceName: `svc${x}`, scopeName: `scope${x}`, scopeVersion: `1${x}`,
      attributes: { [`k${x}`]: `v${x}`, list: [`a${x}`, 'ok'], n: 1 },
      events: [{ name: `ev${x}`, attributes: { [`e${x}`]: x } }],
    });
    expect(r.resource).toMatchObject({ 'service.name': `svc${x}`, [`r${x}`]: 'x' });
    await provider.shutdown();
  });

  it('gives ids in lowercase hex, as the OTLP decoders do, whatever case the id generator used', async () => {
    const memory = new InMemorySpanExporter();
    let n = 0;
    const provider = new BasicTracerProvider({
      idGenerator: {
        generateTraceId: () => 'ABCDEF0123456789ABCDEF0123456789',
        generateSpanId: () => (++n === 1 ? 'AAAAAAAAAAAAAAA1' : 'BBBBBBBBBBBBBBB2'),
      },
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('t');
    const parent = tracer.startSpan('parent');
    tracer.startSpan('child', { links: [{ context: parent.spanContext() }] }, trace.setSpan(ROOT_CONTEXT, parent)).end();
    parent.end();
    await provider.forceFlush();
    const child = toSpanRecord(memory.getFinishedSpans().find((s) => s.name === 'child')!, 'default');
    expect(child).toMatchObject({
      traceId: 'abcdef0123456789abcdef0123456789', spanId: 'bbbbbbbbbbbbbbb2', parentSpanId: 'aaaaaaaaaaaaaaa1',
      links: [{ traceId: 'abcdef0123456789abcdef0123456789', spanId: 'aaaaaaaaaaaaaaa1' }],
    });
    // A span as @opentelemetry/sdk-trace-base 1.x gives it: `parentSpanId`, no `parentSpanContext`. Its parent
    // was dropped: every span a root, the run tree flat.
    const v2 = memory.getFinishedSpans().find((s) => s.name === 'child')!;
    const v1 = Object.assign(Object.create(Object.getPrototypeOf(v2)), v2, { parentSpanContext: undefined, parentSpanId: 'AAAAAAAAAAAAAAA1' });
    expect(toSpanRecord(v1, 'default').parentSpanId).toBe('aaaaaaaaaaaaaaa1');
    await provider.shutdown();
  });
});
