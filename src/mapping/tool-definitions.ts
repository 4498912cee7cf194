/**
 * Tool definitions offered to the model, stored in their own node column (nodes.tool_definitions), not inside
 * `input`: input stays the messages (what analysts and the compat views read), and the definitions, repeated
 * on every call of an agent loop, can be queried or left alone on their own.
 *
 * tool_definitions: gen_ai.tool.definitions (OTel: a list of {type, name, description, parameters}, structured
 * or a JSON string, kept as sent) → llm.tools.N.tool.json_schema (OpenInference: one JSON schema per tool) →
 * ai.prompt.tools (Vercel AI SDK: an array of JSON strings) → llm.request.functions.N.{name, description,
 * parameters} (OpenLLMetry). The flattened and per-item forms become one JSON array (JSON strings decoded).
 * Content: recorded only with content capture on, truncated like input/output (content.ts storedJson).
 */
import type { Attributes } from '../otlp/types.js';
import type { MappingOptions } from './types.js';
import { collectIndexed } from './attrs.js';
import { decodeElement, fromStructure, fromValue, storedForm, type ContentRef, type Source } from './content.js';

export const TOOL_DEFINITIONS_KEY = 'gen_ai.tool.definitions';
const OI_PREFIX = 'llm.tools.';
const VERCEL_KEY = 'ai.prompt.tools';
const TRACELOOP_PREFIX = 'llm.request.functions.';

/** OpenInference nests each tool under `tool` and holds its schema as a JSON string. */
function openInferenceTools(a: Attributes): Source | null {
  if (a[OI_PREFIX + '0.tool.json_schema'] === undefined) return null;
  const items = collectIndexed(a, [OI_PREFIX])[0]!;
  const tools = items.map((t) => {
    const tool = (t as Record<string, unknown>)['tool'] as Record<string, unknown> | undefined;
    const schema = tool?.['json_schema'];
    return typeof schema === 'string' ? decodeElement(schema) : schema ?? t;
  });
  return tools.length === 0 ? null : fromStructure(tools);
}

/** OpenLLMetry: llm.request.functions.N.{name, description, parameters (a JSON string)}. */
function traceloopFunctions(a: Attributes): Source | null {
  if (a[TRACELOOP_PREFIX + '0.name'] === undefined) return null;
  const items = collectIndexed(a, [TRACELOOP_PREFIX])[0]!;
  for (const f of items) {
    const rec = f as Record<string, unknown>;
    if (typeof rec['parameters'] === 'string') rec['parameters'] = decodeElement(rec['parameters'] as string);
  }
  return items.length === 0 ? null : fromStructure(items);
}

function source(a: Attributes): Source | null {
  const otel = fromValue(a[TOOL_DEFINITIONS_KEY], true, TOOL_DEFINITIONS_KEY);
  if (otel !== null) return otel;
  const oi = openInferenceTools(a);
  if (oi !== null) return oi;
  const vercel = a[VERCEL_KEY];
  if (Array.isArray(vercel)) return vercel.length === 0 ? null : fromStructure(vercel.map(decodeElement));
  if (vercel !== undefined) return fromValue(vercel, true, VERCEL_KEY);
  return traceloopFunctions(a);
}

/** The stored JSON of the span's tool definitions, or null (none, or content capture off). */
export function resolveToolDefinitions(a: Attributes, opts: MappingOptions, refOut: { ref: ContentRef | null } | null = null): string | null {
  if (refOut !== null) refOut.ref = null;
  if (!opts.captureContent) return null;
  const src = source(a);
  return src === null ? null : storedForm(src, opts.maxContentChars, refOut);
}
