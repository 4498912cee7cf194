/**
 * A prepared request as it crosses from a prepare worker to the main thread: columns instead of
 * objects. Structured cloning 512 nested objects (and 1,000 typed-array views) cost ~2.9 µs per span;
 * one array of the distinct strings, an Int32Array referencing them, one Float64Array and the row
 * buffers (all transferred) cost ~0.5 µs.
 */
import type { PreparedSpan } from '../sink/prepare.js';
import type { PreparedRequest } from './prepare.js';

/** Strings per span: span ids, texts, node texts, run hints. */
const STRS = 16;
/** Numbers per span: times, status, node usage, pipeline rank, row locations, node flags. NaN stands for null. */
const NUMS = 19;
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
    put(k, 0, s.traceId); put(k + 1, 1, s.spanId); put(k + 2, 2, s.parentSpanId); put(k + 3, 3, s.name);
    put(k + 4, 4, s.statusMessage); put(k + 5, 5, s.serviceName); put(k + 6, 6, s.tenantId);
    put(k + 7, 7, d?.nodeType ?? null); put(k + 8, 8, d?.modelName ?? null); put(k + 9, 9, d?.sessionId ?? null);
    put(k + 10, 10, d?.userId ?? null); put(k + 11, 11, p?.value ?? null); put(k + 12, 12, m.hints.environment);
    put(k + 13, 13, m.hints.sessionId); put(k + 14, 14, m.hints.userId); put(k + 15, 15, d?.agentName ?? null);
    let j = i * NUMS;
    nums[j++] = s.startUs; nums[j++] = s.endUs; nums[j++] = s.statusCode; nums[j++] = d === null ? 0 : 1;
    nums[j++] = num(d?.inputTokens); nums[j++] = num(d?.outputTokens); nums[j++] = num(d?.cacheReadTokens);
    nums[j++] = num(d?.cacheWriteTokens); nums[j++] = num(d?.reasoningTokens); nums[j++] = num(d?.totalTokens);
    nums[j++] = num(d?.totalCost); nums[j++] = p === null ? NaN : p.rank;
    nums[j++] = bufferIndex(m.spanRow); nums[j++] = m.spanRow.byteOffset; nums[j++] = m.spanRow.byteLength;
    if (m.nodeRow === null) {
      nums[j++] = NaN; nums[j++] = 0; nums[j++] = 0;
    } else {
      nums[j++] = bufferIndex(m.nodeRow); nums[j++] = m.nodeRow.byteOffset; nums[j++] = m.nodeRow.byteLength;
    }
    nums[j] = d === null ? 0 : (d.status === 'FAILED' ? FAILED : 0) | (d.hasInput ? HAS_INPUT : 0) | (d.hasOutput ? HAS_OUTPUT : 0);
  }
  return { n, strs, refs, nums, buffers: r.buffers, rejected: r.rejected, errors: r.errors };
}

export function unpackPrepared(p: PackedRequest): PreparedRequest {
  const { n, strs, refs, nums, buffers } = p;
  const items = new Array<PreparedSpan>(n);
  const str = (k: number) => { const r = refs[k]!; return r < 0 ? null : strs[r]!; };
  for (let i = 0; i < n; i++) {
    const k = i * STRS;
    const j = i * NUMS;
    const hasNode = nums[j + 3] === 1;
    const rank = nums[j + 11]!;
    items[i] = {
      span: {
        traceId: str(k)!, spanId: str(k + 1)!, parentSpanId: str(k + 2)!, name: str(k + 3)!, startUs: nums[j]!,
        endUs: nums[j + 1]!, statusCode: nums[j + 2]!, statusMessage: str(k + 4)!, serviceName: str(k + 5)!,
        tenantId: str(k + 6)!,
      },
      node: !hasNode ? null : {
        nodeType: str(k + 7)! as NonNullable<PreparedSpan['node']>['nodeType'], modelName: str(k + 8)!,
        sessionId: str(k + 9)!, userId: str(k + 10)!,
        inputTokens: orNull(nums[j + 4]!), outputTokens: orNull(nums[j + 5]!), cacheReadTokens: orNull(nums[j + 6]!),
        cacheWriteTokens: orNull(nums[j + 7]!), reasoningTokens: orNull(nums[j + 8]!), totalTokens: orNull(nums[j + 9]!),
        totalCost: orNull(nums[j + 10]!), agentName: str(k + 15)!,
        status: (nums[j + 18]! & FAILED) !== 0 ? 'FAILED' : 'COMPLETED',
        hasInput: (nums[j + 18]! & HAS_INPUT) !== 0, hasOutput: (nums[j + 18]! & HAS_OUTPUT) !== 0,
      },
      hints: {
        pipeline: Number.isNaN(rank) ? null : { rank, value: str(k + 11)! }, environment: str(k + 12)!,
        sessionId: str(k + 13)!, userId: str(k + 14)!,
      },
      spanRow: new Uint8Array(buffers[nums[j + 12]!]!, nums[j + 13]!, nums[j + 14]!),
      nodeRow: Number.isNaN(nums[j + 15]!) ? null : new Uint8Array(buffers[nums[j + 15]!]!, nums[j + 16]!, nums[j + 17]!),
    };
  }
  return { items, buffers, rejected: p.rejected, errors: p.errors };
}

