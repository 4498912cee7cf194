/**
 * A prepared request as it crosses from a prepare worker to the main thread: columns instead of
 * objects. Structured cloning 512 nested objects (and 1,000 typed-array views) cost ~2.9 µs per span;
 * one array of the distinct strings, an Int32Array referencing them, one Float64Array and the row
 * buffers (all transferred) cost ~0.5 µs.
 */
import type { PreparedSpan } from '../sink/prepare.js';
import type { PreparedRequest } from './prepare.js';

/**
 * The string fields of a span, in the order of its STRS refs (a const enum: tsc and esbuild write the
 * numbers in, so naming them costs nothing per span).
 */
const enum S {
  traceId, spanId, parentSpanId, name, statusMessage, serviceName, tenantId, nodeType, modelName, nodeSessionId,
  nodeUserId, pipeline, environment, hintSessionId, hintUserId, agentName, inputForRun, resourceHash, resourceJson,
}
/** Strings per span. */
const STRS = S.resourceJson + 1;
/** The number fields of a span, in the order of its NUMS numbers. NaN stands for null. */
const enum N {
  startUs, endUs, statusCode, hasNode, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, reasoningTokens,
  totalTokens, totalCost, pipelineRank, spanBuffer, spanOffset, spanLength, nodeBuffer, nodeOffset, nodeLength, flags,
}
/** Numbers per span: times, status, node usage, pipeline rank, row locations, node flags. */
const NUMS = N.flags + 1;
/** Node flags (one number): the node FAILED, stores input, stores output. */
const FAILED = 1;
const HAS_INPUT = 2;
const HAS_OUTPUT = 4;

export interface PackedRequest {
  n: number;
  /** the distinct field values, referenced by refs */
  strs: string[];
  /** per span and string field, the index of its value in strs; -1 for null */
  refs: Int32Array;
  nums: Float64Array;
  /** the row buffers, transferred */
  buffers: ArrayBuffer[];
  rejected: number;
  errors: string[];
  adjusted: number;
  warnings: string[];
}

const num = (v: number | null | undefined) => (v === null || v === undefined ? NaN : v);
const orNull = (v: number) => (Number.isNaN(v) ? null : v);

export function packPrepared(r: PreparedRequest): PackedRequest {
  const n = r.items.length;
  // A value equal to the same field of the span before is sent once: spans of a run share their trace id,
  // and most share their service, tenant, node type, model, pipeline and environment. Fewer strings to
  // serialise here and to hash on the main thread (one string per run id there, not one per span).
  const strs: string[] = [];
  const refs = new Int32Array(n * STRS);
  const last = new Array<string | null>(STRS).fill(null);
  const lastRef = new Int32Array(STRS).fill(-1);
  const put = (k: number, f: number, v: string | null) => {
    if (v === null) refs[k] = -1;
    else if (v === last[f]) refs[k] = lastRef[f]!;
    else {
      last[f] = v;
      refs[k] = lastRef[f] = strs.push(v) - 1;
    }
  };
  const nums = new Float64Array(n * NUMS);
  const bufferIndex = (row: Uint8Array) => {
    const i = r.buffers.indexOf(row.buffer as ArrayBuffer);
    if (i < 0) throw new Error('prepared row outside the request buffers');
    return i;
  };
  for (let i = 0; i < n; i++) {
    const m = r.items[i]!;
    const s = m.span;
    const d = m.node;
    const p = m.hints.pipeline;
    const k = i * STRS;
    put(k + S.traceId, S.traceId, s.traceId); put(k + S.spanId, S.spanId, s.spanId);
    put(k + S.parentSpanId, S.parentSpanId, s.parentSpanId); put(k + S.name, S.name, s.name);
    put(k + S.statusMessage, S.statusMessage, s.statusMessage); put(k + S.serviceName, S.serviceName, s.serviceName);
    put(k + S.tenantId, S.tenantId, s.tenantId);
    put(k + S.nodeType, S.nodeType, d?.nodeType ?? null); put(k + S.modelName, S.modelName, d?.modelName ?? null);
    put(k + S.nodeSessionId, S.nodeSessionId, d?.sessionId ?? null); put(k + S.nodeUserId, S.nodeUserId, d?.userId ?? null);
    put(k + S.pipeline, S.pipeline, p?.value ?? null); put(k + S.environment, S.environment, m.hints.environment);
    put(k + S.hintSessionId, S.hintSessionId, m.hints.sessionId); put(k + S.hintUserId, S.hintUserId, m.hints.userId);
    put(k + S.agentName, S.agentName, d?.agentName ?? null);
    put(k + S.inputForRun, S.inputForRun, d?.inputForRun ?? null);
    // a request's spans come grouped by ResourceSpans: the resource text crosses once per group
    put(k + S.resourceHash, S.resourceHash, m.resource.hash); put(k + S.resourceJson, S.resourceJson, m.resource.json);
    const j = i * NUMS;
    nums[j + N.startUs] = s.startUs; nums[j + N.endUs] = s.endUs; nums[j + N.statusCode] = s.statusCode;
    nums[j + N.hasNode] = d === null ? 0 : 1;
    nums[j + N.inputTokens] = num(d?.inputTokens); nums[j + N.outputTokens] = num(d?.outputTokens);
    nums[j + N.cacheReadTokens] = num(d?.cacheReadTokens); nums[j + N.cacheWriteTokens] = num(d?.cacheWriteTokens);
    nums[j + N.reasoningTokens] = num(d?.reasoningTokens); nums[j + N.totalTokens] = num(d?.totalTokens);
    nums[j + N.totalCost] = num(d?.totalCost); nums[j + N.pipelineRank] = p === null ? NaN : p.rank;
    nums[j + N.spanBuffer] = bufferIndex(m.spanRow); nums[j + N.spanOffset] = m.spanRow.byteOffset;
    nums[j + N.spanLength] = m.spanRow.byteLength;
    if (m.nodeRow === null) {
      nums[j + N.nodeBuffer] = NaN; nums[j + N.nodeOffset] = 0; nums[j + N.nodeLength] = 0;
    } else {
      nums[j + N.nodeBuffer] = bufferIndex(m.nodeRow); nums[j + N.nodeOffset] = m.nodeRow.byteOffset;
      nums[j + N.nodeLength] = m.nodeRow.byteLength;
    }
    nums[j + N.flags] = d === null ? 0 : (d.status === 'FAILED' ? FAILED : 0) | (d.hasInput ? HAS_INPUT : 0) | (d.hasOutput ? HAS_OUTPUT : 0);
  }
  return { n, strs, refs, nums, buffers: r.buffers, rejected: r.rejected, errors: r.errors, adjusted: r.adjusted, warnings: r.warnings };
}

export function unpackPrepared(p: PackedRequest): PreparedRequest {
  const { n, strs, refs, nums, buffers } = p;
  const items = new Array<PreparedSpan>(n);
  const str = (k: number) => { const r = refs[k]!; return r < 0 ? null : strs[r]!; };
  let resource: PreparedSpan['resource'] | null = null;
  let resourceAt = -1;
  for (let i = 0; i < n; i++) {
    const k = i * STRS;
    if (refs[k + S.resourceJson] !== resourceAt || resource === null) { // one ref object per group, as the worker had
      resourceAt = refs[k + S.resourceJson]!;
      resource = { hash: str(k + S.resourceHash)!, json: str(k + S.resourceJson)! };
    }
    const j = i * NUMS;
    const hasNode = nums[j + N.hasNode] === 1;
    const rank = nums[j + N.pipelineRank]!;
    items[i] = {
      span: {
        traceId: str(k + S.traceId)!, spanId: str(k + S.spanId)!, parentSpanId: str(k + S.parentSpanId)!, name: str(k + S.name)!,
        startUs: nums[j + N.startUs]!, endUs: nums[j + N.endUs]!, statusCode: nums[j + N.statusCode]!,
        statusMessage: str(k + S.statusMessage)!, serviceName: str(k + S.serviceName)!, tenantId: str(k + S.tenantId)!,
      },
      node: !hasNode ? null : {
        nodeType: str(k + S.nodeType)! as NonNullable<PreparedSpan['node']>['nodeType'], modelName: str(k + S.modelName)!,
        sessionId: str(k + S.nodeSessionId)!, userId: str(k + S.nodeUserId)!,
        inputTokens: orNull(nums[j + N.inputTokens]!), outputTokens: orNull(nums[j + N.outputTokens]!),
        cacheReadTokens: orNull(nums[j + N.cacheReadTokens]!), cacheWriteTokens: orNull(nums[j + N.cacheWriteTokens]!),
        reasoningTokens: orNull(nums[j + N.reasoningTokens]!), totalTokens: orNull(nums[j + N.totalTokens]!),
        totalCost: orNull(nums[j + N.totalCost]!), agentName: str(k + S.agentName)!,
        status: (nums[j + N.flags]! & FAILED) !== 0 ? 'FAILED' : 'COMPLETED',
        hasInput: (nums[j + N.flags]! & HAS_INPUT) !== 0, hasOutput: (nums[j + N.flags]! & HAS_OUTPUT) !== 0,
        inputForRun: str(k + S.inputForRun),
      },
      hints: {
        pipeline: Number.isNaN(rank) ? null : { rank, value: str(k + S.pipeline)! }, environment: str(k + S.environment)!,
        sessionId: str(k + S.hintSessionId)!, userId: str(k + S.hintUserId)!,
      },
      spanRow: new Uint8Array(buffers[nums[j + N.spanBuffer]!]!, nums[j + N.spanOffset]!, nums[j + N.spanLength]!),
      nodeRow: Number.isNaN(nums[j + N.nodeBuffer]!) ? null
        : new Uint8Array(buffers[nums[j + N.nodeBuffer]!]!, nums[j + N.nodeOffset]!, nums[j + N.nodeLength]!),
      resource,
    };
  }
  return { items, buffers, rejected: p.rejected, errors: p.errors, adjusted: p.adjusted, warnings: p.warnings };
}

