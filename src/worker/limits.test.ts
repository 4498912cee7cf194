/**
 * The prepare workers' V8 limits (pool.ts workerResourceLimits): the old generation bounded by one decode's
 * allowance, the young generation small only where the old one is (a 16 MB young generation under the
 * default configuration made the worker's garbage collection 7× as long in `npm run bench`).
 */
import { describe, expect, it } from 'vitest';
import { workerResourceLimits, WORKER_OWN_HEAP_MB } from './pool.js';
import { decodeAllowanceBytes } from '../sink/admission.js';
import { configFromEnv } from '../config.js';

const MiB = 1024 * 1024;

describe('workerResourceLimits', () => {
  it('gives the default configuration (L = 32 MiB) V8\'s usual 48 MB young generation', () => {
    const allowance = decodeAllowanceBytes({ ...configFromEnv({}), prepareWorkers: 1 });
    const limits = workerResourceLimits(allowance);
    expect(limits.maxOldGenerationSizeMb).toBe(Math.ceil(WORKER_OWN_HEAP_MB + allowance / MiB));
    expect(limits.maxYoungGenerationSizeMb).toBe(48);
  });

  it('keeps 16 MB where the old generation is small (a 4096-span queue: L ≈ 1.9 MiB)', () => {
    const allowance = decodeAllowanceBytes({ ...configFromEnv({ RUNLEDGER_QUEUE_MAX_SPANS: '4096' }), prepareWorkers: 1 });
    expect(workerResourceLimits(allowance)).toEqual({ maxOldGenerationSizeMb: Math.ceil(WORKER_OWN_HEAP_MB + allowance / MiB), maxYoungGenerationSizeMb: 16 });
  });

  it('leaves the old generation to V8 without a decode limit', () => {
    expect(workerResourceLimits(Infinity)).toEqual({ maxYoungGenerationSizeMb: 48 });
  });
});
