/** The decode cost read from a body before decoding it: its messages counted on the wire, and the 413 beyond the allowance. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { opentelemetry } from './gen/otlp.js';
import {
  DECODE_BYTES_PER_BODY_BYTE, DECODE_BYTES_PER_MESSAGE, checkDecodeCost, countJsonContainers, countProtoLogsMessages,
  countProtoTraceMessages, decodeCostBytes,
} from './decode-cost.js';
import { GatewayError } from '../errors.js';
import { decodeAllowanceBytes, largestBodyBytes } from '../sink/admission.js';
import { defaults } from '../config.js';
import { costlyRequest } from '../../test/helpers/hostile.js';
import { encodedRequest } from '../../bench/genai-spans.js';

const traces = (spans: object[], resourceAttributes: object[] = []) => opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.encode({
  resourceSpans: [{ resource: { attributes: resourceAttributes }, scopeSpans: [{ scope: { name: 's' }, spans }] }],
} as never).finish();
const span = (extra: object = {}) => ({ traceId: randomBytes(16), spanId: randomBytes(8), name: 'n', ...extra });
const kv = (key: string, value: object) => ({ key, value });

describe('countProtoTraceMessages', () => {
  it('counts every message the decoder makes an object of', () => {
    // resource_spans, resource, scope_spans, scope, span (+ its status, when sent)
    expect(countProtoTraceMessages(traces([span()]))).toBe(5);
    expect(countProtoTraceMessages(traces([span({ status: { code: 2 } })]))).toBe(6);
    // + 1 resource attribute (key-value + any-value) and 3 span attributes: an int (2), an array of two (2 + 1 + 2),
    // a key-value list of one (2 + 1 + 2); an event with one attribute (1 + 2), a link without (1)
    const body = traces([span({
      attributes: [kv('a', { intValue: 1 }), kv('b', { arrayValue: { values: [{ stringValue: 'x' }, { boolValue: true }] } }),
        kv('c', { kvlistValue: { values: [kv('d', { doubleValue: 1.5 })] } })],
      events: [{ name: 'e', attributes: [kv('k', { stringValue: 'v' })] }],
      links: [{ traceId: randomBytes(16), spanId: randomBytes(8) }],
    })], [kv('service.name', { stringValue: 'svc' })]);
    expect(countProtoTraceMessages(body)).toBe(5 + 2 + 2 + 5 + 5 + 3 + 1);
  });

  it('grows with the attributes and events a span carries, not with their bytes', () => {
    const attrs = (n: number) => Array.from({ length: n }, (_, i) => kv(`k${i}`, { intValue: i }));
    expect(countProtoTraceMessages(traces([span({ attributes: attrs(1000) })]))).toBe(5 + 2000);
    expect(countProtoTraceMessages(traces([span({ events: Array.from({ length: 700 }, () => ({})) })]))).toBe(5 + 700);
    expect(countProtoTraceMessages(traces([span({ attributes: [kv('blob', { stringValue: 'x'.repeat(100_000) })] })]))).toBe(5 + 2);
  });

  it('bounds a nesting it does not walk by its bytes, and stops quietly on malformed input', () => {
    let value: object = { intValue: 1 };
    for (let i = 0; i < 100; i++) value = { arrayValue: { values: [value] } };
    const deep = traces([span({ attributes: [kv('deep', value)] })]);
    expect(countProtoTraceMessages(deep)).toBeGreaterThanOrEqual(5 + 1 + 201);
    const body = traces([span({ attributes: [kv('a', { intValue: 1 })] })]);
    expect(countProtoTraceMessages(body.subarray(0, body.length - 3))).toBeLessThan(7);
    expect(countProtoTraceMessages(new Uint8Array([0xff, 0xff, 0xff]))).toBe(0);
  });
});

describe('countProtoLogsMessages', () => {
  it('counts records, their bodies and attributes', () => {
    const body = opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest.encode({
      resourceLogs: [{ scopeLogs: [{ logRecords: [
        { body: { kvlistValue: { values: [kv('a', { stringValue: 'b' })] } }, attributes: [kv('x', { intValue: 1 })] },
        { body: { stringValue: 'hello' } },
      ] }] }],
    } as never).finish();
    // resource_logs, scope_logs, 2 records; the first's body (1 + 1 + 2) and attribute (2), the second's body (1)
    expect(countProtoLogsMessages(body)).toBe(2 + 2 + 4 + 2 + 1);
  });
});

describe('countJsonContainers', () => {
  it('counts objects and arrays outside strings', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(countJsonContainers(enc('{"a":[{},{}],"b":"{[\\"{"}'))).toBe(4);
    expect(countJsonContainers(enc('{"a":"\\\\","b":{}}'))).toBe(2); // an escaped backslash ends no string early
    expect(countJsonContainers(enc(JSON.stringify({ events: Array.from({ length: 500 }, () => ({})) })))).toBe(502);
  });
});

describe('checkDecodeCost', () => {
  // The hostile soak's configuration (README "Memory"): Q = 4096, one worker, L ≈ 1.94 MiB, 30·L ≈ 61 MB.
  const cfg = { ...defaults, queueMaxSpans: 4096 };
  const allowance = decodeAllowanceBytes(cfg);
  const L = largestBodyBytes(cfg);
  const refused = (body: Uint8Array) => {
    try {
      checkDecodeCost(body, 'proto', 'traces', allowance);
      return null;
    } catch (e) {
      return e instanceof GatewayError ? e.kind : String(e);
    }
  };

  it('refuses, before decoding, a body of tiny attributes or empty events as large as a request may be (413)', () => {
    // Decoding the first took +75–81 MB (VmHWM), ~40·L; the second +245 MB: the bound allows 30·L for a decode.
    expect(refused(costlyRequest('tiny', Math.floor(L * 0.9))())).toBe('payload_too_large');
    expect(refused(traces([span({ events: Array.from({ length: Math.floor(L * 0.9 / 2) }, () => ({})) })]))).toBe('payload_too_large');
  });

  it('takes bodies as large as a request may be of GenAI spans or of one large value, and anything without a limit', () => {
    const genai = encodedRequest(Math.floor(L / 800 / 8)); // 8 spans of ~800 bytes per run
    expect(genai.length).toBeGreaterThan(L * 0.8);
    expect(refused(genai)).toBeNull();
    expect(decodeCostBytes(genai, 'proto', 'traces')).toBeLessThan(allowance * 0.7);
    expect(refused(costlyRequest('fat', Math.floor(L * 0.9))())).toBeNull();
    expect(() => checkDecodeCost(costlyRequest('tiny', Math.floor(L * 0.9))(), 'proto', 'traces', Infinity)).not.toThrow();
  });

  it('estimates bytes and messages with the measured constants', () => {
    const body = traces([span({ attributes: Array.from({ length: 100 }, (_, i) => kv(`k${i}`, { intValue: i })) })]);
    expect(decodeCostBytes(body, 'proto', 'traces')).toBe(DECODE_BYTES_PER_BODY_BYTE * body.length + DECODE_BYTES_PER_MESSAGE * 205);
  });
});
