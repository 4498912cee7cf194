/** The mapping's output: a node record and run hints per span (MappedSpan), as the sink encodes them. */
import type { ContentRefs } from './content.js';
import type { SpanRecord } from '../otlp/types.js';

/** Parts of a node's counts by modality: input (cache reads among them) and output; stored as nodes.modality_tokens. */
export const MODALITY_PARTS = ['audio_input', 'audio_cache_read', 'audio_output', 'image_input', 'image_cache_read', 'image_output'] as const;
export type ModalityPart = (typeof MODALITY_PARTS)[number];
export type ModalityTokens = Partial<Record<ModalityPart, number>>;

export const NODE_TYPES = [
  'LLM', 'EMBEDDING', 'TOOL', 'AGENT', 'CHAIN', 'RETRIEVER', 'RERANKER', 'GUARDRAIL', 'EVALUATOR',
] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export type CostSource = 'reported' | 'price_table';

/** One ledger node, derived from one GenAI span. Null fields are stored as SQL NULL. */
export interface NodeRecord {
  nodeType: NodeType;
  /** gen_ai.operation.name or the equivalent (chat, embeddings, execute_tool, ...) */
  operation: string | null;
  name: string;
  /** COMPLETED | FAILED (a node exists only once its span ended) */
  status: 'COMPLETED' | 'FAILED';
  errorType: string | null;
  errorMessage: string | null;
  provider: string | null;
  requestModel: string | null;
  responseModel: string | null;
  /** the model the node is priced and reported under (response model first) */
  modelName: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheWriteTokens: number | null;
  reasoningTokens: number | null;
  totalTokens: number | null;
  /**
   * Audio and image parts of the counts above, where the producer reports them (usage.ts MODALITY_KEYS):
   * priced at the model's audio and image rates (price-math.ts). Absent when none is reported.
   */
  modalityTokens?: ModalityTokens | null;
  /**
   * true when input_tokens (output_tokens) was raised to include cache (reasoning) tokens the reported count
   * evidently left out (usage.ts normalize); the cache / reasoning counts are as reported
   */
  usageNormalized: boolean;
  inputCost: number | null;
  outputCost: number | null;
  totalCost: number | null;
  costSource: CostSource | null;
  /** where a computed price came from: `genai-prices@<version>:<provider>/<model id>` or `prices-file@<hash>:<match>` */
  priceRef: string | null;
  temperature: number | null;
  topP: number | null;
  maxTokens: number | null;
  finishReasons: string[] | null;
  responseId: string | null;
  toolName: string | null;
  toolCallId: string | null;
  agentName: string | null;
  sessionId: string | null;
  userId: string | null;
  /** sha256 hex of the full (untruncated) input text */
  promptHash: string | null;
  /** JSON text (already truncated to the configured limit), or null */
  input: string | null;
  output: string | null;
  /**
   * 'span' when the span gives content of its own (attributes or GenAI span events): GenAI log records of
   * the span then leave the node's content alone; null: the node's content comes from its log records, if any
   */
  contentSource: 'span' | null;
  /** JSON text of the tool definitions offered to the model (gen_ai.tool.definitions, ...), truncated like input */
  toolDefinitions: string | null;
}

/** Run-level facts a span contributes; the sink folds them order-independently. */
export interface RunHints {
  /** pipeline candidate: lower rank wins, ties broken by the smaller value */
  pipeline: { rank: number; value: string } | null;
  environment: string | null;
  /** session / user of the span (any span, GenAI or not); the run keeps the smallest, as for node values */
  sessionId: string | null;
  userId: string | null;
}

export interface MappedSpan {
  span: SpanRecord;
  node: NodeRecord | null;
  hints: RunHints;
  /** span attributes the node's content may reference instead of a copy (sql/015; absent: none) */
  refs?: ContentRefs | null;
}

export interface MappingOptions {
  /** max characters kept of input/output content (the hash covers the full text) */
  maxContentChars: number;
  /** record prompt/completion content at all */
  captureContent: boolean;
}
