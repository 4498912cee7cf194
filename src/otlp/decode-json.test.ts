/** OTLP/JSON trace decoding against goldens, and its rejections. */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeTraceRequestJson } from './decode-json.js';
import { OtlpDecodeError } from './errors.js';
import { DEPTH_LIMIT_VALUE, MAX_ATTR_DEPTH } from './values.js';
import type { AttrValue, DecodeResult } from './types.js';

const FIXTURE = new URL('../../testdata/otlp/request-all-kinds.json', import.meta.url);
const GOLDEN = new URL('../../testdata/otlp/request-all-kinds.golden.json', import.meta.url);

const span = (fields: Record<string, unknown>) => ({
  traceId: '5b8efff798038103d269b633813fc60c',
  spanId: 'eee19b7ec3c1b174',
  name: 'span',
  ...fields,
});
const request = (...spans: object[]) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
const decode = (body: string) => decodeTraceRequestJson(body, 'tenant-a');

describe('decodeTraceRequestJson golden', () => {
  it('matches testdata/otlp/request-all-kinds.golden.json (UPDATE_GOLDEN=1 rewrites it)', () => {
    const result = decodeTraceRequestJson(readFileSync(FIXTURE), 'tenant-a');
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, JSON.stringify(result, null, 2) + '\n');
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as DecodeResult;
    expect(result).toEqual(golden);
  });

  it('decodes the fixture to the expected values (spot checks independent of the golden)', () => {
    const { spans, rejected, errors } = decodeTraceRequestJson(readFileSync(FIXTURE, 'utf8'), 'tenant-a');
    expect(spans.map((s) => s.name)).toEqual([
      'chat gpt-4o', 'tool call', 'zero parent, unknown enums', 'snake_case span\uFFFD',
    ]);
    expect(rejected).toBe(6);
    expect(errors).toEqual([
      'resourceSpans[0].scopeSpans[0].spans[3]: invalid traceId (2 bytes, expected 16)',
      'resourceSpans[0].scopeSpans[0].spans[4]: invalid spanId (all zero)',
      'resourceSpans[0].scopeSpans[0].spans[5]: invalid parentSpanId (4 bytes, expected 8)',
      'resourceSpans[0].scopeSpans[1].spans[0]: invalid traceId (all zero)',
      'resourceSpans[0].scopeSpans[1].spans[1]: invalid spanId (0 bytes, expected 8)',
    ]);

    const [chat, tool, zero, snake] = spans;
    expect(chat).toMatchObject({
      traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', parentSpanId: null,
      kind: 3, startUs: 1700000000123456, endUs: 1700000002999999, statusCode: 2,
      statusMessage: 'rate limited\uFFFD', serviceName: 'chat-api',
      scopeName: 'openinference.instrumentation.openai', scopeVersion: '1.2.3', tenantId: 'tenant-a',
    });
    const a = chat.attributes;
    expect(a['gen_ai.usage.input_tokens']).toBe(1234);
    expect(a['gen_ai.usage.output_tokens']).toBe(56);
    expect(a['int.max']).toBe('9223372036854775807');
    expect(a['int.min']).toBe('-9223372036854775808');
    expect(a['int.beyond_safe']).toBe('-9007199254740993');
    expect(a['int.safe_max']).toBe(9007199254740991);
    expect([a['double.nan'], a['double.inf'], a['double.neg_inf']]).toEqual(['NaN', 'Infinity', '-Infinity']);
    expect(Object.is(a['double.neg_zero'], 0)).toBe(true);
    expect(a['bytes']).toBe('AAECA/7/');
    expect(a['empty.value']).toBeNull();
    expect(a['missing.value']).toBeNull();
    expect(a['array']).toEqual(['a', 1, true, 2.5, null, ['nested'], { k: 'v' }]);
    expect(a['kvlist']).toEqual({ 'inner.string': 'last wins', 'inner.list': { deep: 3 } });
    expect(a['gen_ai.prompt']).toBe('second (last key wins)');
    expect(Object.getOwnPropertyDescriptor(a, '__proto__')?.value).toBe('own property');
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect(a['nul\uFFFDin\uFFFDkey']).toBe('nul\uFFFDin value');
    expect(chat.resource['res\uFFFDkey']).toBe('nul\uFFFDvalue');
    expect(chat.events).toEqual([
      { name: 'gen_ai.content.prompt', timeUs: 1700000001000000, attributes: { 'gen_ai.prompt': 'Hi\uFFFD' } },
      { name: '', timeUs: 0, attributes: {} },
    ]);
    expect(chat.links).toEqual([
      { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceState: 'a=b', attributes: { 'link.kind': 'follows' } },
      { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', attributes: {} },
    ]);
    expect(tool).toMatchObject({ parentSpanId: 'eee19b7ec3c1b174', kind: 2, statusCode: 1, startUs: 1700000000123, endUs: 123456 });
    expect(tool.resource).toBe(chat.resource); // one shared object per ResourceSpans
    expect(zero).toMatchObject({ parentSpanId: null, kind: 0, statusCode: 0, startUs: 0, endUs: 0 });
    expect(snake).toMatchObject({
      traceId: 'c0ffee00c0ffee00c0ffee00c0ffee00', parentSpanId: 'eee19b7ec3c1b174', kind: 1,
      startUs: 1700000000000000, endUs: 1700000000000001, statusCode: 1, statusMessage: 'ok',
      serviceName: null, scopeName: null, scopeVersion: null, resource: {},
    });
    expect(snake.attributes).toEqual({ s: 'snake', b: true, i: -42, d: -1.25, a: [1, 'two'], kv: { x: '3q2+7w==' } });
    expect(snake.events).toEqual([{ name: 'snake event', timeUs: 1700000000000000, attributes: {} }]);
    expect(snake.links).toEqual([{ traceId: 'c0ffee00c0ffee00c0ffee00c0ffee00', spanId: 'abcdefabcdefabcd', traceState: 'x=y', attributes: {} }]);
  });
});

describe('decodeTraceRequestJson', () => {
  it('converts nanoseconds to exact integer microseconds (string and number forms)', () => {
    const { spans } = decode(request(
      span({ startTimeUnixNano: '1700000000123456789', endTimeUnixNano: '18446744073709551615' }),
      span({ spanId: '0000000000000001', startTimeUnixNano: 999, endTimeUnixNano: '0001700000000123456789' }),
    ));
    expect(spans[0].startUs).toBe(1700000000123456);
    expect(spans[0].endUs).toBe(18446744073709551);
    expect(spans[1].startUs).toBe(0);
    expect(spans[1].endUs).toBe(1700000000123456);
  });

  it('rejects spans with invalid hex ids individually and keeps the rest', () => {
    const { spans, rejected, errors } = decode(request(
      span({ traceId: 'zz8efff798038103d269b633813fc60c' }),
      span({ spanId: 'abc' }),
      span({ parentSpanId: 12 }),
      span({ name: 'kept', traceId: '5B8EFFF798038103D269B633813FC60C' }),
    ));
    expect(spans.map((s) => [s.name, s.traceId])).toEqual([['kept', '5b8efff798038103d269b633813fc60c']]);
    expect(rejected).toBe(3);
    expect(errors).toEqual([
      'resourceSpans[0].scopeSpans[0].spans[0]: invalid traceId (not a hex string)',
      'resourceSpans[0].scopeSpans[0].spans[1]: invalid spanId (not a hex string)',
      'resourceSpans[0].scopeSpans[0].spans[2]: invalid parentSpanId (not a hex string)',
    ]);
  });

  it('throws OtlpDecodeError for malformed JSON and a wrong top-level shape', () => {
    for (const body of ['{"resourceSpans": [', '', '[]', 'null', '"x"', '{"resourceSpans": {}}', '{"resourceSpans": [1]}']) {
      expect(() => decode(body), body).toThrow(OtlpDecodeError);
    }
  });

  it('throws OtlpDecodeError for values of the wrong type', () => {
    const bad = [
      span({ name: 42 }),
      span({ startTimeUnixNano: '1.5e18' }),
      span({ endTimeUnixNano: -1 }),
      span({ attributes: [{ key: 'k', value: { intValue: '12x' } }] }),
      span({ attributes: [{ key: 'k', value: { intValue: '9223372036854775808' } }] }),
      span({ attributes: [{ key: 'k', value: { boolValue: 'true' } }] }),
      span({ attributes: [{ key: 'k', value: 'plain string' }] }),
      span({ attributes: {} }),
      span({ events: [null] }),
      span({ status: [] }),
    ];
    for (const s of bad) expect(() => decode(request(s)), JSON.stringify(s)).toThrow(OtlpDecodeError);
  });

  it('accepts a UTF-8 body with BOM, an empty request, and null fields as defaults', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(request(span({ name: null, kind: null })))]);
    const { spans } = decodeTraceRequestJson(bom, 't');
    expect(spans[0]).toMatchObject({ name: '', kind: 0, tenantId: 't' });
    expect(decode('{}')).toEqual({ spans: [], rejected: 0, errors: [] });
    expect(decode('{"resourceSpans": null}')).toEqual({ spans: [], rejected: 0, errors: [] });
  });

  it('replaces nested containers beyond the depth limit', () => {
    let value: object = { stringValue: 'bottom' };
    for (let i = 0; i < MAX_ATTR_DEPTH + 8; i++) value = { kvlistValue: { values: [{ key: 'k', value }] } };
    const { spans } = decode(request(span({ attributes: [{ key: 'deep', value }] })));
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
    const attributes = Array.from({ length: 100_000 }, (_, i) => ({ key: `attr.${i}`, value: { intValue: String(i) } }));
    const { spans } = decode(request(span({ attributes })));
    const keys = Object.keys(spans[0].attributes);
    expect(keys.length).toBe(100_000);
    expect(spans[0].attributes['attr.99999']).toBe(99999);
  });
});
