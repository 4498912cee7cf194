/** Classify PostgreSQL / driver errors by what the gateway should do about them. */
export type PgErrorClass = 'unavailable' | 'retry' | 'data' | 'other';

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

export function classifyPgError(e: unknown): PgErrorClass {
  const err = e as { code?: string; message?: string };
  const code = err?.code ?? '';
  if (NET_CODES.has(code)) return 'unavailable';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' || code === '53100') return 'unavailable';
  if (code === '40001' || code === '40P01') return 'retry';
  if (code.startsWith('22') || code.startsWith('23') || code.startsWith('54')) return 'data';
  const msg = err?.message ?? '';
  if (/Connection terminated|connection.*(closed|ended)|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(msg)) {
    return 'unavailable';
  }
  return 'other';
}
