/**
 * Node type and operation resolution (docs/design-mapping.md order, first present wins):
 * openinference.span.kind → gen_ai.operation.name → Genkit genkit:type / genkit:metadata:subtype →
 * traceloop.span.kind → llm.request.type → Vercel AI SDK operation (ai.operationId, else operation.name, else
 * the span name: a custom span name or one rewritten by another SDK still maps) → gen_ai.tool.* present →
 * token usage present (an LLM, with or without a model key: its tokens must reach the run) → not a node.
 *
 * An unrecognised value of one key falls through to the next key, except OpenInference
 * `UNKNOWN` / `PROMPT`, which explicitly mark a span that is not a ledger node.
 *
 * `gen_ai.tool.*` presence is checked on the call keys (name, call.id, call.arguments, call.result, type,
 * description), not on `gen_ai.tool.definitions`, which LLM spans carry.
 *
 * Operation: `gen_ai.operation.name` when present (any value), else derived:
 * - Genkit (genkit:type = action): subtype model → chat, embedder → embeddings, tool → execute_tool,
 *   retriever → retrieval, reranker → rerank, flow → invoke_workflow, evaluator → null;
 * - Vercel: *.doGenerate / *.doStream → chat, *.doEmbed → embeddings, *.doRerank → rerank, ai.toolCall →
 *   execute_tool, top-level functions → snake_case name (ai.generateText → generate_text, ai.embedMany → embed_many);
 * - llm.request.type: chat → chat, completion → text_completion, embedding → embeddings, rerank → rerank;
 * - traceloop.span.kind: workflow → invoke_workflow, task → task, agent → invoke_agent, tool → execute_tool;
 * - otherwise by type: LLM chat, EMBEDDING embeddings, TOOL execute_tool, AGENT invoke_agent, RETRIEVER retrieval,
 *   RERANKER rerank; CHAIN / GUARDRAIL / EVALUATOR null.
 */
import type { Attributes } from '../otlp/types.js';
import type { NodeType } from './types.js';
import { asCount, asString, hasAny } from './attrs.js';
import { INPUT_TOKEN_KEYS, OUTPUT_TOKEN_KEYS, TOTAL_TOKEN_KEYS } from './usage.js';

export interface NodeKind {
  nodeType: NodeType;
  operation: string | null;
}

/** OpenInference span kinds; null = explicitly not a node. */
const OPENINFERENCE: Record<string, NodeType | null> = {
  LLM: 'LLM', EMBEDDING: 'EMBEDDING', TOOL: 'TOOL', AGENT: 'AGENT', CHAIN: 'CHAIN', RETRIEVER: 'RETRIEVER',
  RERANKER: 'RERANKER', GUARDRAIL: 'GUARDRAIL', EVALUATOR: 'EVALUATOR', UNKNOWN: null, PROMPT: null,
};

/** gen_ai.operation.name (OTel GenAI semconv; `embedding` is Spring AI's and LiteLLM's spelling of `embeddings`) */
const GEN_AI_OPERATION: Record<string, NodeType> = {
  chat: 'LLM', text_completion: 'LLM', generate_content: 'LLM', embeddings: 'EMBEDDING', retrieval: 'RETRIEVER',
  execute_tool: 'TOOL', invoke_agent: 'AGENT', create_agent: 'AGENT', invoke_workflow: 'CHAIN', rerank: 'RERANKER',
  embedding: 'EMBEDDING',
  // LiteLLM writes its call type (CallTypes), "completion" as chat: the proxy's async calls and Anthropic's API
  acompletion: 'LLM', atext_completion: 'LLM', anthropic_messages: 'LLM', aembedding: 'EMBEDDING', arerank: 'RERANKER',
};

/** Genkit action subtypes (genkit:metadata:subtype) → [type, derived operation]; other subtypes are not nodes. */
const GENKIT_SUBTYPE: Record<string, NodeKind> = {
  model: { nodeType: 'LLM', operation: 'chat' },
  'background-model': { nodeType: 'LLM', operation: 'chat' },
  embedder: { nodeType: 'EMBEDDING', operation: 'embeddings' },
  tool: { nodeType: 'TOOL', operation: 'execute_tool' },
  'tool.v2': { nodeType: 'TOOL', operation: 'execute_tool' },
  retriever: { nodeType: 'RETRIEVER', operation: 'retrieval' },
  reranker: { nodeType: 'RERANKER', operation: 'rerank' },
  evaluator: { nodeType: 'EVALUATOR', operation: null },
  flow: { nodeType: 'CHAIN', operation: 'invoke_workflow' },
};

/** traceloop.span.kind → [type, derived operation] */
const TRACELOOP_KIND: Record<string, NodeKind> = {
  workflow: { nodeType: 'CHAIN', operation: 'invoke_workflow' },
  task: { nodeType: 'CHAIN', operation: 'task' },
  agent: { nodeType: 'AGENT', operation: 'invoke_agent' },
  tool: { nodeType: 'TOOL', operation: 'execute_tool' },
};

/** llm.request.type (OpenLLMetry) → [type, derived operation] */
const LLM_REQUEST_TYPE: Record<string, NodeKind> = {
  chat: { nodeType: 'LLM', operation: 'chat' },
  completion: { nodeType: 'LLM', operation: 'text_completion' },
  embedding: { nodeType: 'EMBEDDING', operation: 'embeddings' },
  rerank: { nodeType: 'RERANKER', operation: 'rerank' },
};

/** Vercel AI SDK top-level spans (CHAIN); the operation is the function name in snake_case. */
const VERCEL_CHAIN: Record<string, string> = {
  'ai.generateText': 'generate_text', 'ai.streamText': 'stream_text', 'ai.generateObject': 'generate_object',
  'ai.streamObject': 'stream_object', 'ai.embed': 'embed', 'ai.embedMany': 'embed_many', 'ai.rerank': 'rerank',
};

/** Default operation per type when no key names one (null where no convention exists). */
const DEFAULT_OPERATION: Record<NodeType, string | null> = {
  LLM: 'chat', EMBEDDING: 'embeddings', TOOL: 'execute_tool', AGENT: 'invoke_agent', CHAIN: null,
  RETRIEVER: 'retrieval', RERANKER: 'rerank', GUARDRAIL: null, EVALUATOR: null,
};

const GEN_AI_TOOL_KEYS = [
  'gen_ai.tool.name', 'gen_ai.tool.call.id', 'gen_ai.tool.call.arguments', 'gen_ai.tool.call.result',
  'gen_ai.tool.type', 'gen_ai.tool.description',
];

/**
 * The AI SDK operation id: `ai.operationId`, else the first word of `operation.name` ("ai.generateText my-fn"),
 * else the span name (the AI SDK names spans by operation id unless something renamed them).
 */
function vercelOperation(a: Attributes, spanName: string): string {
  const id = asString(a['ai.operationId']);
  if (id !== null) return id;
  const op = a['operation.name'];
  if (typeof op === 'string' && op.startsWith('ai.')) {
    const space = op.indexOf(' ');
    return space < 0 ? op : op.slice(0, space);
  }
  return spanName;
}

function vercelKind(name: string): NodeKind | null {
  if (!name.startsWith('ai.')) return null;
  if (name === 'ai.toolCall') return { nodeType: 'TOOL', operation: 'execute_tool' };
  const op = VERCEL_CHAIN[name];
  if (op !== undefined) return { nodeType: 'CHAIN', operation: op };
  if (name.endsWith('.doGenerate') || name.endsWith('.doStream')) return { nodeType: 'LLM', operation: 'chat' };
  if (name.endsWith('.doEmbed')) return { nodeType: 'EMBEDDING', operation: 'embeddings' };
  if (name.endsWith('.doRerank')) return { nodeType: 'RERANKER', operation: 'rerank' };
  return null;
}

function lower(v: unknown): string | null {
  return typeof v === 'string' ? v.toLowerCase() : null;
}

function hasCount(a: Attributes, keys: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) {
    const v = a[keys[i]!];
    if (v !== undefined && asCount(v) !== null) return true;
  }
  return false;
}

/** Token usage under any input / output / total key. */
function hasUsage(a: Attributes): boolean {
  return hasCount(a, INPUT_TOKEN_KEYS) || hasCount(a, OUTPUT_TOKEN_KEYS) || hasCount(a, TOTAL_TOKEN_KEYS);
}

function genkitKind(a: Attributes): NodeKind | null {
  const type = a['genkit:type'];
  if (type === 'action') {
    const sub = a['genkit:metadata:subtype'];
    return typeof sub === 'string' ? GENKIT_SUBTYPE[sub] ?? null : null;
  }
  return type === 'flow' ? GENKIT_SUBTYPE['flow']! : null; // Genkit before 0.9 typed flows directly
}

/** The rule-derived kind, before the gen_ai.operation.name override of the operation. */
function baseKind(a: Attributes, spanName: string): NodeKind | null | 'not-a-node' {
  const oi = a['openinference.span.kind'];
  if (typeof oi === 'string') {
    const t = OPENINFERENCE[oi.toUpperCase()];
    if (t === null) return 'not-a-node';
    if (t !== undefined) return { nodeType: t, operation: null };
  }
  const op = lower(a['gen_ai.operation.name']);
  if (op !== null) {
    const t = GEN_AI_OPERATION[op];
    if (t !== undefined) return { nodeType: t, operation: null };
  }
  if (a['genkit:type'] !== undefined) {
    const g = genkitKind(a);
    if (g !== null) return g;
  }
  const tl = lower(a['traceloop.span.kind']);
  if (tl !== null && TRACELOOP_KIND[tl]) return TRACELOOP_KIND[tl]!;
  const rt = lower(a['llm.request.type']);
  if (rt !== null && LLM_REQUEST_TYPE[rt]) return LLM_REQUEST_TYPE[rt]!;
  const v = vercelKind(vercelOperation(a, spanName));
  if (v !== null) return v;
  if (hasAny(a, GEN_AI_TOOL_KEYS)) return { nodeType: 'TOOL', operation: 'execute_tool' };
  if (hasUsage(a)) return { nodeType: 'LLM', operation: null };
  return null;
}

/** Resolve a span's node type and operation; null when the span is not a ledger node. */
export function resolveNodeKind(a: Attributes, spanName: string): NodeKind | null {
  const k = baseKind(a, spanName);
  if (k === null || k === 'not-a-node') return null;
  const explicit = a['gen_ai.operation.name'];
  let operation = typeof explicit === 'string' && explicit !== '' ? explicit : k.operation;
  if (operation === null) {
    // OpenInference / gen_ai typed spans without an operation: borrow llm.request.type, else the default.
    const rt = lower(a['llm.request.type']);
    operation = (rt !== null && LLM_REQUEST_TYPE[rt]?.operation) || DEFAULT_OPERATION[k.nodeType];
  }
  return { nodeType: k.nodeType, operation };
}
