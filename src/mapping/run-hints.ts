/**
 * Run-level hints a span contributes (folded by the sink: lowest pipeline rank wins, ties → smaller value;
 * session / user: smallest value), so the run's values do not depend on the order spans arrive in.
 *
 * pipeline candidates by rank; a span offers its best one. The root-most workflow name wins over names stamped
 * on descendants (OpenLLMetry stamps traceloop.workflow.name on every span under a workflow, and withAgent
 * stamps the agent's name the same way on the agent span and everything under it): a workflow name on the
 * root span or on the workflow's own span outranks the same key anywhere else.
 *  -4 gen_ai.workflow.name on a root span        -3 traceloop.workflow.name on a root span
 *  -2 gen_ai.workflow.name on an invoke_workflow span (gen_ai.operation.name)
 *  -1 traceloop.workflow.name on a Traceloop workflow span (traceloop.span.kind = workflow)
 *   0 gen_ai.workflow.name   1 traceloop.workflow.name   2 ai.telemetry.functionId
 *   3 gen_ai.agent.name on a root span   4 root span name   5 resource service.name
 * (The negative ranks were added after 0-5 were stored: stored ranks keep their meaning.) Nested workflows
 * below the root tie at their rank; the smaller name wins.
 * environment: resource deployment.environment.name → deployment.environment.
 * session_id / user_id: the node keys (params.ts SESSION_KEYS / USER_KEYS) on any span, so a session or user
 * set only on a non-GenAI span (an HTTP root span) reaches the run.
 */
import type { SpanRecord } from '../otlp/types.js';
import type { NodeRecord, RunHints } from './types.js';
import { asString, firstString } from './attrs.js';
import { SESSION_KEYS, USER_KEYS } from './params.js';

const SPAN_PIPELINE_KEYS = ['gen_ai.workflow.name', 'traceloop.workflow.name', 'ai.telemetry.functionId'] as const;
/** The span that owns a workflow name, per key of SPAN_PIPELINE_KEYS: [attribute, value]. */
const WORKFLOW_SPAN = [['gen_ai.operation.name', 'invoke_workflow'], ['traceloop.span.kind', 'workflow']] as const;
const ROOT_AGENT_KEY = 'gen_ai.agent.name';
const ENVIRONMENT_KEYS = ['deployment.environment.name', 'deployment.environment'] as const;

/** Every span attribute and resource key the hints read (runledger repair re-reads them from stored spans). */
export const HINT_ATTRIBUTE_KEYS: readonly string[] = [
  ...SPAN_PIPELINE_KEYS, ...WORKFLOW_SPAN.map(([k]) => k), ROOT_AGENT_KEY, ...SESSION_KEYS, ...USER_KEYS,
];
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
  const root = span.parentSpanId === null;
  let best: RunHints['pipeline'] = null;
  for (let i = 0; i < SPAN_PIPELINE_KEYS.length; i++) {
    const value = asString(a[SPAN_PIPELINE_KEYS[i]!]);
    if (value === null) continue;
    let rank = i;
    if (i < WORKFLOW_SPAN.length) {
      const [k, v] = WORKFLOW_SPAN[i]!;
      if (root) rank = i - 4;
      else if (a[k] === v) rank = i - 2;
    }
    if (best === null || rank < best.rank) best = { rank, value };
  }
  if (best !== null) return best;
  if (root) {
    const agent = asString(a[ROOT_AGENT_KEY]);
    if (agent !== null) return { rank: 3, value: agent };
    if (span.name !== '') return { rank: 4, value: span.name };
  }
  const service = span.serviceName ?? asString(span.resource['service.name']);
  return service === null || service === '' ? null : { rank: 5, value: service };
}

/**
 * @param node the span's node when it has one: its session / user come from the same keys, so they are
 *   taken from it rather than looked up again (the mapper's hot path).
 */
export function resolveRunHints(span: SpanRecord, node: Pick<NodeRecord, 'sessionId' | 'userId'> | null = null): RunHints {
  const r = span.resource;
  return {
    pipeline: pipeline(span),
    environment: asString(r[ENVIRONMENT_KEYS[0]]) ?? asString(r[ENVIRONMENT_KEYS[1]]),
    sessionId: node === null ? firstString(span.attributes, SESSION_KEYS) : node.sessionId,
    userId: node === null ? firstString(span.attributes, USER_KEYS) : node.userId,
  };
}
