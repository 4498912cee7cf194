/** Readiness: the write-progress clock and the /readyz verdict with its reasons. */
import { describe, expect, it } from 'vitest';
import { readiness, type ReadinessProbe } from './health.js';
import { WriteProgress } from './sink/write-progress.js';

describe('WriteProgress', () => {
  it('counts from the first attempt after a commit until the next commit', () => {
    const p = new WriteProgress(1000);
    expect(p.stalledMs(0)).toBe(0);
    p.started(100);
    expect(p.stalledMs(400)).toBe(300);
    p.committed(500);
    expect(p.stalledMs(600)).toBe(0);
  });

  it('keeps counting through failed attempts, and reports the last error', () => {
    const p = new WriteProgress(1000);
    p.started(0);
    p.failed(new Error('lock timeout'), 300);
    p.started(800);
    p.failed(new Error('canceling statement'), 1100);
    expect(p.stalledMs(1500)).toBe(1500);
    expect(p.lastError).toBe('canceling statement');
  });

  it('counts a slow write while another commits from that commit on', () => {
    const p = new WriteProgress(1000);
    p.started(0);
    p.started(10);
    p.committed(200); // the other writer is still writing: its wait counts from here
    expect(p.stalledMs(700)).toBe(500);
  });

  it('forgets failures after a quiet spell with nothing in flight', () => {
    const p = new WriteProgress(1000);
    p.started(0);
    p.failed(new Error('x'), 100);
    expect(p.stalledMs(5000)).toBe(0);
    p.started(5000);
    expect(p.stalledMs(5200)).toBe(200);
  });
});

describe('readiness', () => {
  const probe = (over: Partial<ReadinessProbe> = {}): ReadinessProbe => ({
    draining: () => false, startupProblem: () => null, ping: async () => null, authProblem: () => null,
    progress: new WriteProgress(1000), stallLimitMs: 1000, queuedSpans: () => 0, ...over,
  });

  it('gives the first failing condition as the reason', async () => {
    expect(await readiness(probe())).toEqual({ ready: true, queued_spans: 0 });
    expect(await readiness(probe({ draining: () => true }))).toEqual({ ready: false, reason: 'draining: the gateway is shutting down' });
    expect(await readiness(probe({ startupProblem: () => 'migrations not applied yet: ECONNREFUSED' })))
      .toEqual({ ready: false, reason: 'starting: migrations not applied yet: ECONNREFUSED' });
    expect(await readiness(probe({ ping: async () => 'no answer' }))).toEqual({ ready: false, reason: 'database: no answer' });
    expect(await readiness(probe({ authProblem: () => 'API keys not loaded yet' }))).toEqual({ ready: false, reason: 'api keys: API keys not loaded yet' });
    const progress = new WriteProgress(60_000);
    progress.started(performance.now() - 5000);
    progress.failed(new Error('canceling statement due to lock timeout'));
    const r = await readiness(probe({ progress, queuedSpans: () => 12 }));
    expect(r).toEqual({ ready: false, reason: expect.stringMatching(/^writes: none committed for 5\.\d s \(12 spans pending\); last error: canceling statement due to lock timeout$/) });
  });
});
