import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { once } from 'node:events';

const CHUNK_CHARS = 256 * 1024;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Stream rows into `COPY table (columns) FROM STDIN`, encoding in chunks and yielding to the event
 * loop between chunks so encoding overlaps with the socket and other requests are not starved.
 */
export async function copyRows<T>(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  items: readonly T[],
  encode: (item: T) => string,
): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  let failure: Error | null = null;
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', (e: Error) => { failure = e; reject(e); });
  });
  finished.catch(() => {}); // observed below
  let buf = '';
  for (let i = 0; i < items.length && !failure; i++) {
    buf += encode(items[i]!);
    if (buf.length >= CHUNK_CHARS) {
      const ok = stream.write(buf);
      buf = '';
      if (!ok && !failure) await Promise.race([once(stream, 'drain'), finished]);
      else await yieldToLoop();
    }
  }
  if (!failure) stream.end(buf);
  await finished;
}
