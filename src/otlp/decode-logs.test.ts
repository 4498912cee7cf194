/** OTLP logs decoding: protobuf and JSON give the same records; trace context decides what is kept. */
import { describe, expect, it } from 'vitest';
import { decodeLogsRequestJson, decodeLogsRequestProto } from './decode-logs.js';
import { OtlpDecodeError } from './errors.js';
import { chatEvents, logsJson, logsProto, type Rec } from '../../test/helpers/logs.js';

const T = 'ab'.repeat(16);
const S = 'cd'.repeat(8);
const T0 = 1_765_000_000_000_000_000n;

const both = (records: Rec[]) => {
  const fromJson = decodeLogsRequestJson(JSON.stringify(logsJson(records)), 'acme');
  const fromProto = decodeLogsRequestProto(logsProto(records), 'acme');
  expect(fromProto).toEqual(fromJson);
  return fromJson;
};

describe('OTLP logs decoders', () => {
  it('keep records with trace context, identically from protobuf and JSON', () => {
    const out = both(chatEvents(T, S, T0));
    expect(out.rejected).toBe(0);
    expect(out.untraced).toBe(0);
    expect(out.records).toHaveLength(3);
    expect(out.records[0]).toMatchObject({
      traceId: T, spanId: S, timeUs: Number(T0 / 1000n), severityNumber: 9, eventName: 'gen_ai.system.message',
      body: { content: 'You are terse.' }, attributes: { 'event.name': 'gen_ai.system.message', 'gen_ai.system': 'openai' },
      resource: { 'service.name': 'svc' }, serviceName: 'svc', scopeName: '@opentelemetry/instrumentation-openai', tenantId: 'acme',
    });
  });

  it('count records without a trace id (or an all-zero one) as untraced, and reject malformed ids and timeless records', () => {
    const out = both([
      { timeNs: T0, body: { content: 'no trace' } },
      { traceId: '0'.repeat(32), timeNs: T0 },
      { traceId: T, spanId: '0'.repeat(16), timeNs: T0 }, // kept, without a span
      { traceId: T, spanId: 'abcd', timeNs: T0 },
      { traceId: T, timeNs: 0n, observedNs: 0n },
      { traceId: T, timeNs: 0n, observedNs: T0 + 5n * 1000n }, // the observed time stands in
    ]);
    expect(out.untraced).toBe(2);
    expect(out.rejected).toBe(2);
    expect(out.errors).toEqual([
      'resourceLogs[0].scopeLogs[0].logRecords[3]: invalid spanId (2 bytes, expected 8)',
      'resourceLogs[0].scopeLogs[0].logRecords[4]: no time_unix_nano nor observed_time_unix_nano',
    ]);
    expect(out.records.map((r) => [r.spanId, r.timeUs])).toEqual([[null, Number(T0 / 1000n)], [null, Number(T0 / 1000n) + 5]]);
  });

  it('take the event name from event_name, else from the event.name attribute', () => {
    const out = both([{ traceId: T, timeNs: T0, event: 'a.b', eventAttr: 'c.d' }, { traceId: T, timeNs: T0, eventAttr: 'c.d' }, { traceId: T, timeNs: T0 }]);
    expect(out.records.map((r) => r.eventName)).toEqual(['a.b', 'c.d', null]);
  });

  it('refuse a body that is not an ExportLogsServiceRequest', () => {
    expect(() => decodeLogsRequestJson('[1]', 'acme')).toThrow(OtlpDecodeError);
    expect(() => decodeLogsRequestJson('{"resourceLogs":{}}', 'acme')).toThrow(OtlpDecodeError);
    expect(() => decodeLogsRequestProto(new Uint8Array([0x0a, 0xff]), 'acme')).toThrow(OtlpDecodeError);
  });
});
