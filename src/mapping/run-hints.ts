/**
 * Run-level hints a span contributes (folded by the sink: lowest pipeline rank wins, ties → smaller value).
 *
 * pipeline candidates by rank: 0 gen_ai.workflow.name, 1 traceloop.workflow.name, 2 ai.telemetry.functionId,
 * 3 gen_ai.agent.name on a root span, 4 root span name, 5 resource service.name. A span offers its best one.
 * environment: resource deployment.environment.name → deployment.environment.
 */
import type { SpanRecord } from '../otlp/types.js';
import type { RunHints } from './types.js';
import { asString } from './attrs.js';

const SPAN_PIPELINE_KEYS = ['gen_ai.workflow.name', 'traceloop.workflow.name', 'ai.telemetry.functionId'] as const;
const ROOT_AGENT_KEY = 'gen_ai.agent.name';
const ENVIRONMENT_KEYS = ['deployment.environment.name', 'deployment.environment'] as const;

/** Every span attribute and resource key the hints read (runledger repair re-reads them from stored spans). */
export const HINT_ATTRIBUTE_KEYS: readonly string[] = [...SPAN_PIPELINE_KEYS, ROOT_AGENT_KEY];
export const HINT_RESOURCE_KEYS: readonly string[] = ['service.name', ...ENVIRONMENT_KEYS];

/**
 * runs.pipeline is indexed (runs_pipeline_start): a B-tree entry must fit in ~2.7 kB, so a longer value
 * (a multi-MB root span name) would make PostgreSQL refuse the span. Pipelines are cut to this many
 * UTF-16 units (at most 3 bytes of UTF-8 each), without splitting a surrogate pair.
 */
export const MAX_PIPELINE_CHARS = 512;

function bounded(value: string): string {
  const last = value.charCodeAt(MAX_PIPELINE_CHARS - 1);
  return value.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_PIPELINE_CHARS - 1 : MAX_PIPELINE_CHARS);
}

function pipeline(span: SpanRecord): RunHints['pipeline'] {
  const p = candidate(span);
  return p === null || p.value.length <= MAX_PIPELINE_CHARS ? p : { rank: p.rank, value: bounded(p.value) };
}

function candidate(span: SpanRecord): RunHints['pipeline'] {
  const a = span.attributes;
  for (let rank = 0; rank < SPAN_PIPELINE_KEYS.length; rank++) {
    const value = asString(a[SPAN_PIPELINE_KEYS[rank]!]);
    if (value !== null) return { rank, value };
  }
  if (span.parentSpanId === null) {
    const agent = asString(a[ROOT_AGENT_KEY]);
    if (agent !== null) return { rank: 3, value: agent };
    if (span.name !== '') return { rank: 4, value: span.name };
  }
  const service = span.serviceName ?? asString(span.resource['service.name']);
  return service === null || service === '' ? null : { rank: 5, value: service };
}

export function resolveRunHints(span: SpanRecord): RunHints {
  const r = span.resource;
  return {
    pipeline: pipeline(span),
    environment: asString(r[ENVIRONMENT_KEYS[0]]) ?? asString(r[ENVIRONMENT_KEYS[1]]),
  };
}
