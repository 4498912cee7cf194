/** Thrown when an OTLP request body cannot be decoded at all (→ HTTP 400 / gRPC INVALID_ARGUMENT). */
export class OtlpDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OtlpDecodeError';
  }
}
