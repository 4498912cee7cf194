/** PostgreSQL errors classified by what the gateway does about them, and the answer a client gets. */
import { describe, expect, it } from 'vitest';
import { classifyPgError, gatewayErrorOf, isDatabaseError } from './pg-errors.js';
import { GatewayError } from '../errors.js';

const pgError = (code: string, message = `error ${code}`) => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('classifyPgError', () => {
  it.each([
    ['57014', 'busy'], ['55P03', 'busy'], ['55006', 'busy'],
    ['40001', 'retry'], ['40P01', 'retry'],
    ['57P01', 'unavailable'], ['57P02', 'unavailable'], ['57P03', 'unavailable'], ['57P05', 'unavailable'],
    ['08006', 'unavailable'], ['08001', 'unavailable'], ['53100', 'unavailable'], ['53200', 'unavailable'],
    ['53300', 'unavailable'], ['53400', 'unavailable'], ['58030', 'unavailable'], ['25P03', 'unavailable'], ['40003', 'unavailable'],
    ['22P02', 'data'], ['23505', 'data'], ['54000', 'data'],
    ['42P01', 'other'], ['42501', 'other'], ['XX000', 'other'], ['3D000', 'other'],
  ])('%s → %s', (code, cls) => {
    expect(classifyPgError(pgError(code))).toBe(cls);
  });

  it('retries a row refused by a partition attached meanwhile (23514 partition constraint); other check violations are the data', () => {
    expect(classifyPgError(pgError('23514', 'new row for relation "spans_default" violates partition constraint'))).toBe('retry');
    expect(classifyPgError(pgError('23514', 'new row for relation "nodes" violates check constraint "nodes_depth"'))).toBe('data');
  });

  it('recognises lost connections by their node error code or pg message', () => {
    expect(classifyPgError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('unavailable');
    expect(classifyPgError(new Error('Connection terminated unexpectedly'))).toBe('unavailable');
    expect(classifyPgError(new Error('timeout exceeded when trying to connect'))).toBe('unavailable');
    expect(classifyPgError(new TypeError('x is undefined'))).toBe('other');
  });
});

describe('gatewayErrorOf', () => {
  it('answers every transient failure 503 / UNAVAILABLE with the retry delay, never 500', () => {
    for (const code of ['57014', '55P03', '40001', '40P01', '57P01', '53300', '08006', 'ECONNRESET']) {
      const e = gatewayErrorOf(pgError(code), 7);
      expect([code, e.kind, e.httpStatus, e.retryAfterSeconds]).toEqual([code, 'unavailable', 503, 7]);
    }
  });

  it('answers database errors that are neither transient nor the data\'s 503 as well: the spans are fine, the deployment is not', () => {
    const e = gatewayErrorOf(pgError('42P01', 'relation "runledger.spans" does not exist'), 2);
    expect(e.kind).toBe('unavailable');
    expect(e.retryAfterSeconds).toBe(2);
    expect(e.message).toBe('database error 42P01: relation "runledger.spans" does not exist');
  });

  it('keeps a GatewayError, and answers a failure of the gateway itself (no SQLSTATE) 500', () => {
    const g = new GatewayError('queue_full', 'full', 1);
    expect(gatewayErrorOf(g, 2)).toBe(g);
    expect(gatewayErrorOf(new TypeError('bug'), 2).kind).toBe('internal');
    expect(isDatabaseError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isDatabaseError(pgError('XX000'))).toBe(true);
  });
});
