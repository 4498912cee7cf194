/**
 * Response bodies in both OTLP encodings: ExportTraceServiceResponse (success / partial success)
 * and google.rpc.Status (failures), optionally carrying a google.rpc.RetryInfo detail.
 * JSON follows the proto3 JSON mapping: int64 as decimal strings, default values omitted,
 * Any as {"@type": ..., fields}, Duration as "<seconds>[.<fraction>]s".
 */
import { google, opentelemetry } from './gen/otlp.js';

export type OtlpFormat = 'proto' | 'json';

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

const { ExportTraceServiceResponse } = opentelemetry.proto.collector.trace.v1;
const { Status, RetryInfo } = google.rpc;

/** The OTLP signals of export requests. */
export type OtlpSignal = 'traces' | 'logs' | 'metrics';

/** partial_success's count field in JSON, per signal (the three responses are the same on the wire). */
const REJECTED_JSON: Record<OtlpSignal, string> = { traces: 'rejectedSpans', logs: 'rejectedLogRecords', metrics: 'rejectedDataPoints' };

/**
 * Export{Trace,Logs,Metrics}ServiceResponse: empty on full success (rejected 0, no message; `{}` in JSON),
 * else partial_success {rejected_spans / rejected_log_records / rejected_data_points, error_message}. The
 * three have the same field numbers, so their protobuf encodings are the same.
 */
export function encodeExportResponse(rejected: number, errorMessage: string, format: 'proto', signal?: OtlpSignal): Uint8Array;
export function encodeExportResponse(rejected: number, errorMessage: string, format: 'json', signal?: OtlpSignal): string;
export function encodeExportResponse(rejected: number, errorMessage: string, format: OtlpFormat, signal?: OtlpSignal): Uint8Array | string;
export function encodeExportResponse(rejected: number, errorMessage: string, format: OtlpFormat, signal: OtlpSignal = 'traces'): Uint8Array | string {
  if (rejected === 0 && !errorMessage) return format === 'proto' ? new Uint8Array(0) : '{}';
  // Canonical encoding: fields holding their default value are left out.
  if (format === 'proto') {
    const partialSuccess: opentelemetry.proto.collector.trace.v1.IExportTracePartialSuccess = {};
    if (rejected !== 0) partialSuccess.rejectedSpans = rejected;
    if (errorMessage) partialSuccess.errorMessage = errorMessage;
    return ExportTraceServiceResponse.encode({ partialSuccess }).finish();
  }
  const partialSuccess: Record<string, string> = {};
  if (rejected !== 0) partialSuccess[REJECTED_JSON[signal]] = String(rejected); // int64 → decimal string
  if (errorMessage) partialSuccess.errorMessage = errorMessage;
  return JSON.stringify({ partialSuccess });
}

interface Duration {
  seconds: number;
  nanos: number;
}

function toDuration(seconds: number): Duration {
  const whole = Math.floor(seconds);
  return { seconds: whole, nanos: Math.min(999_999_999, Math.round((seconds - whole) * 1e9)) };
}

/** google.protobuf.Duration message without default-valued fields. */
function durationProto(d: Duration): google.protobuf.IDuration {
  const out: google.protobuf.IDuration = {};
  if (d.seconds !== 0) out.seconds = d.seconds;
  if (d.nanos !== 0) out.nanos = d.nanos;
  return out;
}

/** proto3 JSON Duration: "5s", "1.500s" (0, 3, 6 or 9 fractional digits). */
function durationJson(d: Duration): string {
  if (d.nanos === 0) return `${d.seconds}s`;
  let frac = String(d.nanos).padStart(9, '0');
  while (frac.endsWith('000')) frac = frac.slice(0, -3);
  return `${d.seconds}.${frac}s`;
}

/**
 * google.rpc.Status body for failed exports (HTTP 4xx/5xx bodies, gRPC grpc-status-details-bin).
 * With retryAfterSeconds (finite, >= 0) a google.rpc.RetryInfo detail is attached.
 */
export function encodeRpcStatus(code: number, message: string, format: 'proto', retryAfterSeconds?: number): Uint8Array;
export function encodeRpcStatus(code: number, message: string, format: 'json', retryAfterSeconds?: number): string;
export function encodeRpcStatus(
  code: number,
  message: string,
  format: OtlpFormat,
  retryAfterSeconds?: number,
): Uint8Array | string;
export function encodeRpcStatus(
  code: number,
  message: string,
  format: OtlpFormat,
  retryAfterSeconds?: number,
): Uint8Array | string {
  const delay =
    retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0
      ? toDuration(retryAfterSeconds)
      : null;
  if (format === 'proto') {
    const status: google.rpc.IStatus = {};
    if (code !== 0) status.code = code;
    if (message) status.message = message;
    if (delay) {
      status.details = [{ typeUrl: RETRY_INFO_TYPE_URL, value: RetryInfo.encode({ retryDelay: durationProto(delay) }).finish() }];
    }
    return Status.encode(status).finish();
  }
  const body: { code: number; message: string; details?: object[] } = { code, message };
  if (delay) body.details = [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: durationJson(delay) }];
  return JSON.stringify(body);
}
