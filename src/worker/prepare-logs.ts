/** decode → GenAI events → encode for one logs request body (thread-agnostic, like prepare.ts for traces). */
import { decodeLogsRequestJson, decodeLogsRequestProto } from '../otlp/decode-logs.js';
import { prepareLogs, type PreparedLogs } from '../sink/log-rows.js';
import type { Encoding } from './prepare.js';

/** Throws OtlpDecodeError on a malformed body. */
export function prepareLogsBody(body: Uint8Array, encoding: Encoding, tenantId: string): PreparedLogs {
  const d = encoding === 'proto' ? decodeLogsRequestProto(body, tenantId) : decodeLogsRequestJson(body, tenantId);
  return { ...prepareLogs(d.records), rejected: d.rejected, errors: d.errors, untraced: d.untraced };
}
