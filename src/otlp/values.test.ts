/** Conversion rules shared by both decoders. */
import { describe, expect, it } from 'vitest';
import {
  int64FromDecimal,
  int64FromNumber,
  int64Value,
  sanitize,
  serviceNameOf,
  usFromDecimalNanos,
  usFromNanos,
} from './values.js';

describe('values', () => {
  it('sanitize replaces every NUL and returns other strings unchanged', () => {
    const s = 'plain';
    expect(sanitize(s)).toBe(s);
    expect(sanitize('\0a\0\0b\0')).toBe('\uFFFDa\uFFFD\uFFFDb\uFFFD');
  });

  it('sanitize replaces lone surrogates (jsonb refuses their \\udXXX escapes) and keeps pairs', () => {
    expect(sanitize('a\ud800b')).toBe('a\uFFFDb');
    expect(sanitize('\udc00')).toBe('\uFFFD');
    expect(sanitize('x\ud83d')).toBe('x\uFFFD');
    expect(sanitize('\ude00\ud83d')).toBe('\uFFFD\uFFFD');
    expect(sanitize('\0\ud800')).toBe('\uFFFD\uFFFD');
    const pair = 'ok 😀 日本語';
    expect(sanitize(pair)).toBe(pair);
    // what PostgreSQL receives is well-formed JSON text without \u0000 or lone surrogate escapes
    expect(JSON.stringify(sanitize('\ud800\0\udfff'))).toBe('"\uFFFD\uFFFD\uFFFD"');
  });

  it('int64 from protobuf halves: safe → number, else exact decimal', () => {
    expect(int64Value({ low: -1, high: 0x1fffff })).toBe(9007199254740991);
    expect(int64Value({ low: 0, high: 0x200000 })).toBe('9007199254740992');
    expect(int64Value({ low: 1, high: -0x200000 })).toBe(-9007199254740991);
    expect(int64Value({ low: 0, high: -0x200000 })).toBe('-9007199254740992');
    expect(int64Value({ low: -1, high: -1 })).toBe(-1);
    expect(int64Value({ low: 0, high: -0x80000000 })).toBe('-9223372036854775808');
  });

  it('int64 from JSON strings and numbers', () => {
    expect(int64FromDecimal('-0')).toBe(0);
    expect(Object.is(int64FromDecimal('-0'), 0)).toBe(true);
    expect(int64FromDecimal('007')).toBe(7);
    expect(int64FromDecimal('00009223372036854775807')).toBe('9223372036854775807');
    expect(int64FromDecimal('9223372036854775808')).toBeUndefined();
    expect(int64FromDecimal('1.0')).toBeUndefined();
    expect(int64FromDecimal(' 1')).toBeUndefined();
    expect(int64FromNumber(2 ** 60)).toBe('1152921504606846976');
    expect(int64FromNumber(2 ** 63)).toBeUndefined();
    expect(int64FromNumber(1.5)).toBeUndefined();
  });

  it('nanoseconds → microseconds', () => {
    expect(usFromNanos({ low: 0, high: 1 })).toBe(4294967); // 4294967296 ns
    expect(usFromNanos({ low: -1, high: 0 })).toBe(4294967); // 4294967295 ns
    expect(usFromNanos(1999)).toBe(1);
    expect(usFromDecimalNanos('1999')).toBe(1);
    expect(usFromDecimalNanos('999')).toBe(0);
    expect(usFromDecimalNanos('18446744073709551615')).toBe(18446744073709551);
    expect(usFromDecimalNanos('18446744073709551616')).toBeUndefined();
    expect(usFromDecimalNanos('-1')).toBeUndefined();
    expect(usFromDecimalNanos('')).toBeUndefined();
  });

  it('serviceNameOf reads only a string service.name', () => {
    expect(serviceNameOf({ 'service.name': 'svc' })).toBe('svc');
    expect(serviceNameOf({ 'service.name': 1 })).toBeNull();
    expect(serviceNameOf({})).toBeNull();
  });
});
