/**
 * Tool and agent names (first present wins).
 *
 * tool_name:  gen_ai.tool.name → tool.name → ai.toolCall.name → traceloop.entity.name (Traceloop tool spans)
 *             → TOOL nodes: the span name "execute_tool <name>".
 * agent_name: gen_ai.agent.name → agent.name → traceloop.entity.name (Traceloop agent spans) → agent_name
 *             (Pydantic AI instrumentation v2) → OpenInference metadata `lc_agent_name` (LangGraph / LangChain
 *             agents) → AGENT nodes: graph.node.id (OpenInference OpenAI Agents) → the span name
 *             "invoke_agent <name>" / "create_agent <name>" (not when <name> is gen_ai.request.model: the AI SDK 7
 *             names its calls "invoke_agent <model id>") → an OpenInference AGENT span's own name (OpenAI
 *             Agents and LangChain name agent spans after the agent).
 * The agent name of a non-agent node is the agent it runs under, where the producer stamps one (OpenLLMetry
 * stamps gen_ai.agent.name on every span under an agent; LangGraph's metadata is inherited).
 */
import type { Attributes } from '../otlp/types.js';
import type { NodeType } from './types.js';
import { asString, firstString } from './attrs.js';
import { LC_AGENT_NAME, metadataString } from './metadata.js';

const TOOL_NAME_KEYS = ['gen_ai.tool.name', 'tool.name', 'ai.toolCall.name'] as const;
const AGENT_NAME_KEYS = ['gen_ai.agent.name', 'agent.name'] as const;
const AGENT_NAME_TAIL_KEYS = ['agent_name'] as const;
const TOOL_SPAN_PREFIXES = ['execute_tool '] as const;
const AGENT_SPAN_PREFIXES = ['invoke_agent ', 'create_agent '] as const;

function traceloopEntity(a: Attributes, kind: string): string | null {
  return a['traceloop.span.kind'] === kind ? asString(a['traceloop.entity.name']) : null;
}

/** The rest of a span name after one of the operation prefixes ("execute_tool get_weather" → "get_weather"). */
function afterPrefix(spanName: string, prefixes: readonly string[]): string | null {
  for (const p of prefixes) {
    if (spanName.length > p.length && spanName.startsWith(p)) {
      const rest = spanName.slice(p.length).trim();
      return rest === '' ? null : rest;
    }
  }
  return null;
}

export function resolveToolName(a: Attributes, nodeType: NodeType, spanName: string): string | null {
  const n = firstString(a, TOOL_NAME_KEYS);
  if (n !== null || nodeType !== 'TOOL') return n;
  return traceloopEntity(a, 'tool') ?? afterPrefix(spanName, TOOL_SPAN_PREFIXES);
}

export function resolveAgentName(a: Attributes, nodeType: NodeType, spanName: string): string | null {
  const n = firstString(a, AGENT_NAME_KEYS) ??
    (nodeType === 'AGENT' ? traceloopEntity(a, 'agent') : null) ??
    firstString(a, AGENT_NAME_TAIL_KEYS) ??
    metadataString(a, LC_AGENT_NAME);
  if (n !== null || nodeType !== 'AGENT') return n;
  return asString(a['graph.node.id']) ?? agentOfSpanName(a, spanName) ??
    (a['openinference.span.kind'] !== undefined && spanName !== '' ? spanName : null);
}

/**
 * The agent in "invoke_agent <name>", unless <name> is the model: the Vercel AI SDK 7 (@ai-sdk/otel) names its
 * generateText span "invoke_agent <model id>" when no functionId names the call.
 */
function agentOfSpanName(a: Attributes, spanName: string): string | null {
  const rest = afterPrefix(spanName, AGENT_SPAN_PREFIXES);
  return rest !== null && rest === asString(a['gen_ai.request.model']) ? null : rest;
}
