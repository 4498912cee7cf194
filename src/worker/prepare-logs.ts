/** decode → GenAI events → encode for one logs request body (thread-agnostic, like prepare.ts for traces). */
import { decodeLogsRequestJson, decodeLogsRequestProto } from '../otlp/decode-logs.js';
import { prepareLogs, type PreparedLogs } from '../sink/log-rows.js';
import type { Encoding } from './prepare.js';
import { checkDecodeCost } from '../otlp/decode-cost.js';

/** Throws OtlpDecodeError on a malformed body, payload_too_large when decoding it would take more than maxDecodeBytes. */
export function prepareLogsBody(body: Uint8Array, encoding: Encoding, tenantId: string, maxDecodeBytes = Infinity): PreparedLogs {
  checkDecodeCost(body, encoding, 'logs', maxDecodeBytes);
  const d = encoding === 'proto' ? decodeLogsRequestProto(body, tenantId) : decodeLogsRequestJson(body, tenantId);
  return { ...prepareLogs(d.records), rejected: d.rejected, errors: d.errors, untraced: d.untraced };
}
