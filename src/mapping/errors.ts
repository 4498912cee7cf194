/**
 * Node failure details.
 * error_type: `error.type` → `exception.type` of the first `exception` event → "ERROR" (status code name)
 * when the span status is ERROR. error_message: the status message → `exception.message` of that event.
 * Exception events on a span whose status is not ERROR (handled exceptions, retries) are ignored unless the
 * span also carries `error.type`.
 */
import type { SpanRecord } from '../otlp/types.js';
import { asString } from './attrs.js';

export interface ErrorInfo {
  errorType: string | null;
  errorMessage: string | null;
}

const NO_ERROR: ErrorInfo = { errorType: null, errorMessage: null };

export function resolveError(span: SpanRecord): ErrorInfo {
  const explicit = asString(span.attributes['error.type']);
  if (span.statusCode !== 2 && explicit === null) return NO_ERROR;
  let exType: string | null = null;
  let exMessage: string | null = null;
  for (const ev of span.events) {
    if (ev.name === 'exception') {
      exType = asString(ev.attributes['exception.type']);
      exMessage = asString(ev.attributes['exception.message']);
      break;
    }
  }
  return {
    errorType: explicit ?? exType ?? (span.statusCode === 2 ? 'ERROR' : null),
    errorMessage: (span.statusMessage === '' ? null : span.statusMessage) ?? exMessage,
  };
}
