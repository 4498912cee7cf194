import { describe, expect, it } from 'vitest';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanStatusCode } from '@opentelemetry/api';
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
});
