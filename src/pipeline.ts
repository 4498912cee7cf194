/**
 * The one consumer path shared by every way spans come in (HTTP, gRPC, in-process exporter):
 * decoded spans → mapping → bounded batcher → committed. Resolves only once the spans are in Postgres.
 */
import type { DecodeResult } from './otlp/types.js';
import type { MappedSpan } from './mapping/types.js';
import type { Batcher } from './sink/batcher.js';
import { decodeTraceRequestProto } from './otlp/decode-proto.js';
import { decodeTraceRequestJson } from './otlp/decode-json.js';
import { OtlpDecodeError } from './otlp/errors.js';
import { GatewayError } from './errors.js';

export type Encoding = 'proto' | 'json';

export interface ExportOutcome {
  /** spans not stored, reported in partial_success.rejected_spans */
  rejected: number;
  /** partial_success.error_message; empty on full success */
  message: string;
}

export class Pipeline {
  constructor(
    private readonly mapSpan: (s: DecodeResult['spans'][number]) => MappedSpan,
    private readonly batcher: Batcher,
  ) {}

  /** Decode an ExportTraceServiceRequest body and store it. Malformed → invalid_argument. */
  async exportBody(body: Uint8Array, encoding: Encoding, tenantId: string): Promise<ExportOutcome> {
    let decoded: DecodeResult;
    try {
      decoded = encoding === 'proto' ? decodeTraceRequestProto(body, tenantId) : decodeTraceRequestJson(body, tenantId);
    } catch (e) {
      if (e instanceof OtlpDecodeError) throw new GatewayError('invalid_argument', `malformed ${encoding === 'proto' ? 'protobuf' : 'JSON'} ExportTraceServiceRequest: ${e.message}`);
      throw e;
    }
    return this.exportDecoded(decoded);
  }

  async exportDecoded(decoded: DecodeResult): Promise<ExportOutcome> {
    const mapped = new Array<MappedSpan>(decoded.spans.length);
    for (let i = 0; i < decoded.spans.length; i++) mapped[i] = this.mapSpan(decoded.spans[i]!);
    const stored = await this.batcher.submit(mapped);
    const rejected = decoded.rejected + stored.rejected;
    const errors = [...decoded.errors, ...stored.errors];
    return {
      rejected,
      message: rejected === 0 ? '' : `${rejected} span(s) rejected: ${errors.slice(0, 5).join('; ')}`,
    };
  }
}
