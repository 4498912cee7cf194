/** Export responses and google.rpc.Status bodies, encoded like the request. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { google, opentelemetry } from './gen/otlp.js';
import { RETRY_INFO_TYPE_URL, encodeExportResponse, encodeRpcStatus } from './response.js';

const GOLDEN = new URL('../../testdata/otlp/responses.golden.json', import.meta.url);
/** Expected bodies, hand-encoded from the proto definitions (proto as hex, JSON as text). */
const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, { proto: string; json: string }>;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('encodeExportResponse', () => {
  it.each([
    ['full success', 0, ''],
    ['partial success', 3, 'bad'],
    ['warning only', 0, 'slow down'],
    ['rejected without message', 300, ''],
  ])('%s', (name, rejected, message) => {
    expect(hex(encodeExportResponse(rejected, message, 'proto'))).toBe(golden[name].proto);
    expect(encodeExportResponse(rejected, message, 'json')).toBe(golden[name].json);
  });

  it('round-trips through the generated decoder', () => {
    const res = opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse.decode(encodeExportResponse(5, 'five bad', 'proto'));
    expect(Number(res.partialSuccess?.rejectedSpans)).toBe(5);
    expect(res.partialSuccess?.errorMessage).toBe('five bad');
  });
});

describe('encodeRpcStatus', () => {
  it.each([
    ['status', 3, 'invalid', undefined],
    ['status with RetryInfo', 14, 'x', 5],
    ['status with fractional RetryInfo', 8, 'busy', 1.5],
  ])('%s', (name, code, message, retry) => {
    expect(hex(encodeRpcStatus(code, message, 'proto', retry))).toBe(golden[name].proto);
    expect(encodeRpcStatus(code, message, 'json', retry)).toBe(golden[name].json);
  });

  it('carries a decodable google.rpc.RetryInfo detail', () => {
    const status = google.rpc.Status.decode(encodeRpcStatus(14, 'unavailable', 'proto', 30));
    expect(status.code).toBe(14);
    expect(status.message).toBe('unavailable');
    expect(status.details).toHaveLength(1);
    expect(status.details[0].typeUrl).toBe(RETRY_INFO_TYPE_URL);
    const info = google.rpc.RetryInfo.decode(status.details[0].value);
    expect(Number(info.retryDelay?.seconds)).toBe(30);
    expect(info.retryDelay?.nanos).toBe(0);
  });

  it('omits RetryInfo for invalid delays', () => {
    expect(encodeRpcStatus(14, 'x', 'json', -1)).toBe('{"code":14,"message":"x"}');
    expect(encodeRpcStatus(14, 'x', 'json', Number.NaN)).toBe('{"code":14,"message":"x"}');
  });
});
