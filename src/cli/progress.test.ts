/** The progress line: drawn in place on a terminal, plain lines elsewhere, with rate and ETA. */
import { describe, expect, it } from 'vitest';
import { formatEta, Progress } from './progress.js';

function fake(isTTY: boolean) {
  const writes: string[] = [];
  let t = 1_000_000;
  return { stream: { isTTY, write: (s: string) => writes.push(s) }, writes, now: () => t, advance: (ms: number) => { t += ms; } };
}

describe('Progress', () => {
  it('renders bar, percent, counts, rate and ETA', () => {
    const f = fake(true);
    const p = new Progress({ label: 'repair', unit: 'runs', total: 10_000, stream: f.stream, now: f.now });
    f.advance(3400);
    p.set(4200);
    expect(p.line()).toBe('repair  [########............]  42%  4,200/10,000 runs  1,235/s  ETA 5s');
    expect(f.writes).toEqual(['\r' + p.line() + '\x1b[K']);
  });

  it('on a terminal redraws one line in place, at most every 100 ms, and ends it on finish', () => {
    const f = fake(true);
    const p = new Progress({ label: 'reprice', unit: 'nodes', total: 100, stream: f.stream, now: f.now, width: 10 });
    p.tick(10);
    f.advance(50);
    p.tick(10); // too soon: not drawn
    f.advance(60);
    p.tick(10);
    expect(f.writes).toHaveLength(2);
    expect(f.writes.every((w) => w.startsWith('\r') && w.endsWith('\x1b[K') && !w.includes('\n'))).toBe(true);
    expect(f.writes[1]).toContain('[###.......]  30%  30/100 nodes');
    f.advance(10);
    p.tick(70);
    p.finish();
    p.finish();
    expect(f.writes.slice(-2)).toEqual(['\r' + p.line() + '\x1b[K', '\n']);
    expect(p.line()).toContain('[##########] 100%  100/100 nodes');
    expect(p.line()).toMatch(/ETA 0s$/);
  });

  it('off a terminal prints plain lines at each further 10% or every 5 s, and the last one', () => {
    const f = fake(false);
    const p = new Progress({ label: 'repair', unit: 'runs', total: 1000, stream: f.stream, now: f.now, width: 10 });
    for (let i = 0; i < 100; i++) { f.advance(10); p.tick(3); } // 0% .. 30%
    expect(f.writes.map((w) => w.match(/ (\d+)%/)![1])).toEqual(['0', '10', '20', '30']);
    expect(f.writes.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
    f.advance(5000);
    p.tick(1); // still 30%, but 5 s passed
    expect(f.writes).toHaveLength(5);
    expect(f.writes[4]).toBe('repair  [###.......]  30%  301/1,000 runs  50/s  ETA 14s\n');
    p.set(1000);
    p.finish(); // 100% was just printed: not again
    expect(f.writes).toHaveLength(6);
    expect(f.writes[5]).toContain('100%  1,000/1,000 runs');
  });

  it('handles an empty job, an unknown rate and a total found later', () => {
    const f = fake(false);
    const p = new Progress({ label: 'repair', unit: 'runs', stream: f.stream, now: f.now, width: 4 });
    expect(p.line()).toBe('repair  [####] 100%  0/0 runs  0/s  ETA 0s');
    p.setTotal(50, 'items');
    expect(p.line()).toBe('repair  [....]   0%  0/50 items  0/s  ETA ?');
    p.finish();
    expect(f.writes).toEqual(['repair  [....]   0%  0/50 items  0/s  ETA ?\n']);
  });

  it('answers to start / done as well (the retention reporter interface)', () => {
    const f = fake(false);
    const p = new Progress({ label: 'retention', unit: 'steps', stream: f.stream, now: f.now, width: 4 });
    p.start(4);
    f.advance(1000);
    p.tick(4);
    p.done();
    expect(f.writes).toEqual(['retention  [####] 100%  4/4 steps  4/s  ETA 0s\n']);
  });

  it('formats ETAs', () => {
    expect(formatEta(4.2)).toBe('5s');
    expect(formatEta(65)).toBe('1m05s');
    expect(formatEta(2 * 3600 + 3 * 60 + 7)).toBe('2h03m');
    expect(formatEta(Infinity)).toBe('?');
  });
});
