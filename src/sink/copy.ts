/** Binary COPY of encoded rows into a table, streamed in chunks so one big batch does not hold the event loop. */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { once } from 'node:events';
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from './binary.js';

const CHUNK_BYTES = 256 * 1024;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Stream binary rows into `COPY table (columns) FROM STDIN (FORMAT binary)`, in chunks, yielding to
 * the event loop between chunks so other requests are not starved.
 */
export async function copyRows<T>(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  items: readonly T[],
  rowOf: (item: T) => Uint8Array,
): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT binary)`));
  let failure: Error | null = null;
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', (e: Error) => { failure = e; reject(e); });
  });
  finished.catch(() => {}); // observed below
  // Rows of one request lie back to back in its buffer: consecutive rows are sent as one view, and a
  // chunk that is a single view goes out without being copied.
  let parts: Uint8Array[] = [COPY_BINARY_HEADER];
  let size = COPY_BINARY_HEADER.length;
  const chunk = () => (parts.length === 1 ? Buffer.from(parts[0]!.buffer, parts[0]!.byteOffset, parts[0]!.byteLength) : Buffer.concat(parts, size));
  for (let i = 0; i < items.length && !failure; i++) {
    const row = rowOf(items[i]!);
    const last = parts.length > 0 ? parts[parts.length - 1]! : null;
    if (last !== null && last.buffer === row.buffer && last.byteOffset + last.byteLength === row.byteOffset) {
      parts[parts.length - 1] = new Uint8Array(row.buffer, last.byteOffset, last.byteLength + row.byteLength);
    } else {
      parts.push(row);
    }
    size += row.length;
    if (size >= CHUNK_BYTES) {
      const ok = stream.write(chunk());
      parts = [];
      size = 0;
      if (!ok && !failure) await Promise.race([once(stream, 'drain'), finished]);
      else await yieldToLoop();
    }
  }
  parts.push(COPY_BINARY_TRAILER);
  if (!failure) stream.end(Buffer.concat(parts, size + COPY_BINARY_TRAILER.length));
  await finished;
}
