/** The JSON check the mapping uses agrees with JSON.parse. */
import { describe, expect, it } from 'vitest';
import { isJson } from './json-check.js';

const parses = (s: string) => {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
};

describe('isJson agrees with JSON.parse', () => {
  it.each([
    '{}', '[]', ' [1, 2.5, -3e+2, 0, -0.0, 1E5] ', '{"a":{"b":[true,false,null]},"c":"x\\n\\u00e9\\"\\\\\\/"}', '"text"',
    '42', 'null', '[{"role":"user","parts":[{"type":"text","content":"😀 ünïcode"}]}]', '\n{"a" : 1 }\t',
    '', ' ', '{', '[1,]', '{"a":1,}', '{a:1}', "{'a':1}", '[01]', '[1.]', '[.5]', '[-]', '[1e]', '"\\x"', '"\\u12g4"',
    '"a\tb"', '[1] [2]', 'tru', 'nulls', '{"a" 1}', '[1 2]', '"unterminated', '{"a":}', '[+1]', '[NaN]', '[Infinity]',
    '"\\u0000"', '{"":""}', '[[[[[]]]]]',
  ])('%s', (s) => expect(isJson(s)).toBe(parses(s)));

  it('containersOnly accepts only objects and arrays', () => {
    expect(isJson(' {"a":1}', true)).toBe(true);
    expect(isJson('[1]', true)).toBe(true);
    expect(isJson('"text"', true)).toBe(false);
    expect(isJson('42', true)).toBe(false);
    expect(isJson('{', true)).toBe(false);
  });

  it('rejects excessive nesting instead of overflowing the stack', () => {
    expect(isJson('['.repeat(100_000) + ']'.repeat(100_000))).toBe(false);
    expect(isJson('['.repeat(500) + ']'.repeat(500))).toBe(true);
  });

  it('handles randomly corrupted JSON like JSON.parse', () => {
    const base = JSON.stringify({ messages: [{ role: 'user', content: 'hi "there"\n', n: -1.5e3, ok: true, x: null }] });
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const chars = '{}[]",:\\ -.0e1ntf';
    for (let k = 0; k < 3000; k++) {
      const at = rnd(base.length);
      const s = base.slice(0, at) + chars[rnd(chars.length)] + base.slice(at + rnd(2));
      expect(isJson(s)).toBe(parses(s));
    }
  });
});
