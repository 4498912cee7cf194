/** Request bodies for the decompression tests (src/receiver/*.test.ts): compressible samples and refusals. */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { GatewayError } from '../../src/errors.js';

/** n bytes of repeats near and far, long runs and random stretches: compressed, they hold literals, matches and overlaps. */
export function compressibleSample(n: number): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const p = i % 4 === 0 ? randomBytes(300) : i % 4 === 1 ? Buffer.alloc(1000 + i, 'a') : Buffer.from(`{"key":"gen_ai.usage.input_tokens","v":${i % 7}}`);
    parts.push(p);
    size += p.length;
  }
  return Buffer.concat(parts).subarray(0, n);
}

/** The GatewayError a promise rejects with (fails the test when it resolves or rejects with anything else). */
export async function gatewayFailure(p: Promise<unknown>): Promise<GatewayError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(GatewayError);
  return e as GatewayError;
}
