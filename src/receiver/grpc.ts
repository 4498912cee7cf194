/**
 * OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export.
 * Messages pass through as raw bytes and are decoded by the shared pipeline (one consumer path).
 */
import * as grpc from '@grpc/grpc-js';
import { GatewayError } from '../errors.js';
import type { Pipeline } from '../pipeline.js';
import { encodeExportResponse, encodeRpcStatus } from '../otlp/response.js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

const passthrough = (b: Buffer) => b;

export const traceServiceDefinition: grpc.ServiceDefinition = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
  },
};

export interface GrpcReceiverOptions {
  pipeline: Pipeline;
  maxBodyBytes: number;
  /** resolves the tenant from call metadata (API keys); null → UNAUTHENTICATED */
  tenant: (md: grpc.Metadata) => string | null;
  onError?: (e: unknown) => void;
  /** called once per Export call with its status code name (OK, UNAVAILABLE, ...) and duration (metrics) */
  onRequest?: (code: string, seconds: number) => void;
}

function toServiceError(e: unknown): Partial<grpc.StatusObject> {
  const err = e instanceof GatewayError ? e : new GatewayError('internal', (e as Error)?.message ?? String(e));
  const metadata = new grpc.Metadata();
  if (err.retryable && err.retryAfterSeconds !== undefined) {
    // google.rpc.RetryInfo in the status details, as the OTLP spec asks for throttling.
    const status = encodeRpcStatus(err.grpcCode, err.message, 'proto', err.retryAfterSeconds) as Uint8Array;
    metadata.set('grpc-status-details-bin', Buffer.from(status));
  }
  return { code: err.grpcCode, details: err.message, metadata };
}

export function createGrpcServer(opts: GrpcReceiverOptions): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxBodyBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });
  server.addService(traceServiceDefinition, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, answer: grpc.sendUnaryData<Buffer>) => {
      const t0 = performance.now();
      const callback: grpc.sendUnaryData<Buffer> = (err, value) => {
        opts.onRequest?.(grpc.status[err?.code ?? grpc.status.OK] ?? String(err?.code), (performance.now() - t0) / 1000);
        answer(err, value);
      };
      let tenantId: string | null;
      try {
        tenantId = opts.tenant(call.metadata);
      } catch (e) {
        callback(toServiceError(e)); // API keys not loaded yet: UNAVAILABLE
        return;
      }
      if (tenantId === null) {
        callback(toServiceError(new GatewayError('unauthenticated', 'missing or invalid API key')));
        return;
      }
      opts.pipeline.exportBody(call.request, 'proto', tenantId, 'grpc').then(
        (out) => callback(null, Buffer.from(encodeExportResponse(out.rejected, out.message, 'proto') as Uint8Array)),
        (e) => {
          if (!(e instanceof GatewayError)) opts.onError?.(e);
          callback(toServiceError(e));
        },
      );
    },
  });
  return server;
}

export function bindGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });
}
