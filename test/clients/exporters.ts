/**
 * The real OTLP trace exporters for in-process end-to-end tests. They are client packages, so they live in
 * the test package: this module sits in test/clients so its bare imports resolve from test/clients/node_modules.
 */
export { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
export { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
export { OTLPTraceExporter as OTLPTraceExporterGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
