/**
 * GenAI span → ledger node mapping. Each concern lives in its own module, each reading an ordered key
 * list (see docs/design-mapping.md and docs/mapping.md): node-type, model, provider, usage, cost/prices, content,
 * tool-definitions, errors, params, names, run-hints; genkit translates Genkit actions into those keys first.
 */
import type { SpanRecord } from '../otlp/types.js';
import type { MappedSpan, MappingOptions, NodeRecord } from './types.js';
import type { PriceTable } from './prices.js';
import { resolveNodeKind } from './node-type.js';
import { resolveModels } from './model.js';
import { resolveProvider } from './provider.js';
import { genkitView } from './genkit.js';
import { resolveAgentName, resolveToolName } from './names.js';
import { resolveToolDefinitions } from './tool-definitions.js';
import { resolveUsage } from './usage.js';
import { resolveCost } from './cost.js';
import { refHolder, resolveContent, type ContentRefs } from './content.js';
import { resolveError } from './errors.js';
import { invocationParams, resolveParams } from './params.js';
import { resolveRunHints } from './run-hints.js';

export { PriceTable, loadPriceTable, MANIFEST_SOURCE, type Priced } from './prices.js';
export { priceUsage } from './cost.js';

export type SpanMapper = (span: SpanRecord) => MappedSpan;

export interface MapperOptions extends MappingOptions {
  prices: PriceTable;
}

/** The node for one span, or null when the span is not a GenAI ledger node. */
export function mapNode(span: SpanRecord, opts: MapperOptions): NodeRecord | null {
  return mapNodeRefs(span, opts, null);
}

/** mapNode, and in `refs` (when given) the span attributes its content may reference (sql/015; MappedSpan.refs). */
function mapNodeRefs(span: SpanRecord, opts: MapperOptions, refs: ContentRefs | null): NodeRecord | null {
  const a = genkitView(span.attributes);
  const kind = resolveNodeKind(a, span.name);
  if (kind === null) return null;
  const { nodeType } = kind;
  const inv = invocationParams(a);
  const models = resolveModels(a, inv);
  const usage = resolveUsage(a);
  const provider = resolveProvider(a);
  const cost = resolveCost(a, usage, opts.prices, provider, models, span.startUs);
  const err = resolveError(span);
  const params = resolveParams(a, inv);
  const content = resolveContent(a, nodeType === 'TOOL', opts, span.events);
  const toolDefinitions = resolveToolDefinitions(a, opts, refHolder);
  if (refs !== null) {
    refs.input = content.inputRef;
    refs.output = content.outputRef;
    refs.toolDefinitions = refHolder.ref;
  }
  return {
    nodeType,
    operation: kind.operation,
    name: span.name,
    status: span.statusCode === 2 ? 'FAILED' : 'COMPLETED',
    errorType: err.errorType,
    errorMessage: err.errorMessage,
    provider,
    requestModel: models.requestModel,
    responseModel: models.responseModel,
    modelName: models.modelName,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cacheReadTokens: usage.cacheReadTokens,
    cacheWriteTokens: usage.cacheWriteTokens,
    reasoningTokens: usage.reasoningTokens,
    totalTokens: usage.totalTokens,
    ...(usage.modalityTokens ? { modalityTokens: usage.modalityTokens } : {}),
    usageNormalized: usage.usageNormalized,
    inputCost: cost.inputCost,
    outputCost: cost.outputCost,
    totalCost: cost.totalCost,
    costSource: cost.costSource,
    priceRef: cost.priceRef,
    temperature: params.temperature,
    topP: params.topP,
    maxTokens: params.maxTokens,
    finishReasons: params.finishReasons,
    responseId: params.responseId,
    toolName: resolveToolName(a, nodeType, span.name),
    toolCallId: params.toolCallId,
    agentName: resolveAgentName(a, nodeType, span.name),
    sessionId: params.sessionId,
    userId: params.userId,
    promptHash: content.promptHash,
    input: content.input,
    output: content.output,
    contentSource: content.contentSource,
    toolDefinitions,
  };
}

export function createMapper(opts: MapperOptions): SpanMapper {
  const o: MapperOptions = { ...opts };
  const r: ContentRefs = { input: null, output: null, toolDefinitions: null }; // reused: copied only when set
  return (span) => {
    const node = mapNodeRefs(span, o, r);
    const refs = node !== null && (r.input !== null || r.output !== null || r.toolDefinitions !== null)
      ? { input: r.input, output: r.output, toolDefinitions: r.toolDefinitions } : null;
    return { span, node, hints: resolveRunHints(span, node), refs };
  };
}

export function mapSpans(spans: readonly SpanRecord[], mapper: SpanMapper): MappedSpan[] {
  const out = new Array<MappedSpan>(spans.length);
  for (let i = 0; i < spans.length; i++) out[i] = mapper(spans[i]!);
  return out;
}
