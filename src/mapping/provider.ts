/**
 * Provider resolution, normalised to the OTel `gen_ai.provider.name` vocabulary (it also keys price lookups).
 *
 * provider: gen_ai.provider.name → gen_ai.system → llm.provider → llm.system → ai.model.provider →
 * OpenInference metadata `ls_provider` (LangChain). llm.provider (OpenInference: the hosting provider, e.g.
 * azure) precedes llm.system (the model family, e.g. openai), as gen_ai.provider.name names the host.
 *
 * A value that names a framework rather than a provider (Google ADK's `gcp.vertex.agent`, `strands-agents`,
 * `microsoft.agent_framework`, OpenLLMetry's `langchain`, ...) is skipped: the next key decides, so a
 * framework never overrides the provider another key names. Values are lowercased; OTel well-known values
 * are kept; SDK-specific ids and aliases map onto them (see ALIASES). A dotted value is cut at its first dot
 * only when that head is a Vercel AI SDK provider id ("openai.chat", "google.vertex.chat"); any other dotted
 * value is kept whole.
 */
import type { Attributes } from '../otlp/types.js';
import { asString } from './attrs.js';
import { LS_PROVIDER, metadataString } from './metadata.js';

export const PROVIDER_KEYS = [
  'gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system', 'ai.model.provider',
] as const;

/** Well-known gen_ai.provider.name values (OTel GenAI semconv), kept as they are. */
const OTEL_PROVIDERS = new Set([
  'anthropic', 'aws.bedrock', 'azure.ai.inference', 'azure.ai.openai', 'cohere', 'deepseek', 'gcp.gemini',
  'gcp.gen_ai', 'gcp.vertex_ai', 'groq', 'ibm.watsonx.ai', 'mistral_ai', 'moonshot_ai', 'openai', 'perplexity', 'x_ai',
]);

/**
 * Aliases onto the OTel vocabulary, by producer:
 * - deprecated gen_ai.system values (az.ai.*, vertex_ai, gemini, ...);
 * - OpenInference llm.system / llm.provider (mistralai, vertexai, google, azure, aws, xai);
 * - Vercel AI SDK provider ids and heads (amazon-bedrock, azure, mistral, vertex, xai);
 * - Pydantic AI provider names (google-gla: Gemini API; google-vertex / google-cloud: Vertex AI; bedrock, moonshotai);
 * - LangChain ls_provider (google_genai, google_vertexai, amazon_bedrock, azure, mistral, xai);
 * - Genkit plugin names, the prefix of a Genkit model name (googleai, vertexai);
 * - OpenLLMetry vendor names (Google, Bedrock, AWS, Azure, TogetherAI: lowercased).
 * `google` alone does not say which Google endpoint: gcp.gen_ai ("any Google generative AI endpoint").
 */
const ALIASES: Record<string, string> = {
  'az.ai.inference': 'azure.ai.inference', 'az.ai.openai': 'azure.ai.openai', azure: 'azure.ai.openai',
  'azure-openai': 'azure.ai.openai', azure_openai: 'azure.ai.openai', azure_ai: 'azure.ai.inference',
  gemini: 'gcp.gemini', googleai: 'gcp.gemini', 'google-gla': 'gcp.gemini', google_genai: 'gcp.gemini',
  'google-genai': 'gcp.gemini', google: 'gcp.gen_ai',
  vertex_ai: 'gcp.vertex_ai', vertexai: 'gcp.vertex_ai', vertex: 'gcp.vertex_ai', 'google-vertex': 'gcp.vertex_ai',
  'google-cloud': 'gcp.vertex_ai', google_vertexai: 'gcp.vertex_ai', google_anthropic_vertex: 'gcp.vertex_ai',
  aws: 'aws.bedrock', bedrock: 'aws.bedrock', 'amazon-bedrock': 'aws.bedrock', amazon_bedrock: 'aws.bedrock',
  bedrock_converse: 'aws.bedrock',
  mistral: 'mistral_ai', mistralai: 'mistral_ai', xai: 'x_ai', 'x-ai': 'x_ai', watsonx: 'ibm.watsonx.ai',
  ibm: 'ibm.watsonx.ai', moonshotai: 'moonshot_ai', moonshot: 'moonshot_ai',
  // LiteLLM's custom_llm_provider names for self-hosted servers (a vLLM server, Ollama's chat API)
  hosted_vllm: 'vllm', ollama_chat: 'ollama',
};

/** Vercel AI SDK provider ids: the head of "<id>.<api>" provider strings. */
const VERCEL_HEADS = new Set([
  'openai', 'anthropic', 'google', 'vertex', 'azure', 'amazon-bedrock', 'mistral', 'cohere', 'groq', 'xai', 'deepseek',
  'perplexity', 'togetherai', 'fireworks', 'cerebras', 'deepinfra', 'openai-compatible', 'ollama', 'openrouter',
  'huggingface', 'gateway', 'replicate', 'moonshotai', 'alibaba', 'baseten', 'vercel',
]);

/**
 * Names of frameworks and agent SDKs that some of them write where a provider belongs (gen_ai.system,
 * gen_ai.provider.name, llm.system): never taken as the provider.
 */
const FRAMEWORKS = new Set([
  'gcp.vertex.agent', 'strands-agents', 'microsoft.agent_framework', 'langchain', 'langgraph', 'crewai', 'llamaindex',
  'llama_index', 'llama-index', 'autogen', 'semantic_kernel', 'semantic-kernel', 'openai_agents', 'openai-agents',
  'pydantic_ai', 'pydantic-ai', 'haystack', 'dspy', 'mastra', 'genkit', 'agno', 'smolagents', 'beeai', 'google_adk',
]);

const cache = new Map<string, string | null>();
const CACHE_LIMIT = 1024;

function normalizeUncached(v: string): string | null {
  if (v === '' || FRAMEWORKS.has(v)) return null;
  if (OTEL_PROVIDERS.has(v)) return v;
  const alias = ALIASES[v];
  if (alias !== undefined) return alias;
  const dot = v.indexOf('.');
  if (dot <= 0) return v;
  const head = v.slice(0, dot);
  if (!VERCEL_HEADS.has(head)) return v;
  // Vercel "<provider>.<api>": openai.chat, google.generative-ai (Gemini API), google.vertex.chat (Vertex AI),
  // vertex.anthropic.messages (Anthropic on Vertex), azure.chat, mistral.chat, ...
  if (head === 'google') return v.startsWith('google.vertex') ? 'gcp.vertex_ai' : 'gcp.gemini';
  return ALIASES[head] ?? head;
}

/**
 * Lowercase and map onto the OTel provider vocabulary; unknown names are kept (lowercased). Null for a
 * framework name or an empty value.
 */
export function normalizeProvider(raw: string): string | null {
  let out = cache.get(raw);
  if (out === undefined) {
    out = normalizeUncached(raw.trim().toLowerCase());
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(raw, out);
  }
  return out;
}

/** The first key whose value names a provider (frameworks and empty values fall through), normalised. */
export function resolveProvider(a: Attributes): string | null {
  for (let i = 0; i < PROVIDER_KEYS.length; i++) {
    const v = a[PROVIDER_KEYS[i]!];
    if (v === undefined) continue;
    const s = asString(v);
    const p = s === null ? null : normalizeProvider(s);
    if (p !== null) return p;
  }
  const ls = metadataString(a, LS_PROVIDER);
  return ls === null ? null : normalizeProvider(ls);
}
