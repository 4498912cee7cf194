/** Resource keys (canonical JSON, sha256/128) and the committed-keys cache, without a database. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, dayOfUs, ResourceCache, resourceRef, type ResourceRef } from './resources.js';

const DAY = 86_400_000_000;

describe('resourceRef', () => {
  it('gives the same key whatever the order of the attributes, nested maps included', () => {
    const a = resourceRef({ 'service.name': 'svc', 'host.name': 'h', 'x.map': { b: 1, a: [2, { d: null, c: 'é' }] } });
    const b = resourceRef({ 'x.map': { a: [2, { c: 'é', d: null }], b: 1 }, 'host.name': 'h', 'service.name': 'svc' });
    expect(a).toEqual(b);
    expect(a.hash).toMatch(/^[0-9a-f]{32}$/);
    expect(a.json).toBe('{"host.name":"h","service.name":"svc","x.map":{"a":[2,{"c":"é","d":null}],"b":1}}');
    expect(JSON.parse(a.json)).toEqual({ 'service.name': 'svc', 'host.name': 'h', 'x.map': { b: 1, a: [2, { d: null, c: 'é' }] } });
  });

  it('tells resources apart by any value, and arrays by their order', () => {
    const keys = new Set([
      resourceRef({ 'service.name': 'svc' }), resourceRef({ 'service.name': 'svc2' }), resourceRef({ 'service.name': 1 }),
      resourceRef({ 'service.name': '1' }), resourceRef({ a: [1, 2] }), resourceRef({ a: [2, 1] }), resourceRef({}),
    ].map((r) => r.hash));
    expect(keys.size).toBe(7);
  });

  it('writes canonical JSON that JSON.parse reads back as the value', () => {
    const v = { 'k"\\\n': 'v\u0000\ud83d\ude00', n: -1.5e-7, t: true, z: null };
    expect(JSON.parse(canonicalJson(v))).toEqual(v);
  });
});

describe('ResourceCache', () => {
  const r1 = resourceRef({ 'service.name': 'a' });
  const r2 = resourceRef({ 'service.name': 'b' });
  const item = (tenantId: string, resource: ResourceRef, startUs: number) => ({ span: { tenantId, startUs }, resource });

  it('asks for each (tenant, key) once, with the latest day of its spans, in one order', () => {
    const c = new ResourceCache();
    const t = 20_000 * DAY;
    const needs = c.needed([item('b', r1, t), item('b', r1, t + DAY), item('a', r1, t), item('a', r2, t), item('b', r1, t)]);
    expect(needs.map((n) => [n.tenantId, n.hash, n.day])).toEqual([
      ...[['a', r1.hash, 20_000], ['a', r2.hash, 20_000]].sort((x, y) => (x[1]! < y[1]! ? -1 : 1)),
      ['b', r1.hash, 20_001],
    ]);
  });

  /** A cache whose today is day 20,000 (2024-10-04), the day these tests' spans start. */
  const onDay20000 = (max?: number) => new ResourceCache(max, () => 20_000 * 86_400_000 + 3_600_000);

  it('knows a key only once committed, and for the days committed', () => {
    const c = onDay20000();
    const t = 20_000 * DAY;
    const needs = c.needed([item('a', r1, t)]);
    expect(c.knows('a', r1.hash)).toBe(false); // not before COMMIT
    expect(c.needed([item('a', r1, t)])).toHaveLength(1);
    c.committed(needs);
    expect(c.needed([item('a', r1, t), item('a', r1, t + 5)])).toEqual([]);
    expect(c.knows('b', r1.hash)).toBe(false); // another tenant's row is another row
    expect(c.needed([item('b', r1, t)])).toHaveLength(1);
    // a later day raises the row's day: asked again
    expect(c.needed([item('a', r1, t), item('a', r1, t + DAY)]).map((n) => n.day)).toEqual([dayOfUs(t + DAY)]);
  });

  it('asks again for spans of an earlier day than today: retention may have deleted their row since', () => {
    // The row of r1 was committed with day 19,990; retention (cutoff day 19,995) deleted it. A late span of day
    // 19,990 skipped on the cache's word was stored referencing no row.
    const c = onDay20000();
    c.committed([{ tenantId: 'a', hash: r1.hash, json: r1.json, day: 19_990 }, { tenantId: 'a', hash: r2.hash, json: r2.json, day: 20_000 }]);
    expect(c.needed([item('a', r1, 19_990 * DAY), item('a', r1, 19_990 * DAY + 5)]).map((n) => [n.hash, n.day])).toEqual([[r1.hash, 19_990]]);
    expect(c.unknown([{ tenantId: 'a', hash: r1.hash, json: r1.json, day: 19_990 }])).toHaveLength(1);
    // today's spans of a known key are still skipped, as are logs' (unknown)
    expect(c.needed([item('a', r2, 20_000 * DAY)])).toEqual([]);
    expect(c.unknown([{ tenantId: 'a', hash: r2.hash, json: r2.json, day: 20_000 }])).toEqual([]);
  });

  it('keeps at most max keys, dropping the least recently confirmed', () => {
    const c = new ResourceCache(2);
    const refs = [0, 1, 2].map((i) => resourceRef({ i }));
    for (const r of refs) c.committed([{ tenantId: 't', hash: r.hash, json: r.json, day: 1 }]);
    expect(c.size).toBe(2);
    expect(refs.map((r) => c.knows('t', r.hash))).toEqual([false, true, true]);
  });
});
