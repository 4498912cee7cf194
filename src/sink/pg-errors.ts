/**
 * Classify PostgreSQL / driver errors by what the gateway should do about them, and the answer a client
 * gets for each. Only errors caused by the spans themselves are final for the client (partial_success);
 * every other database failure is the deployment's, and is answered 503 / UNAVAILABLE + Retry-After.
 */
import { DataError, GatewayError } from '../errors.js';

/**
 * - `unavailable`: the connection or the server is gone or refuses work (release the connection as broken)
 * - `busy`: a statement was cancelled or timed out, or a lock was not available; the connection is fine
 * - `retry`: serialization failure / deadlock: the same write may succeed at once
 * - `data`: PostgreSQL refuses the values, or the gateway found values it would refuse (DataError): isolate
 *   the culprit spans by bisection
 * - `other`: any other database error (schema, permissions, ...) or a non-database error
 */
export type PgErrorClass = 'unavailable' | 'busy' | 'retry' | 'data' | 'other';

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** 57014 query_canceled (statement_timeout, pg_cancel_backend), 55P03 lock_not_available (lock_timeout, NOWAIT), 55006 object_in_use */
const BUSY_CODES = new Set(['57014', '55P03', '55006']);

/** A SQLSTATE: five digits or upper-case letters (Node's system error codes are longer: ECONNREFUSED, ...). */
const SQLSTATE = /^[0-9A-Z]{5}$/;

export function classifyPgError(e: unknown): PgErrorClass {
  if (e instanceof DataError) return 'data';
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  if (NET_CODES.has(code)) return 'unavailable';
  // 08 connection exception; 53 insufficient resources (disk full, out of memory, too many connections);
  // 57P01-57P05 admin / crash shutdown, cannot connect now, database dropped, idle session timeout;
  // 25P03 idle-in-transaction timeout (the server closes the session); 58 system (I/O) error; 40003 outcome unknown
  if (/^(08|53|58)/.test(code) || /^57P0[1-5]$/.test(code) || code === '25P03' || code === '40003') return 'unavailable';
  if (BUSY_CODES.has(code)) return 'busy';
  if (code.startsWith('40')) return 'retry'; // 40001 serialization failure, 40P01 deadlock, 40000, 40002
  const msg = typeof err?.message === 'string' ? err.message : '';
  // A row routed to a default partition while its day's partition was being attached (ensure_day_partitions of
  // another session): the moment, not the data — written again, it lands in the new partition.
  if (code === '23514' && /violates partition constraint/.test(msg)) return 'retry';
  if (code.startsWith('22') || code.startsWith('23') || code.startsWith('54')) return 'data';
  if (/Connection terminated|connection.*(closed|ended)|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(msg)) {
    return 'unavailable';
  }
  return 'other';
}

/**
 * Run a write, again after a serialization failure or deadlock (`retry`: the same write may succeed at once),
 * up to 4 more times with 10, 20, 40, 80 ms between; any other error, or the fifth, is thrown.
 */
export async function withRetries<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (classifyPgError(e) !== 'retry' || attempt >= 4) throw e;
      await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
    }
  }
}

/** Whether an error came from PostgreSQL (it carries a SQLSTATE). */
export function isDatabaseError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && SQLSTATE.test(code);
}

/**
 * The answer to a request whose write failed with `e` (data errors are isolated before this). Every
 * database failure is retryable for the client: 503 / UNAVAILABLE + Retry-After. That includes the ones
 * that are not transient by nature (a renamed table, a revoked privilege, a dropped database: `other`
 * with a SQLSTATE): the spans are fine, the deployment is not, and a 500 would make OTLP exporters drop
 * them, while a 503 has them retried (and a collector's queue keep them) until an operator fixes it.
 * Only a failure of the gateway's own code, with no database involved, is `internal` (500).
 */
export function gatewayErrorOf(e: unknown, retryAfterSeconds: number): GatewayError {
  if (e instanceof GatewayError) return e;
  const message = (e as Error)?.message ?? String(e);
  const cls = classifyPgError(e);
  if (cls === 'unavailable') return new GatewayError('unavailable', `database unavailable: ${message}`, retryAfterSeconds);
  if (cls === 'busy' || cls === 'retry') return new GatewayError('unavailable', `database busy: ${message}`, retryAfterSeconds);
  if (isDatabaseError(e)) {
    const code = (e as { code: string }).code;
    return new GatewayError('unavailable', `database error ${code}: ${message}`, retryAfterSeconds);
  }
  return new GatewayError('internal', `write failed: ${message}`);
}
