/**
 * Reading a request body under its admission (src/sink/admission.ts): every chunk is counted before it is
 * kept, and a body that does not arrive at the minimum average rate is cut (503 / DEADLINE_EXCEEDED), so
 * that a client sending a byte a second holds neither memory nor a connection for long.
 */
import type { Readable } from 'node:stream';
import { GatewayError } from '../errors.js';
import type { Admission } from '../sink/admission.js';

export interface BodyLimits {
  /** bytes a body may have on the wire (and, separately, once decompressed): 413 beyond */
  maxBodyBytes: number;
  /** seconds a body gets before it must keep up the minimum rate */
  graceSeconds: number;
  /** bytes per second: each of them buys a body one more second beyond the grace (0: no check) */
  minBytesPerSecond: number;
}

/**
 * The most of a refused body read and dropped before answering, so that the client's keep-alive
 * connection stays usable for its retry (answering with the body unread makes clients see resets).
 * Beyond it the answer closes the connection instead: a flood is not read to its end.
 */
export const DROP_MAX_BYTES = 1024 * 1024;

export function tooLarge(limit: number, what = 'request body'): GatewayError {
  return new GatewayError('payload_too_large', `${what} exceeds ${limit} bytes`);
}

/**
 * Calls `cut` (once) when a body is late: it has graceSeconds, plus one second per minBytesPerSecond bytes
 * received (as Apache's mod_reqtimeout MinRate), so a client keeping up the minimum rate after the grace is
 * never cut, and one sending a byte a second is cut right after it. One timer per body, set for the moment
 * the body would be late if nothing more arrived. Returns stop().
 */
export function watchRate(limits: BodyLimits, received: () => number, cut: (e: GatewayError) => void): () => void {
  if (!(limits.minBytesPerSecond > 0)) return () => {};
  const t0 = performance.now();
  const dueMs = () => (limits.graceSeconds + received() / limits.minBytesPerSecond) * 1000;
  let timer: NodeJS.Timeout;
  const check = () => {
    const ms = performance.now() - t0;
    const due = dueMs();
    if (ms >= due) {
      cut(new GatewayError('deadline_exceeded', `request body too slow: ${received()} bytes in ${(ms / 1000).toFixed(1)} s; a body gets `
        + `${limits.graceSeconds} s plus 1 s per ${limits.minBytesPerSecond} bytes`));
      return;
    }
    timer = setTimeout(check, Math.max(20, due - ms));
    timer.unref();
  };
  timer = setTimeout(check, dueMs());
  timer.unref();
  return () => clearTimeout(timer);
}

/** Bytes of a body read so far (readCounted keeps it current, also when it fails). */
export interface BodyProgress { received: number }

/**
 * Read and drop what is left of a body (at most `max` bytes) under the rate check. Resolves 'ended' when
 * the body ended, 'too-long' (reading stopped, the stream paused) beyond `max`, 'cut' when too slow.
 */
export function dropBody(source: Readable, limits: BodyLimits, max = DROP_MAX_BYTES): Promise<'ended' | 'too-long' | 'cut'> {
  if (source.readableEnded) return Promise.resolve('ended');
  return new Promise((resolve) => {
    let size = 0;
    const done = (how: 'ended' | 'too-long' | 'cut') => {
      stopWatch();
      source.off('data', onData).off('end', onEnd).off('error', onError).off('close', onError);
      if (how !== 'ended') source.pause();
      resolve(how);
    };
    const stopWatch = watchRate(limits, () => size, () => done('cut'));
    const onData = (d: Buffer) => { if ((size += d.length) > max) done('too-long'); };
    const onEnd = () => done('ended');
    const onError = () => done('too-long');
    source.on('data', onData).once('end', onEnd).once('error', onError).once('close', onError);
    source.resume();
  });
}

/**
 * Read a body from a Node readable (an IncomingMessage) into one buffer, counting every chunk in
 * `admission` before keeping it. A declared length (already checked against the limits) gets one buffer
 * of that size; without one (chunked) the chunks are joined at the end, the joined copy counted too.
 * On a refusal the stream is left paused, `progress` telling how much of the body went by.
 */
export function readCounted(source: Readable, admission: Admission, limits: BodyLimits, declared: number, progress: BodyProgress = { received: 0 }): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sized = Number.isSafeInteger(declared) && declared >= 0 ? Buffer.allocUnsafe(declared) : null;
    const parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    const stopWatch = watchRate(limits, () => size, (e) => fail(e));
    const cleanup = () => {
      settled = true;
      stopWatch();
      source.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const fail = (e: unknown) => {
      if (settled) return;
      cleanup();
      source.pause(); // the receiver drops the rest (dropBody) or closes the connection
      reject(e);
    };
    const onData = (d: Buffer) => {
      if (settled) return;
      progress.received += d.length;
      if (size + d.length > limits.maxBodyBytes) return fail(tooLarge(limits.maxBodyBytes));
      if (sized !== null && size + d.length > sized.length) {
        return fail(new GatewayError('invalid_argument', 'request body is longer than its Content-Length'));
      }
      try {
        admission.grow(d.length);
      } catch (e) {
        return fail(e);
      }
      if (sized !== null) d.copy(sized, size);
      else parts.push(d);
      size += d.length;
    };
    const onEnd = () => {
      if (settled) return;
      cleanup();
      if (sized !== null) {
        if (size === sized.length) resolve(sized);
        else reject(new GatewayError('invalid_argument', `request body ended after ${size} of its ${sized.length} bytes`));
        return;
      }
      if (parts.length <= 1) return resolve(parts[0] ?? new Uint8Array(0));
      try {
        admission.grow(size); // the joined copy, while the parts still exist
      } catch (e) {
        return reject(e);
      }
      const joined = Buffer.concat(parts, size);
      parts.length = 0;
      admission.resize(size);
      resolve(joined);
    };
    const onError = (e: Error) => fail(e);
    const onClose = () => fail(new GatewayError('invalid_argument', 'request body incomplete: connection closed'));
    source.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
    source.resume();
  });
}
