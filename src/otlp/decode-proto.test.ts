/** OTLP/protobuf trace decoding against goldens, its rejections and the interned attribute keys. */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { decodeTraceRequestJson } from './decode-json.js';
import { decodeTraceRequestProto } from './decode-proto.js';
import { OtlpDecodeError } from './errors.js';
import { encodeTraceRequestProto, otlpJsonToProtoRequest } from './request.js';
import { DEPTH_LIMIT_VALUE, MAX_ATTR_DEPTH } from './values.js';
import type { AttrValue, DecodeResult } from './types.js';

const FIXTURE = new URL('../../testdata/otlp/request-all-kinds.json', import.meta.url);
const GOLDEN = new URL('../../testdata/otlp/request-all-kinds.golden.json', import.meta.url);

const TRACE = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex');
const SPAN = Buffer.from('eee19b7ec3c1b174', 'hex');
const long = (ns: string, unsigned = true) => protobuf.util.LongBits.from(ns).toLong(unsigned);

type SpanFields = Record<string, unknown>;
const span = (fields: SpanFields = {}) => ({ traceId: TRACE, spanId: SPAN, name: 'span', ...fields });
const encode = (...spans: SpanFields[]) => encodeTraceRequestProto({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
const decode = (buf: Uint8Array) => decodeTraceRequestProto(buf, 'tenant-a');

/** Deterministic PRNG (mulberry32) so failures are reproducible. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('decodeTraceRequestProto golden', () => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8'));
  const body = encodeTraceRequestProto(otlpJsonToProtoRequest(fixture));

  it('decodes the fixture, encoded as protobuf, to the same golden as the JSON decoder', () => {
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as DecodeResult;
    expect(decode(body)).toEqual(golden);
  });

  it('agrees with the JSON decoder on the same request', () => {
    expect(decode(body)).toEqual(decodeTraceRequestJson(JSON.stringify(fixture), 'tenant-a'));
  });

  it('accepts a plain Uint8Array (not a Buffer) and shares the resource object per ResourceSpans', () => {
    const { spans } = decode(new Uint8Array(body));
    expect(spans[0].resource).toBe(spans[1].resource);
    expect(spans[0].traceId).toBe('5b8efff798038103d269b633813fc60c');
  });
});

describe('decodeTraceRequestProto', () => {
  it('converts fixed64 nanoseconds to exact integer microseconds', () => {
    const { spans } = decode(encode(span({
      startTimeUnixNano: long('1700000000123456789'),
      endTimeUnixNano: long('1700000000123456999'),
      events: [{ timeUnixNano: long('4294967296000'), name: 'e' }],
    })));
    expect(spans[0].startUs).toBe(1700000000123456);
    expect(spans[0].endUs).toBe(1700000000123456);
    expect(spans[0].events[0].timeUs).toBe(4294967296);
  });

  it('matches BigInt division for random nanosecond values (< 2^62 ns, i.e. before 2116)', () => {
    const rnd = random(42);
    const samples: bigint[] = [];
    for (let i = 0; i < 500; i++) samples.push(BigInt(Math.floor(rnd() * 2 ** 30)) * 2n ** 32n + BigInt(Math.floor(rnd() * 2 ** 32)));
    const { spans } = decode(encode(...samples.map((ns, i) => span({
      spanId: Buffer.from((i + 1).toString(16).padStart(16, '0'), 'hex'),
      startTimeUnixNano: long(ns.toString()),
    }))));
    expect(spans.map((s) => s.startUs)).toEqual(samples.map((ns) => Number(ns / 1000n)));
  });

  it('keeps end < start as is, maps unknown kind/status to 0', () => {
    const { spans } = decode(encode(span({
      startTimeUnixNano: long('2000000'), endTimeUnixNano: long('1000000'), kind: 42, status: { code: 9, message: 'm' },
    })));
    expect(spans[0]).toMatchObject({ startUs: 2000, endUs: 1000, kind: 0, statusCode: 0, statusMessage: 'm' });
  });

  it('rejects spans with invalid ids individually and keeps the rest', () => {
    const { spans, rejected, errors } = decode(encode(
      span({ name: 'a' }),
      span({ traceId: Buffer.alloc(16) }),
      span({ spanId: TRACE }),
      span({ parentSpanId: Buffer.from('0102', 'hex') }),
      span({ name: 'b', parentSpanId: Buffer.alloc(8) }),
      span({ name: 'c', parentSpanId: Buffer.from('0102030405060708', 'hex') }),
    ));
    expect(spans.map((s) => [s.name, s.parentSpanId])).toEqual([['a', null], ['b', null], ['c', '0102030405060708']]);
    expect(rejected).toBe(3);
    expect(errors).toEqual([
      'resourceSpans[0].scopeSpans[0].spans[1]: invalid traceId (all zero)',
      'resourceSpans[0].scopeSpans[0].spans[2]: invalid spanId (16 bytes, expected 8)',
      'resourceSpans[0].scopeSpans[0].spans[3]: invalid parentSpanId (2 bytes, expected 8)',
    ]);
  });

  it('keeps at most 5 rejection reasons but counts every rejected span', () => {
    const bad = Array.from({ length: 8 }, () => span({ traceId: Buffer.alloc(3, 1) }));
    const { rejected, errors } = decode(encode(...bad));
    expect(rejected).toBe(8);
    expect(errors.length).toBe(5);
  });

  it('converts int64 attributes exactly', () => {
    const { spans } = decode(encode(span({ attributes: [
      { key: 'max', value: { intValue: long('9223372036854775807', false) } },
      { key: 'min', value: { intValue: long('-9223372036854775808', false) } },
      { key: 'unsafe', value: { intValue: long('9007199254740992', false) } },
      { key: 'safe', value: { intValue: long('-9007199254740991', false) } },
      { key: 'small', value: { intValue: -1 } },
    ] })));
    expect(spans[0].attributes).toEqual({
      max: '9223372036854775807', min: '-9223372036854775808', unsafe: '9007199254740992', safe: -9007199254740991, small: -1,
    });
  });

  it('replaces NUL in every string with U+FFFD', () => {
    const kv = (key: string, v: string) => ({ key, value: { stringValue: v } });
    const buf = encodeTraceRequestProto({ resourceSpans: [{
      resource: { attributes: [kv('service.name', 'svc\0'), kv('r\0', 'x')] },
      scopeSpans: [{ scope: { name: 'scope\0', version: '\0' }, spans: [span({
        name: 'n\0ame\0', status: { code: 2, message: '\0' },
        attributes: [kv('k\0', 'v\0'), { key: 'arr', value: { arrayValue: { values: [{ stringValue: '\0' }] } } }],
        events: [{ name: 'e\0', attributes: [kv('ek\0', 'ev\0')] }],
        links: [{ traceId: TRACE, spanId: SPAN, traceState: 't\0', attributes: [kv('lk\0', 'lv\0')] }],
      })] }],
    }] });
    const json = JSON.stringify(decode(buf));
    expect(json).not.toContain('\\u0000');
    const [s] = decode(buf).spans;
    expect(s).toMatchObject({ name: 'n\uFFFDame\uFFFD', statusMessage: '\uFFFD', serviceName: 'svc\uFFFD', scopeName: 'scope\uFFFD', scopeVersion: '\uFFFD' });
    expect(s.attributes).toEqual({ 'k\uFFFD': 'v\uFFFD', arr: ['\uFFFD'] });
    expect(s.resource['r\uFFFD']).toBe('x');
    expect(s.events[0]).toMatchObject({ name: 'e\uFFFD', attributes: { 'ek\uFFFD': 'ev\uFFFD' } });
    expect(s.links[0]).toMatchObject({ traceState: 't\uFFFD', attributes: { 'lk\uFFFD': 'lv\uFFFD' } });
  });

  it('replaces nested containers beyond the depth limit', () => {
    let value: object = { arrayValue: { values: [{ stringValue: 'bottom' }] } };
    for (let i = 0; i < MAX_ATTR_DEPTH + 8; i++) value = { kvlistValue: { values: [{ key: 'k', value }] } };
    const { spans } = decode(encode(span({ attributes: [{ key: 'deep', value }] })));
    let node: AttrValue = spans[0].attributes.deep;
    let levels = 0;
    while (node !== null && typeof node === 'object' && !Array.isArray(node)) {
      node = (node as Record<string, AttrValue>).k;
      levels++;
    }
    expect(levels).toBe(MAX_ATTR_DEPTH);
    expect(node).toBe(DEPTH_LIMIT_VALUE);
  });

  it('decodes a span with 100k attributes', () => {
    const attributes = Array.from({ length: 100_000 }, (_, i) => ({ key: `attr.${i}`, value: { intValue: i } }));
    const { spans } = decode(encode(span({ attributes })));
    expect(Object.keys(spans[0].attributes).length).toBe(100_000);
    expect(spans[0].attributes['attr.99999']).toBe(99999);
  });

  it('throws OtlpDecodeError for truncated input', () => {
    const body = encode(span({ attributes: [{ key: 'k', value: { stringValue: 'value' } }] }));
    for (const cut of [1, 5, body.length - 10, body.length - 1]) {
      expect(() => decode(body.subarray(0, cut)), `cut at ${cut}`).toThrow(OtlpDecodeError);
    }
  });

  it('throws OtlpDecodeError for invalid wire types and impossible lengths', () => {
    expect(() => decode(Uint8Array.of(0x0f))).toThrow(OtlpDecodeError); // wire type 7 does not exist
    expect(() => decode(Uint8Array.of(0x08, 0x96, 0x01))).toThrow(OtlpDecodeError); // field 1 as varint 150 → length past end
    expect(() => decode(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f))).toThrow(OtlpDecodeError);
    expect(() => decode(Uint8Array.of(0x0b))).toThrow(OtlpDecodeError); // start group without end
  });

  it('decodes an empty body to an empty result', () => {
    expect(decode(new Uint8Array(0))).toEqual({ spans: [], rejected: 0, errors: [] });
  });

  it('never fails with anything but OtlpDecodeError on random bytes', () => {
    const rnd = random(7);
    let threw = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256));
      try {
        const r = decode(bytes);
        expect(r.spans.length + r.rejected).toBeGreaterThanOrEqual(0);
      } catch (e) {
        expect(e).toBeInstanceOf(OtlpDecodeError);
        threw++;
      }
    }
    expect(threw).toBeGreaterThan(1000);
  });
});

describe('attribute keys (decoded through the interned-key cache)', () => {
  const attrsOf = (buf: Uint8Array) => decode(buf).spans[0]!.attributes;

  it('decode to the same strings as a plain UTF-8 decode, many keys, repeated, long and non-ASCII', () => {
    const rand = random(7);
    const keys: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const len = 1 + Math.floor(rand() * 90); // some beyond the cached length
      let k = '';
      for (let j = 0; j < len; j++) k += rand() < 0.9 ? String.fromCharCode(97 + Math.floor(rand() * 26)) : ['é', '✓', '𝄞'][Math.floor(rand() * 3)]!;
      keys.push(k);
    }
    for (let round = 0; round < 3; round++) { // hits on later rounds, and slot collisions among 6000 keys
      for (let i = 0; i < keys.length; i += 200) {
        const group = keys.slice(i, i + 200);
        const attrs = attrsOf(encode(span({ attributes: group.map((key, j) => ({ key, value: { intValue: j } })) })));
        expect(Object.keys(attrs)).toEqual([...new Set(group)]);
      }
    }
  });

  it('decode invalid UTF-8 in a key as a plain decode does, cached or not', () => {
    const body = Buffer.from(encode(span({ attributes: [{ key: 'kéy', value: { stringValue: 'v' } }] })));
    const at = body.indexOf(Buffer.from('kéy'));
    body[at + 1] = 0xff; // 'é' is 0xc3 0xa9
    body[at + 2] = 0xfe;
    const expected = Buffer.from([0x6b, 0xff, 0xfe, 0x79]).toString('utf8');
    expect(Object.keys(attrsOf(body))).toEqual([expected]);
    expect(Object.keys(attrsOf(body))).toEqual([expected]);
    expect(Object.keys(attrsOf(encode(span({ attributes: [{ key: 'kéy', value: { stringValue: 'v' } }] }))))).toEqual(['kéy']);
  });

  it('do not depend on the request body once decoded (the cache keeps its own copy of the bytes)', () => {
    const body = Buffer.from(encode(span({ attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'm' } }] })));
    expect(Object.keys(attrsOf(body))).toEqual(['gen_ai.request.model']);
    body.fill(0x78, body.indexOf(Buffer.from('gen_ai')), body.indexOf(Buffer.from('gen_ai')) + 20); // the same bytes now say xxxx…
    expect(Object.keys(attrsOf(body))).toEqual(['x'.repeat(20)]);
    expect(Object.keys(attrsOf(encode(span({ attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'm' } }] }))))).toEqual(['gen_ai.request.model']);
  });
});
