/**
 * Model resolution (provider: provider.ts).
 *
 * model_name (DESIGN order): gen_ai.response.model → gen_ai.request.model → llm.response.model_name →
 * llm.model_name → embedding.model_name → ai.response.model → ai.model.id, then (extension, after the
 * design list) llm.request.model_name → reranker.model_name; normalised (model-id.ts: no Vertex path, gateway
 * vendor prefix, Bedrock region/vendor prefix) so per-model rollups group one model's calls.
 * request_model / response_model split the same keys by side; OpenInference's `llm.model_name` is usually the
 * response model, so `llm.invocation_parameters.model` (the requested model) precedes it for request_model.
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
