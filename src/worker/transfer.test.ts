/** Prepared requests survive the trip between threads as columns: every field and row byte, nulls included. */
import { describe, expect, it } from 'vitest';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { packPrepared, unpackPrepared, type PackedRequest } from './transfer.js';
import { prepareSpans } from '../sink/prepare.js';
import { node, span } from '../../test/helpers/spans.js';
import type { MappedSpan, NodeRecord } from '../mapping/types.js';
import type { PreparedRequest } from './prepare.js';

const m = (s: Parameters<typeof span>[0], n: NodeRecord | null, pipeline: MappedSpan['hints']['pipeline'], environment: string | null,
  sessionId: string | null = null, userId: string | null = null): MappedSpan =>
  ({ span: span(s), node: n, hints: { pipeline, environment, sessionId, userId } });

function request(): PreparedRequest {
  const t = 'aa'.repeat(16);
  const { items, buffers } = prepareSpans([
    m({ traceId: t, spanId: '1'.repeat(16), name: 'root', startUs: 1_700_000_000_000_001, endUs: 1_700_000_000_500_000, statusCode: 2,
      statusMessage: 'boom', serviceName: 'svc', tenantId: 'acme' }, node({ nodeType: 'AGENT', name: 'root', sessionId: 's', userId: 'u', input: '"plan a trip"' }),
    { rank: 1, value: 'research' }, 'prod', 'http-session', 'http-user'),
    m({ traceId: t, spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), name: 'chat', serviceName: null as never }, node({
      nodeType: 'LLM', name: 'chat', modelName: 'gpt-4o-mini', inputTokens: 0, outputTokens: 96, cacheReadTokens: null, cacheWriteTokens: 3,
      reasoningTokens: 2 ** 40, totalTokens: 99, totalCost: 0.000123,
    }), null, null),
    m({ traceId: 'bb'.repeat(16), spanId: '3'.repeat(16), name: 'GET /', statusMessage: '' }, null, { rank: 9, value: '' }, 'é'),
  ]);
  return { items, buffers, rejected: 2, errors: ['bad id', 'bad time'] };
}

describe('packPrepared / unpackPrepared', () => {
  it('round-trips every field and row, across a real message port with the buffers transferred', () => {
    const original = request();
    const expected = structuredClone(original.items); // copies before the buffers move
    const packed = packPrepared(original);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(packed, [...packed.buffers, packed.nums.buffer as ArrayBuffer, packed.refs.buffer as ArrayBuffer]);
    expect(original.buffers[0]!.byteLength).toBe(0); // transferred, not copied
    const received = receiveMessageOnPort(port2)!.message as PackedRequest;
    port1.close();
    const out = unpackPrepared(received);
    expect(out.rejected).toBe(2);
    expect(out.errors).toEqual(['bad id', 'bad time']);
    expect(out.items).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const { spanRow, nodeRow, ...rest } = out.items[i]!;
      const { spanRow: eSpan, nodeRow: eNode, ...eRest } = expected[i]!;
      expect(rest).toEqual(eRest);
      expect(Buffer.from(spanRow)).toEqual(Buffer.from(eSpan));
      expect(nodeRow === null ? null : Buffer.from(nodeRow)).toEqual(eNode === null ? null : Buffer.from(eNode));
    }
    expect(out.items[1]!.node!.cacheReadTokens).toBeNull();
    expect(out.items[1]!.node!.inputTokens).toBe(0);
    expect(out.items[2]!.node).toBeNull();
    // the root node's input crosses with it: the run's input (sql/029); the chat node's is not the run's
    expect(out.items.map((i) => i.node?.inputForRun)).toEqual(['"plan a trip"', null, undefined]);
    expect(out.items[2]!.hints).toEqual({ pipeline: { rank: 9, value: '' }, environment: 'é', sessionId: null, userId: null });
    expect(out.items[0]!.hints).toMatchObject({ sessionId: 'http-session', userId: 'http-user' });
  });

  it('sends a value repeated by the next span once, and still gives every span its own fields', () => {
    const t = 'cc'.repeat(16);
    const mk = (i: number, svc: string | null) => m({ traceId: i < 3 ? t : 'dd'.repeat(16), spanId: String(i).repeat(16), name: 'n', serviceName: svc as never },
      node({ nodeType: 'LLM', name: 'n', modelName: i === 1 ? 'b' : 'a' }), null, 'prod');
    const prepared = prepareSpans([mk(0, 'svc'), mk(1, 'svc'), mk(2, null), mk(3, 'svc'), mk(4, 'svc')]);
    const packed = packPrepared({ ...prepared, rejected: 0, errors: [] });
    // trace ids 2, span ids 5, names 1, service 2 (after the null), tenant 1, node type 1, model 3 (a b a), env 1,
    // resource key 1 and resource text 1 (the same resource)
    expect(packed.strs).toHaveLength(2 + 5 + 1 + 2 + 1 + 1 + 3 + 1 + 2);
    const out = unpackPrepared(packed).items;
    expect(new Set(out.map((x) => x.resource)).size).toBe(1); // one ref object: the writer's cache look-up is skipped per span
    expect(out.map((x) => x.span.traceId)).toEqual([t, t, t, 'dd'.repeat(16), 'dd'.repeat(16)]);
    expect(out.map((x) => x.span.serviceName)).toEqual(['svc', 'svc', null, 'svc', 'svc']);
    expect(out.map((x) => x.node!.modelName)).toEqual(['a', 'b', 'a', 'a', 'a']);
    expect(out.map((x) => x.hints.environment)).toEqual(['prod', 'prod', 'prod', 'prod', 'prod']);
  });

  it('refuses rows that do not live in the request buffers', () => {
    const r = request();
    r.items[0] = { ...r.items[0]!, spanRow: new Uint8Array(4) };
    expect(() => packPrepared(r)).toThrow(/outside the request buffers/);
  });
});
