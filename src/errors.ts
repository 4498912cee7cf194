/**
 * Every failure the gateway reports, with what it maps to on each transport:
 * one table from error kind → gRPC code → HTTP status (+ google.rpc.Status body, Retry-After).
 */
export const GRPC = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, UNIMPLEMENTED: 12, INTERNAL: 13,
  UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;

export const ERROR_KINDS = {
  invalid_argument: { grpc: GRPC.INVALID_ARGUMENT, http: 400, retryable: false },
  unauthenticated: { grpc: GRPC.UNAUTHENTICATED, http: 401, retryable: false },
  not_found: { grpc: GRPC.NOT_FOUND, http: 404, retryable: false },
  method_not_allowed: { grpc: GRPC.UNIMPLEMENTED, http: 405, retryable: false },
  /**
   * a request body that did not arrive at the minimum rate: cut, the connection closed (HTTP). 503, not 408:
   * OTLP/HTTP clients retry only 429, 502, 503 and 504 (the Collector's otlphttp exporter and the OTel SDKs drop
   * the data on a 408), and a slow link is transient trouble; gRPC's DEADLINE_EXCEEDED is retried already.
   */
  deadline_exceeded: { grpc: GRPC.DEADLINE_EXCEEDED, http: 503, retryable: true },
  payload_too_large: { grpc: GRPC.RESOURCE_EXHAUSTED, http: 413, retryable: false },
  unsupported_media_type: { grpc: GRPC.UNIMPLEMENTED, http: 415, retryable: false },
  queue_full: { grpc: GRPC.RESOURCE_EXHAUSTED, http: 429, retryable: true },
  internal: { grpc: GRPC.INTERNAL, http: 500, retryable: false },
  unavailable: { grpc: GRPC.UNAVAILABLE, http: 503, retryable: true },
} as const;

export type ErrorKind = keyof typeof ERROR_KINDS;

/**
 * A failure of the user's setup rather than of the code (a configuration value, a port taken, a directory the
 * embedded server cannot enter): the command line prints its message alone, no stack trace, and exits 1.
 */
export class SetupError extends Error {}

export class GatewayError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** seconds the client should wait before retrying (retryable kinds only) */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
  get grpcCode(): number { return ERROR_KINDS[this.kind].grpc; }
  get httpStatus(): number { return ERROR_KINDS[this.kind].http; }
  get retryable(): boolean { return ERROR_KINDS[this.kind].retryable; }
}

/**
 * Values of particular spans that the ledger cannot take, found before PostgreSQL would refuse them: final
 * for those spans (like the Collector's consumererror.Permanent), so the batcher isolates them by bisection
 * and answers the rest. `code` is the SQLSTATE PostgreSQL raises for the same values (22003 numeric out of
 * range, 22P02 invalid text representation), so either path reads the same to an operator.
 */
export class DataError extends Error {
  constructor(message: string, readonly code: '22003' | '22P02') {
    super(message);
    this.name = 'DataError';
  }
}
