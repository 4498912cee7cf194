/**
 * An HTTP request's body (receiver/http.ts): read counted under its admission straight from the socket
 * (body.ts readCounted), or from the web stream where there is no socket; and, when a request is answered
 * before its body was read, what is left of it dropped or the connection closed.
 */
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import type { Admission } from '../sink/admission.js';
import { DROP_MAX_BYTES, dropBody, readCounted, tooLarge, watchRate, type BodyLimits, type BodyProgress } from './body.js';

export function incomingOf(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}

/**
 * Read the raw body, each chunk counted in the admission as it arrives (refused: 429 / 413), cut when it
 * arrives too slowly (503). Under @hono/node-server straight from the socket's chunks, without a web
 * stream in between (~1 µs per span less on the main thread for 512-span requests), into one buffer of
 * the declared length.
 */
export async function readBody(c: Context, admission: Admission, limits: BodyLimits, declared: number, progress: BodyProgress): Promise<Uint8Array> {
  const incoming = incomingOf(c);
  if (incoming?.readable) return readCounted(incoming, admission, limits, declared, progress);
  const stream = c.req.raw.body;
  if (!stream) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  let cut: GatewayError | null = null;
  const stopWatch = watchRate(limits, () => size, (e) => { cut = e; void reader.cancel().catch(() => {}); });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (cut) throw cut;
      if (done) break;
      size += value.length;
      if (size > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);
      admission.grow(value.length);
      parts.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    stopWatch();
  }
  if (parts.length === 1) return parts[0]!;
  admission.grow(size); // the joined copy
  return Buffer.concat(parts, size);
}

/**
 * A request answered before its body was read to the end: what is left of the body is read and dropped
 * when its declared length says it is at most DROP_MAX_BYTES (the client's keep-alive connection stays
 * usable for its retry); a chunked body, or a larger remainder, is not read: the answer closes the
 * connection (a flood costs the gateway no more reading). Returns the error to answer (503 when the
 * client is too slow even for that) and whether to close.
 */
export async function settleBody(c: Context, e: unknown, limits: BodyLimits, declared: number, progress: BodyProgress): Promise<{ error: unknown; close: boolean }> {
  if (e instanceof GatewayError && e.kind === 'deadline_exceeded') return { error: e, close: true };
  const incoming = incomingOf(c);
  if (!incoming || incoming.readableEnded) return { error: e, close: false };
  if (!(declared - progress.received <= DROP_MAX_BYTES)) return { error: e, close: true };
  const how = await dropBody(incoming, limits);
  if (how === 'cut') {
    return { error: new GatewayError('deadline_exceeded', `request body too slow (below ${limits.minBytesPerSecond} bytes/s)`), close: true };
  }
  return { error: e, close: how !== 'ended' };
}
