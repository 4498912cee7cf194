/**
 * Request parameters and identifiers (docs/design-mapping.md key order, first valid value wins).
 *
 * temperature: gen_ai.request.temperature → ai.settings.temperature → llm.invocation_parameters.temperature
 * top_p:       gen_ai.request.top_p → ai.settings.topP → llm.invocation_parameters.top_p
 * max_tokens:  gen_ai.request.max_tokens → gen_ai.request.max_completion_tokens → ai.settings.maxOutputTokens →
 *              llm.invocation_parameters.{max_tokens, max_completion_tokens, max_output_tokens}
 * finish_reasons: gen_ai.response.finish_reasons → gen_ai.response.finish_reason → llm.response.finish_reason →
 *              llm.finish_reason → ai.response.finishReason (array, a JSON text of one, or a single string → text[])
 * tool call / session / user ids: see the key lists below (tool and agent names: names.ts).
 */
import type { AttrValue, Attributes } from '../otlp/types.js';
import type { NodeRecord } from './types.js';
import { asCount, asNumber, firstCount, firstNumber, firstString } from './attrs.js';

export type Params = Pick<NodeRecord,
  'temperature' | 'topP' | 'maxTokens' | 'finishReasons' | 'responseId' | 'toolCallId' | 'sessionId' | 'userId'>;

const TEMPERATURE_KEYS = ['gen_ai.request.temperature', 'ai.settings.temperature'] as const;
const TOP_P_KEYS = ['gen_ai.request.top_p', 'ai.settings.topP'] as const;
const MAX_TOKENS_KEYS = [
  'gen_ai.request.max_tokens', 'gen_ai.request.max_completion_tokens', 'ai.settings.maxOutputTokens',
] as const;
const FINISH_KEYS = [
  'gen_ai.response.finish_reasons', 'gen_ai.response.finish_reason', 'llm.response.finish_reason',
  'llm.finish_reason', 'ai.response.finishReason',
] as const;
const RESPONSE_ID_KEYS = ['gen_ai.response.id', 'ai.response.id'] as const;
const TOOL_CALL_ID_KEYS = ['gen_ai.tool.call.id', 'tool.id', 'ai.toolCall.id'] as const;
/** Also read from every span for the run (run-hints.ts). */
export const SESSION_KEYS = [
  'gen_ai.conversation.id', 'session.id', 'traceloop.association.properties.session_id',
  'ai.telemetry.metadata.sessionId', 'genkit:sessionId', 'gcp.vertex.agent.session_id',
] as const;
export const USER_KEYS = [
  'user.id', 'traceloop.association.properties.user_id', 'gen_ai.user', 'ai.telemetry.metadata.userId',
] as const;

export type Invocation = Record<string, AttrValue> | null;

/** llm.invocation_parameters: a JSON object string (OpenInference) or a structured value; parsed once per span. */
export function invocationParams(a: Attributes): Invocation {
  const v = a['llm.invocation_parameters'];
  if (v === undefined || v === null) return null;
  if (typeof v === 'object' && !Array.isArray(v)) return v;
  if (typeof v !== 'string' || v.length < 2) return null;
  try {
    const p: unknown = JSON.parse(v);
    return p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, AttrValue>) : null;
  } catch {
    return null;
  }
}

/** A JSON text of an array of strings (LiteLLM sends its finish reasons so), else null. */
function jsonStrings(v: string): string[] | null {
  if (v.charCodeAt(0) !== 91 /* [ */) return null;
  try {
    const d = JSON.parse(v) as unknown;
    if (!Array.isArray(d)) return null;
    const out = d.filter((x): x is string => typeof x === 'string' && x !== '');
    return out.length > 0 ? out : null;
  } catch {
    return null;
  }
}

function finishReasons(a: Attributes): string[] | null {
  for (const k of FINISH_KEYS) {
    const v = a[k];
    if (typeof v === 'string') {
      if (v !== '') return jsonStrings(v) ?? [v];
    } else if (Array.isArray(v)) {
      const out: string[] = [];
      for (const item of v) if (typeof item === 'string' && item !== '') out.push(item);
      if (out.length > 0) return out;
    }
  }
  return null;
}

export function resolveParams(a: Attributes, inv: Invocation): Params {
  let temperature = firstNumber(a, TEMPERATURE_KEYS);
  let topP = firstNumber(a, TOP_P_KEYS);
  let maxTokens = firstCount(a, MAX_TOKENS_KEYS);
  if (temperature === null || topP === null || maxTokens === null) {
    if (inv !== null) {
      temperature ??= asNumber(inv['temperature']);
      topP ??= asNumber(inv['top_p']);
      maxTokens ??= asCount(inv['max_tokens']) ?? asCount(inv['max_completion_tokens']) ?? asCount(inv['max_output_tokens']);
    }
  }
  return {
    temperature,
    topP,
    maxTokens,
    finishReasons: finishReasons(a),
    responseId: firstString(a, RESPONSE_ID_KEYS),
    toolCallId: firstString(a, TOOL_CALL_ID_KEYS),
    sessionId: firstString(a, SESSION_KEYS),
    userId: firstString(a, USER_KEYS),
  };
}
