/**
 * Model id normalisation: the id a node is reported under (model_name) without the routing syntax around
 * it (Vertex resource paths, `vendor/model` gateway ids, Bedrock ARNs, region and vendor prefixes), so
 * per-model rollups group one model's calls together. The raw ids stay in request_model / response_model,
 * and pricing tries the raw id first (Bedrock prices regional ids above global ones).
 */

/**
 * Bedrock ids: `[region.]vendor.model[-vN][:M]`, e.g. `us.anthropic.claude-3-5-sonnet-20241022-v2:0`,
 * `meta.llama3-3-70b-instruct-v1:0`, `amazon.nova-pro-v1:0`, `openai.gpt-oss-120b-1:0`.
 */
const BEDROCK = /^(?:(?:us|eu|apac|au|jp|ca|in|us-gov|global|regional)\.)?(?:anthropic|meta|mistral|amazon|cohere|ai21|deepseek|openai|qwen|writer|google|nvidia|moonshotai|minimax|twelvelabs|stability)\.(?=[a-z0-9])/i;
/** Bedrock's version suffix: `-v2:0`, `-1:0`, `:0` (only stripped after a Bedrock prefix). */
const BEDROCK_VERSION = /(?:-v?\d+)?:\d+$|-v\d+$/;
/** An ARN's resource part: `arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-…`. */
const ARN = /^arn:aws[\w-]*:bedrock:[^:]*:[^:]*:[\w-]+\//i;

export interface ModelIdParts {
  /** the id without routing syntax (what model_name holds) */
  id: string;
  /** the gateway or path vendor segment (`openai` of `openai/gpt-4o`, `anthropic` of a Vertex publisher path), or null */
  vendor: string | null;
}

/** The last path segment, and the segment naming its vendor (`publishers/<vendor>/models/…` or `<vendor>/…`). */
function splitPath(raw: string): ModelIdParts {
  const slash = raw.lastIndexOf('/');
  if (slash < 0) return { id: raw, vendor: null };
  const segs = raw.split('/');
  const last = segs[segs.length - 1]!;
  // A Vertex endpoint (`projects/…/endpoints/123`) names a deployment, not a model: kept whole.
  if (last === '' || segs[segs.length - 2] === 'endpoints') return { id: raw, vendor: null };
  const pub = segs.indexOf('publishers');
  if (pub >= 0 && pub + 1 < segs.length - 1) return { id: last, vendor: segs[pub + 1]!.toLowerCase() };
  if (segs[segs.length - 2] === 'models') {
    // `models/gemini-2.5-pro` (Gemini API), `accounts/fireworks/models/…`, `projects/…/models/…`
    return { id: last, vendor: segs[0] === 'accounts' && segs.length > 2 ? segs[1]!.toLowerCase() : null };
  }
  // `vendor/model` (OpenRouter, LiteLLM, Hugging Face); `openrouter/vendor/model` names the gateway first.
  return { id: last, vendor: segs[segs.length - 2]!.toLowerCase() };
}

/** The Bedrock model id without its region/vendor prefix and version suffix, or null when `id` is not one. */
export function bedrockBareId(id: string): string | null {
  const m = BEDROCK.exec(id);
  if (m === null) return null;
  const rest = id.slice(m[0].length);
  const bare = rest.replace(BEDROCK_VERSION, '');
  // A version is the model's name when nothing else in it is numbered: `claude-v2`, `titan-text-express-v1`.
  return /\d/.test(bare) ? bare : rest.replace(/:\d+$/, '');
}

const cache = new Map<string, ModelIdParts>();
const CACHE_LIMIT = 4096;

function partsUncached(raw: string): ModelIdParts {
  const trimmed = raw.trim();
  const arn = ARN.exec(trimmed);
  const p = splitPath(arn === null ? trimmed : trimmed.slice(arn[0].length));
  const bare = bedrockBareId(p.id);
  return bare === null ? p : { id: bare, vendor: p.vendor };
}

/** The id and vendor hint of a raw model value (memoised: a gateway sees few distinct model values). */
export function modelIdParts(raw: string): ModelIdParts {
  let p = cache.get(raw);
  if (p === undefined) {
    p = partsUncached(raw);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(raw, p);
  }
  return p;
}

/** model_name: the normalised id, or null for a value that is blank once normalised. */
export function normalizeModelId(raw: string | null): string | null {
  if (raw === null) return null;
  const id = modelIdParts(raw).id;
  return id === '' ? null : id;
}

/**
 * The ids to look a price up by, most specific first: the raw id (trimmed; Bedrock and Fireworks price by
 * it), the id after an ARN or path, and the bare id (no Bedrock prefix/suffix). Distinct values only.
 */
export function priceCandidates(raw: string): string[] {
  const trimmed = raw.trim();
  if (trimmed === '') return [];
  const out = [trimmed];
  const arn = ARN.exec(trimmed);
  const tail = splitPath(arn === null ? trimmed : trimmed.slice(arn[0].length)).id;
  if (!out.includes(tail)) out.push(tail);
  const bare = modelIdParts(raw).id;
  if (!out.includes(bare)) out.push(bare);
  return out;
}

/** A snapshot or alias suffix: `-latest`, `-2024-08-06`, `-20241022`, `-2409` (YYMM), `-002`, `@20241022`. */
const SNAPSHOT = /(?:-latest|-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4}|-\d{3}|@[\w.-]+)$/i;

/**
 * The model family ids of price candidates whose snapshot or alias suffix the price source may not list
 * (`ministral-3b-latest` → `ministral-3b`, `pixtral-12b-2409` → `pixtral-12b`): the last resort of a lookup.
 */
export function familyCandidates(candidates: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of candidates) {
    const f = c.replace(SNAPSHOT, '');
    if (f !== c && f !== '' && !candidates.includes(f) && !out.includes(f)) out.push(f);
  }
  return out;
}
