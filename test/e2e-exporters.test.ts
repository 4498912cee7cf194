/**
 * The real OTel JS exporters (OTLP/HTTP protobuf, OTLP/HTTP JSON, OTLP/gRPC, with and without gzip)
 * send to a running gateway; a successful export means the rows are already in PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OTLPTraceExporterGrpc as GrpcExporter, OTLPTraceExporterJson as JsonExporter, OTLPTraceExporterProto as ProtoExporter,
} from './clients/exporters.js';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { emitAgentRun, tracerWith } from './helpers/otel.js';

let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway(); });
afterAll(async () => { await gw?.close(); });

type Make = () => SpanExporter;
const cases: [string, Make][] = [
  ['http/protobuf', () => new ProtoExporter({ url: `${gw.httpUrl}/v1/traces` })],
  ['http/protobuf gzip', () => new ProtoExporter({ url: `${gw.httpUrl}/v1/traces`, compression: 'gzip' as never })],
  ['http/json', () => new JsonExporter({ url: `${gw.httpUrl}/v1/traces` })],
  ['http/json gzip', () => new JsonExporter({ url: `${gw.httpUrl}/v1/traces`, compression: 'gzip' as never })],
  ['grpc', () => new GrpcExporter({ url: `http://${gw.grpcAddress}` })],
  ['grpc gzip', () => new GrpcExporter({ url: `http://${gw.grpcAddress}`, compression: 'gzip' as never })],
];

describe.each(cases)('OTel exporter %s', (label, make) => {
  it('stores spans, nodes and run rollups before the export is acknowledged', async () => {
    const exporter = make();
    const { provider, tracer } = tracerWith(exporter, `svc-${label}`);
    const traceId = emitAgentRun(tracer, { failTool: true });
    await provider.forceFlush();
    // No polling: the export returned, so the commit already happened.
    const spans = await gw.db.pool.query('SELECT name, kind, status_code, service_name, attributes FROM runledger.spans WHERE trace_id = $1 ORDER BY start_time', [traceId]);
    expect(spans.rows).toHaveLength(4);
    expect(spans.rows[0]).toMatchObject({ name: 'invoke_agent researcher', kind: 'INTERNAL', service_name: `svc-${label}` });
    expect(spans.rows[1].attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 100, 'gen_ai.response.finish_reasons': ['tool_calls'] });

    const nodes = await gw.db.pool.query(
      `SELECT node_type, provider, model_name, input_tokens, output_tokens, total_cost, cost_source, tool_name, status, finish_reasons
       FROM runledger.nodes WHERE run_id = $1 ORDER BY start_time`, [traceId]);
    expect(nodes.rows.map((n) => n.node_type)).toEqual(['AGENT', 'LLM', 'TOOL', 'LLM']);
    const llm = nodes.rows[1];
    expect(llm).toMatchObject({ provider: 'openai', model_name: 'gpt-4o-mini-2024-07-18', input_tokens: '100', output_tokens: '50', cost_source: 'price_table', finish_reasons: ['tool_calls'] });
    expect(Number(llm.total_cost)).toBeGreaterThan(0);
    expect(nodes.rows[2]).toMatchObject({ tool_name: 'web_search', status: 'FAILED' });

    const run = await gw.db.pool.query('SELECT * FROM runledger.runs WHERE run_id = $1', [traceId]);
    expect(run.rows[0]).toMatchObject({
      status: 'COMPLETED', name: 'invoke_agent researcher', pipeline: 'researcher', span_count: '4', total_nodes: '4',
      llm_calls: '2', tool_calls: '1', error_count: '1', input_tokens: '150', output_tokens: '70', total_tokens: '220',
      environment: 'test', session_id: 'conv-1', service_name: `svc-${label}`,
    });
    expect(Number(run.rows[0].total_cost)).toBeCloseTo(150 * 0.15e-6 + 70 * 0.6e-6, 9);
    await provider.shutdown();
  });
});
