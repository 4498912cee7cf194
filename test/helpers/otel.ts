/** Real OpenTelemetry JS SDK pieces for end-to-end tests. */
import { context, trace, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';

export function tracerWith(exporter: SpanExporter, serviceName = 'e2e-service'): { provider: BasicTracerProvider; tracer: Tracer } {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName, 'deployment.environment.name': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { provider, tracer: provider.getTracer('runledger-e2e', '1.0.0') };
}

function child(tracer: Tracer, parent: Span, name: string, startTime: number, attributes: Record<string, string | number | string[]>): Span {
  return tracer.startSpan(name, { attributes, startTime }, trace.setSpan(context.active(), parent));
}

/**
 * An agent run in OTel GenAI conventions: invoke_agent → chat (usage) → execute_tool → chat (usage).
 * Returns the trace id. Token totals: input 150, output 70.
 */
export function emitAgentRun(tracer: Tracer, opts: { failTool?: boolean } = {}): string {
  const t = Date.now(); // explicit, distinct times so the test can order spans
  const root = tracer.startSpan('invoke_agent researcher', {
    startTime: t,
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'researcher', 'gen_ai.conversation.id': 'conv-1' },
  });
  const chat1 = child(tracer, root, 'chat gpt-4o-mini', t + 10, {
    'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 50,
    'gen_ai.response.finish_reasons': ['tool_calls'], 'gen_ai.request.temperature': 0.2,
  });
  chat1.end(t + 500);
  const tool = child(tracer, root, 'execute_tool web_search', t + 510, {
    'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search', 'gen_ai.tool.call.id': 'call_1',
  });
  if (opts.failTool) tool.setStatus({ code: SpanStatusCode.ERROR, message: 'tool timed out' });
  tool.end(t + 700);
  const chat2 = child(tracer, root, 'chat gpt-4o-mini', t + 710, {
    'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 50, 'gen_ai.usage.output_tokens': 20, 'gen_ai.response.finish_reasons': ['stop'],
  });
  chat2.end(t + 1200);
  root.end(t + 1300);
  return root.spanContext().traceId;
}
