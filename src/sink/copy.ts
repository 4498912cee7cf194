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
  let parts: Uint8Array[] = [COPY_BINARY_HEADER];
  let size = COPY_BINARY_HEADER.length;
  for (let i = 0; i < items.length && !failure; i++) {
    const row = rowOf(items[i]!);
    parts.push(row);
    size += row.length;
    if (size >= CHUNK_BYTES) {
      const ok = stream.write(Buffer.concat(parts, size));
      parts = [];
      size = 0;
      if (!ok && !failure) await Promise.race([once(stream, 'drain'), finished]);
      else await yieldToLoop();
    }
  }
  parts.push(COPY_BINARY_TRAILER);
  if (!failure) stream.end(Buffer.concat(parts));
  await finished;
}
