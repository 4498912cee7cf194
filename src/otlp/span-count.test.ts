/** Spans counted on the wire, before decoding. */
import { describe, expect, it } from 'vitest';
import { countProtoSpans } from './span-count.js';
import { miniSpans, protoRequest } from '../../test/helpers/otlp.js';

describe('countProtoSpans', () => {
  it('counts the spans of a request without decoding it', () => {
    expect(countProtoSpans(protoRequest(miniSpans(0)))).toBe(0);
    expect(countProtoSpans(protoRequest(miniSpans(1)))).toBe(1);
    expect(countProtoSpans(protoRequest(miniSpans(777)))).toBe(777);
  });

  it('stops quietly on malformed input', () => {
    const body = protoRequest(miniSpans(50));
    expect(countProtoSpans(body.subarray(0, body.length - 7))).toBeLessThan(50);
    expect(countProtoSpans(new Uint8Array([0xff, 0xff, 0xff]))).toBe(0);
    expect(countProtoSpans(new Uint8Array(0))).toBe(0);
  });
});
