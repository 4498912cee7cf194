/**
 * Model and provider resolution.
 *
 * model_name (DESIGN order): gen_ai.response.model → gen_ai.request.model → llm.response.model_name →
 * llm.model_name → embedding.model_name → ai.response.model → ai.model.id, then (extension, after the
 * design list) llm.request.model_name → reranker.model_name; normalised (model-id.ts: no Vertex path, gateway
 * vendor prefix, Bedrock region/vendor prefix) so per-model rollups group one model's calls.
 * request_model / response_model split the same keys by side; OpenInference's `llm.model_name` is usually the
 * response model, so `llm.invocation_parameters.model` (the requested model) precedes it for request_model.
 *
 * provider (DESIGN order): gen_ai.provider.name → gen_ai.system → llm.system → llm.provider → ai.model.provider,
 * normalised to the OTel `gen_ai.provider.name` vocabulary where the mapping is unambiguous (see normalizeProvider).
 */
import type { Attributes } from '../otlp/types.js';
import { asString, firstString } from './attrs.js';
import type { Invocation } from './params.js';
import { normalizeModelId } from './model-id.js';

export const MODEL_KEYS = [
  'gen_ai.response.model', 'gen_ai.request.model', 'llm.response.model_name', 'llm.model_name',
  'embedding.model_name', 'ai.response.model', 'ai.model.id', 'llm.request.model_name', 'reranker.model_name',
] as const;
const REQUEST_MODEL_KEYS = ['gen_ai.request.model', 'llm.request.model_name'] as const;
const REQUEST_MODEL_FALLBACK_KEYS = ['llm.model_name', 'embedding.model_name', 'reranker.model_name', 'ai.model.id'] as const;
const RESPONSE_MODEL_KEYS = ['gen_ai.response.model', 'llm.response.model_name', 'ai.response.model'] as const;
export const PROVIDER_KEYS = [
  'gen_ai.provider.name', 'gen_ai.system', 'llm.system', 'llm.provider', 'ai.model.provider',
] as const;

export interface Models {
  requestModel: string | null;
  responseModel: string | null;
  modelName: string | null;
}

export function resolveModels(a: Attributes, inv: Invocation): Models {
  return {
    requestModel: firstString(a, REQUEST_MODEL_KEYS) ?? asString(inv?.['model']) ?? firstString(a, REQUEST_MODEL_FALLBACK_KEYS),
    responseModel: firstString(a, RESPONSE_MODEL_KEYS),
    modelName: normalizeModelId(firstString(a, MODEL_KEYS)),
  };
}

/** Well-known gen_ai.provider.name values (OTel semconv 1.41), kept as they are. */
const OTEL_PROVIDERS = new Set([
  'anthropic', 'aws.bedrock', 'azure.ai.inference', 'azure.ai.openai', 'cohere', 'deepseek', 'gcp.gemini',
  'gcp.gen_ai', 'gcp.vertex_ai', 'groq', 'ibm.watsonx.ai', 'mistral_ai', 'openai', 'perplexity', 'x_ai',
]);

/**
 * Aliases onto the OTel vocabulary: deprecated gen_ai.system values, OpenInference llm.system/llm.provider
 * values and Vercel provider ids (the part before the first dot, e.g. "mistral" of "mistral.chat").
 */
const ALIASES: Record<string, string> = {
  'az.ai.inference': 'azure.ai.inference', 'az.ai.openai': 'azure.ai.openai', azure: 'azure.ai.openai',
  'azure-openai': 'azure.ai.openai', gemini: 'gcp.gemini', vertex_ai: 'gcp.vertex_ai', vertexai: 'gcp.vertex_ai',
  google: 'gcp.gen_ai', aws: 'aws.bedrock', bedrock: 'aws.bedrock', 'amazon-bedrock': 'aws.bedrock',
  mistral: 'mistral_ai', mistralai: 'mistral_ai', xai: 'x_ai', watsonx: 'ibm.watsonx.ai',
};

const cache = new Map<string, string>();
const CACHE_LIMIT = 1024;

function normalizeUncached(v: string): string {
  if (OTEL_PROVIDERS.has(v)) return v;
  const alias = ALIASES[v];
  if (alias !== undefined) return alias;
  const dot = v.indexOf('.');
  if (dot <= 0) return v;
  // Vercel AI SDK "<provider>.<api>" ids: openai.chat, openai.responses, anthropic.messages,
  // google.generative-ai (Gemini API), google.vertex.chat (Vertex AI), azure.chat, mistral.chat, ...
  const head = v.slice(0, dot);
  if (head === 'google') return v.startsWith('google.vertex') ? 'gcp.vertex_ai' : 'gcp.gemini';
  return ALIASES[head] ?? head;
}

/** Lowercase and map onto the OTel provider vocabulary; unknown names are kept (lowercased). */
export function normalizeProvider(raw: string): string {
  let out = cache.get(raw);
  if (out === undefined) {
    out = normalizeUncached(raw.trim().toLowerCase());
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(raw, out);
  }
  return out;
}

export function resolveProvider(a: Attributes): string | null {
  const raw = firstString(a, PROVIDER_KEYS);
  if (raw === null) return null;
  const p = normalizeProvider(raw);
  return p === '' ? null : p;
}
