/**
 * Bad input never hurts the gateway (issue 3). Against a running gateway, over OTLP/HTTP (protobuf and
 * JSON) and OTLP/gRPC: random bytes, truncated and bit-flipped requests, random JSON and JSON with wrong
 * types, compression bombs, and hostile but well-formed requests (100k attributes, deep nesting, huge
 * strings, invalid UTF-8, NUL bytes, lone surrogates, extreme numbers, duplicate ids, huge traces).
 *
 * Every answer must be a 4xx (400/413/415; gRPC INVALID_ARGUMENT/RESOURCE_EXHAUSTED) with a
 * google.rpc.Status body, or 200/OK whose partial_success counts exactly the spans not stored; never a
 * 5xx, a hang or a crash. Valid requests are interleaved with the garbage; at the end every span of every
 * acknowledged request must be in runledger.spans, and the gateway must still serve a normal request.
 *
 * Reproducible: the seed is printed; FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts replays a run.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import {
  type Ack, type Enc, type Json, type Outcome, BadAnswer, GrpcSender, Rng, deepProtoRequest, expectedAck, flipBits,
  fuzzSeed, gzipBomb, patchBytes, plainSpans, randomJson, randomOtlpJson, richRequest, runPool, sendHttp, toProto,
  wrongTypes, zstdDeclaredFrame, zstdRleFrame, zstdTinyBlocksFrame,
} from './helpers/fuzz.js';
import { DEPTH_LIMIT_VALUE, MAX_ATTR_DEPTH } from '../src/otlp/values.js';
import { decompress } from '../src/receiver/decompress.js';
import { snappyEncodeBlock, snappyEncodeFramed } from './helpers/snappy.js';

const SEED = fuzzSeed();
const LIMIT = 24 * 1024 * 1024; // body limit (after decompression); "several MB" strings fit under it
const CONCURRENCY = 8;

let gw: TestGateway;
let grpcSender: GrpcSender;
const acks: Ack[] = [];
const answers = { http: new Map<number, number>(), grpc: new Map<number, number>() };

function hasZstdCli(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const ZSTD_CLI = hasZstdCli();
const LZ4_CLI = (() => { try { execFileSync('lz4', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();

beforeAll(async () => {
  console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  gw = await startTestGateway({ maxBodyBytes: LIMIT });
  grpcSender = new GrpcSender(gw.grpcAddress);
});
afterAll(async () => {
  grpcSender?.close();
  await gw?.close();
});
beforeEach((ctx) => {
  ctx.onTestFailed(() => console.error(`fuzz test "${ctx.task.name}" failed with seed ${SEED}: replay with FUZZ_SEED=${SEED}`));
});

const rngFor = (name: string) => {
  let h = SEED;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x9e3779b1) >>> 0;
  return new Rng(h);
};

function count(o: Outcome): void {
  const m = answers[o.transport];
  m.set(o.status, (m.get(o.status) ?? 0) + 1);
}

/**
 * Send `body` (in its wire form: maybe compressed) and check the answer; for an acknowledged request
 * record what it promised (decoding the body, decompressed by the gateway's own decompress()).
 */
async function send(label: string, transport: 'http' | 'grpc', body: Uint8Array | string, enc: Enc,
  opts: { headers?: Record<string, string>; grpc?: grpc.ChannelOptions } = {}): Promise<Outcome> {
  let out: Outcome;
  try {
    out = transport === 'http'
      ? await sendHttp(gw.httpUrl, body, enc, opts.headers)
      : await grpcSender.send(typeof body === 'string' ? Buffer.from(body) : body, opts.grpc);
  } catch (e) {
    if (e instanceof BadAnswer) throw new BadAnswer(`[seed ${SEED}] ${label} (${transport}/${enc}): ${e.message}`);
    throw e;
  }
  count(out);
  if (out.ok) {
    const encoding = opts.headers?.['content-encoding'];
    const plain = encoding ? await decompress(typeof body === 'string' ? Buffer.from(body) : body, encoding, LIMIT) : body;
    const ack = expectedAck(label, plain, enc, out.rejected);
    if (out.rejected < ack.decodeRejected) {
      throw new BadAnswer(`[seed ${SEED}] ${label}: ${out.rejected} rejected but ${ack.decodeRejected} spans are undecodable`);
    }
    acks.push(ack);
  }
  return out;
}

/** A valid request interleaved with the garbage: must be acknowledged in full. */
async function sendValid(r: Rng, label: string): Promise<void> {
  const doc = richRequest(r, r.range(1, 6));
  const transport = r.pick(['http', 'http', 'grpc'] as const);
  const enc: Enc = transport === 'grpc' ? 'proto' : r.pick(['proto', 'json'] as const);
  const body = enc === 'proto' ? toProto(doc) : JSON.stringify(doc);
  const out = await send(`${label} (valid)`, transport, body, enc);
  expect(out.ok && out.rejected === 0, `[seed ${SEED}] valid request ${label}: ${JSON.stringify(out)}`).toBe(true);
}

/** Garbage tasks with a valid request every `every` tasks. */
function interleave(r: Rng, label: string, garbage: (() => Promise<unknown>)[], every = 8): (() => Promise<void>)[] {
  const tasks: (() => Promise<void>)[] = [];
  garbage.forEach((g, i) => {
    tasks.push(async () => { await g(); });
    if (i % every === every - 1) {
      const vr = new Rng(r.int(0x100000000));
      tasks.push(() => sendValid(vr, `${label} #${i}`));
    }
  });
  return tasks;
}

const q = (sql: string, params: unknown[] = []) => gw.db.pool.query(sql, params);
/** A span as stored, its resource included (sql/014: spans reference it; raw_spans gives it back). */
const spanRow = async (traceId: string, spanId: string) =>
  (await q('SELECT * FROM runledger.raw_spans WHERE trace_id = $1 AND span_id = $2', [traceId, spanId])).rows[0];
const storedCount = async (traceId: string) =>
  (await q('SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1', [traceId])).rows[0].n as number;

function expectAck(out: Outcome, rejected: number, label: string): void {
  expect(out.ok, `[seed ${SEED}] ${label}: ${JSON.stringify(out)}`).toBe(true);
  expect(out.rejected, `[seed ${SEED}] ${label}: ${out.message}`).toBe(rejected);
}

const kv = (key: string, value: Json) => ({ key, value });
/** String.prototype.toWellFormed (ES2024): lone surrogates → U+FFFD. */
const wellFormed = (s: string): string => (s as unknown as { toWellFormed(): string }).toWellFormed();
const str = (s: string) => ({ stringValue: s });

describe(`fuzz (seed ${SEED})`, () => {
  it('random bytes bodies: 4xx or acknowledged, over HTTP (protobuf, JSON, compressed) and gRPC', async () => {
    const r = rngFor('random-bytes');
    const garbage = Array.from({ length: 360 }, (_, i) => {
      const size = r.logSize(64 * 1024);
      let plain: Uint8Array = r.bytes(size);
      if (r.bool(0.25) && size > 2) plain[0] = 0x0a; // looks like resource_spans
      if (r.bool(0.1)) plain = Buffer.concat([Buffer.from('{"resourceSpans":['), plain]);
      const transport = r.pick(['http', 'http', 'grpc'] as const);
      const enc: Enc = transport === 'grpc' ? 'proto' : r.pick(['proto', 'json'] as const);
      const wrap = transport === 'grpc' ? 'none' : r.pick(['none', 'none', 'none', 'gzip', 'gzip-header', 'deflate', 'zstd-header', 'br'] as const);
      let body: Uint8Array = plain;
      const headers: Record<string, string> = {};
      if (wrap === 'gzip') { body = zlib.gzipSync(plain); headers['content-encoding'] = 'gzip'; }
      if (wrap === 'gzip-header') headers['content-encoding'] = 'gzip';
      if (wrap === 'deflate') headers['content-encoding'] = 'deflate';
      if (wrap === 'zstd-header') { body = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), plain]); headers['content-encoding'] = 'zstd'; }
      if (wrap === 'br') headers['content-encoding'] = 'br';
      return () => send(`random bytes #${i} (${size} B, ${wrap})`, transport, body, enc, { headers });
    });
    await runPool(interleave(r, 'random bytes', garbage), CONCURRENCY);
  });

  it('truncated valid protobuf (and JSON) requests at every N-th byte boundary', async () => {
    const r = rngFor('truncated');
    const proto = toProto(richRequest(r, 14));
    const json = JSON.stringify(richRequest(r, 6));
    const garbage: (() => Promise<Outcome>)[] = [];
    const step = Math.max(1, Math.floor(proto.length / 200));
    for (let cut = 0, i = 0; cut < proto.length; cut += step, i++) {
      const body = proto.subarray(0, cut);
      garbage.push(() => send(`proto cut at ${cut}/${proto.length}`, i % 3 === 2 ? 'grpc' : 'http', body, 'proto'));
    }
    const jstep = Math.max(1, Math.floor(json.length / 80));
    for (let cut = 0; cut < json.length; cut += jstep) {
      garbage.push(() => send(`JSON cut at ${cut}/${json.length}`, 'http', json.slice(0, cut), 'json'));
    }
    expect(garbage.length).toBeGreaterThan(250);
    await runPool(interleave(r, 'truncated', garbage), CONCURRENCY);
  });

  it('bit-flipped valid requests', async () => {
    const r = rngFor('bitflip');
    const garbage: (() => Promise<Outcome>)[] = [];
    for (let i = 0; i < 300; i++) {
      const base = toProto(richRequest(r, r.range(1, 8)));
      const body = flipBits(r, base, r.range(1, 8));
      garbage.push(() => send(`proto bit flips #${i}`, i % 3 === 2 ? 'grpc' : 'http', body, 'proto'));
    }
    for (let i = 0; i < 120; i++) {
      const body = flipBits(r, Buffer.from(JSON.stringify(richRequest(r, r.range(1, 4)))), r.range(1, 6));
      garbage.push(() => send(`JSON bit flips #${i}`, 'http', body, 'json'));
    }
    // compressed bodies with flipped bits: the decompressors see corrupt streams (gzip always, zstd via the CLI)
    for (let k = 0; k < 4; k++) {
      const plain = toProto(richRequest(r, r.range(4, 12)));
      const packed: [string, Uint8Array][] = [['gzip', zlib.gzipSync(plain)], ['snappy', snappyEncodeBlock(plain)], ['x-snappy-framed', snappyEncodeFramed(plain)]];
      if (LZ4_CLI) packed.push(['lz4', execFileSync('lz4', ['-q', '-c', ...(k % 2 ? ['--content-size', '-BX'] : [])], { input: plain })]);
      if (ZSTD_CLI) packed.push(['zstd', execFileSync('zstd', ['-q', '-c', ...(k % 2 ? [`--stream-size=${plain.length}`] : [])], { input: plain })]);
      for (const [encoding, z] of packed) {
        for (let i = 0; i < 30; i++) {
          const body = flipBits(r, z, r.range(1, 4));
          garbage.push(() => send(`${encoding} bit flips #${k}.${i}`, 'http', body, 'proto', { headers: { 'content-encoding': encoding } }));
        }
      }
    }
    await runPool(interleave(r, 'bit flips', garbage), CONCURRENCY);
  });

  it('random JSON documents and OTLP/JSON with values of the wrong type', async () => {
    const r = rngFor('json');
    const garbage: (() => Promise<Outcome>)[] = [];
    for (let i = 0; i < 120; i++) {
      const body = JSON.stringify(randomJson(r, 5));
      garbage.push(() => send(`random JSON #${i}`, 'http', body, 'json'));
    }
    for (let i = 0; i < 150; i++) {
      const body = JSON.stringify(randomOtlpJson(r));
      garbage.push(() => send(`random OTLP-shaped JSON #${i}`, 'http', body, 'json'));
    }
    for (let i = 0; i < 250; i++) {
      const doc = wrongTypes(r, richRequest(r, r.range(1, 4)));
      const body = JSON.stringify(doc);
      // the same document over protobuf, where the converter can express it
      let proto: Uint8Array | null = null;
      try { proto = toProto(doc); } catch { /* not expressible in protobuf */ }
      garbage.push(() => send(`wrong types #${i}`, 'http', body, 'json'));
      if (proto && i % 2 === 0) garbage.push(() => send(`wrong types #${i} as protobuf`, i % 4 === 0 ? 'grpc' : 'http', proto!, 'proto'));
    }
    // Literals JSON.stringify never writes: numbers beyond double and int64 range, -0, exponents.
    const traceId = r.id(16);
    const literals = ['1e400', '-1e400', '-0', '123456789012345678901234567890', '9223372036854775807', '-9223372036854775809', '1.5', '0.0e0', '1E2', 'true', '"1e3"'];
    for (const lit of literals) {
      for (const field of ['intValue', 'doubleValue']) {
        const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${traceId}","spanId":"${r.id(8)}","name":"n","startTimeUnixNano":${lit},"endTimeUnixNano":"1","kind":${lit},"attributes":[{"key":"a","value":{"${field}":${lit}}}],"status":{"code":${lit}}}]}]}]}`;
        garbage.push(() => send(`JSON literal ${lit} as ${field}`, 'http', body, 'json'));
      }
    }
    await runPool(interleave(r, 'JSON', garbage), CONCURRENCY);
  });

  describe('compression bombs answer 413 quickly', () => {
    const expect413 = async (label: string, body: Uint8Array, enc: string, maxMs = 5000) => {
      const out = await send(label, 'http', body, 'proto', { headers: { 'content-encoding': enc } });
      expect(out.status, `${label}: ${out.message}`).toBe(413);
      expect(out.message).toMatch(/exceed/);
      expect(out.ms, `${label} took ${out.ms} ms`).toBeLessThan(maxMs);
    };

    it('gzip and deflate (zlib and raw) bombs', async () => {
      const bomb = gzipBomb(LIMIT * 4);
      expect(bomb.length).toBeLessThan(LIMIT / 100); // small on the wire, 4x the limit inflated
      await expect413('gzip bomb', bomb, 'gzip');
      await expect413('deflate bomb', zlib.deflateSync(Buffer.alloc(LIMIT * 2), { level: 9 }), 'deflate');
      await expect413('raw deflate bomb', zlib.deflateRawSync(Buffer.alloc(LIMIT * 2), { level: 9 }), 'deflate');
    });

    it('gzip bomb inside a gRPC message (grpc-encoding: gzip)', async () => {
      const out = await send('gRPC gzip bomb', 'grpc', Buffer.alloc(LIMIT * 2), 'proto', { grpc: { 'grpc.default_compression_algorithm': 2 } });
      expect(out.status).toBe(grpc.status.RESOURCE_EXHAUSTED);
    });

    it('zstd bombs crafted by hand: plain, with a 1.9 GB window, declaring 1 TB', async () => {
      // 4x the limit in RLE blocks, default 2 MiB window: ~2 KB on the wire
      await expect413('zstd RLE bomb', zstdRleFrame(LIMIT * 4, 0x58), 'zstd');
      // the same, declaring the largest window fzstd accepts (1.875 GiB): must not allocate or copy it
      const before = process.memoryUsage().rss;
      await expect413('zstd bomb with a 1.9 GB window', zstdRleFrame(LIMIT * 4, 0xa7), 'zstd', 3000);
      expect(process.memoryUsage().rss - before).toBeLessThan(1024 * 1024 * 1024);
      // a content size beyond the limit declared up front
      await expect413('zstd frame declaring 1 TB', zstdDeclaredFrame(1n << 40n, 1024), 'zstd', 1000);
    });

    it('zstd frame of one-byte blocks (work per block must not scale with the window)', async () => {
      // 256k blocks of 1 byte in a 1 MiB body under an 8 MiB window
      const body = zstdTinyBlocksFrame(256 * 1024, 0x68);
      const out = await send('zstd one-byte blocks', 'http', body, 'proto', { headers: { 'content-encoding': 'zstd' } });
      expect(out.ms, `took ${out.ms} ms (${out.status} ${out.message})`).toBeLessThan(3000);
    });

    it('zstd frame whose declared content size is smaller than its content', async () => {
      const out = await send('zstd lying content size', 'http', zstdDeclaredFrame(1000n, LIMIT * 2), 'proto', { headers: { 'content-encoding': 'zstd' } });
      expect(out.ms).toBeLessThan(3000);
      expect(out.ok).toBe(false);
    });

    it('snappy bombs (block declaring more than the limit, framed chunks beyond it) and lz4 bombs', async () => {
      // Snappy expands at most ~21x and LZ4 ~255x: these are refused by the decompressed limit or, counted with
      // the wire bytes and the copies decoding keeps, by what one request may hold; 413 either way.
      const bombs: [string, Uint8Array, string][] = [
        ['snappy block declaring 4x the limit', snappyEncodeBlock(Buffer.alloc(LIMIT * 4)), 'snappy'],
        ['snappy framed, 4x the limit', snappyEncodeFramed(Buffer.alloc(LIMIT * 4)), 'x-snappy-framed'],
      ];
      if (LZ4_CLI) {
        bombs.push(['lz4 bomb', execFileSync('lz4', ['-q', '-c', '-9'], { input: Buffer.alloc(LIMIT * 4), maxBuffer: LIMIT }), 'lz4']);
        bombs.push(['lz4 bomb with its content size', execFileSync('lz4', ['-q', '-c', '--content-size'], { input: Buffer.alloc(LIMIT * 4), maxBuffer: LIMIT }), 'lz4']);
      }
      for (const [label, body, enc] of bombs) {
        const out = await send(label, 'http', body, 'proto', { headers: { 'content-encoding': enc } });
        expect(out.status, `${label}: ${out.message}`).toBe(413);
        expect(out.message, label).toMatch(/exceeds|more than the \d+ one request may hold/);
        expect(out.ms, `${label} took ${out.ms} ms`).toBeLessThan(3000);
      }
    });

    if (!ZSTD_CLI) {
      console.warn('NOTE: the zstd CLI is not installed: the CLI-made zstd bombs are skipped (the hand-made frames still run)');
      it.skip('zstd bombs made by the zstd CLI (SKIPPED: zstd CLI not installed)', () => {});
    } else it('zstd bombs made by the zstd CLI (default, --long=30, -19)', async () => {
      const zeros = Buffer.alloc(LIMIT * 3);
      for (const args of [['-q', '-c'], ['-q', '-c', '--long=30'], ['-q', '-c', '-19', '--no-check']]) {
        const bomb = execFileSync('zstd', args, { input: zeros, maxBuffer: LIMIT });
        expect(bomb.length).toBeLessThan(LIMIT / 100);
        await expect413(`zstd ${args.join(' ')} bomb`, bomb, 'zstd', 3000);
      }
    });
  });

  it('a span with 100k attributes (protobuf and JSON)', async () => {
    const r = rngFor('100k');
    for (const enc of ['proto', 'json'] as const) {
      const traceId = r.id(16);
      const spanId = r.id(8);
      const attributes = Array.from({ length: 100_000 }, (_, i) => kv(`attr.${i}`, i % 3 === 0 ? { intValue: String(i) } : str(`v${i}`)));
      attributes.push(kv('gen_ai.operation.name', str('chat')));
      const doc = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId, spanId, name: 'wide', startTimeUnixNano: '1732000000000000000', endTimeUnixNano: '1732000000100000000', attributes }] }] }] };
      const body = enc === 'proto' ? toProto(doc) : JSON.stringify(doc);
      expectAck(await send(`100k attributes (${enc})`, 'http', body, enc), 0, '100k attributes');
      const row = (await q(`SELECT (SELECT count(*) FROM jsonb_object_keys(attributes))::int AS n, attributes->>'attr.99998' AS last,
        attributes->'attr.99' AS num FROM runledger.spans WHERE trace_id = $1 AND span_id = $2`, [traceId, spanId])).rows[0];
      expect(row).toEqual({ n: 100_001, last: 'v99998', num: 99 });
    }
  });

  it('values nested deeper than the depth limit (kvlist, array; protobuf and JSON)', async () => {
    const r = rngFor('deep');
    const depthOf = (v: unknown): number => {
      let d = 0;
      while (v !== null && typeof v === 'object') {
        v = Array.isArray(v) ? v[0] : (v as Record<string, unknown>).k;
        d++;
      }
      expect(v).toBe(DEPTH_LIMIT_VALUE);
      return d;
    };
    for (const shape of ['kvlist', 'array'] as const) {
      // protobuf: 200 levels (stored, cut at the limit), then far deeper than any stack
      for (const depth of [200, 100_000]) {
        const traceId = r.id(16);
        const spanId = r.id(8);
        const out = await send(`protobuf ${shape} nested ${depth} deep`, depth > 1000 ? 'grpc' : 'http', deepProtoRequest(traceId, spanId, depth, shape), 'proto');
        if (depth === 200) {
          expectAck(out, 0, `${shape} 200 deep`);
          const row = await spanRow(traceId, spanId);
          expect(depthOf(row.attributes.deep)).toBe(MAX_ATTR_DEPTH);
        } else {
          // protobufjs decodes nested messages recursively: the stack overflow is a malformed request, not a crash
          expect(out).toMatchObject({ ok: false, status: grpc.status.INVALID_ARGUMENT, message: expect.stringMatching(/malformed/) });
        }
      }
      // JSON: 200 and 50k levels
      for (const depth of [200, 50_000]) {
        const traceId = r.id(16);
        const spanId = r.id(8);
        const open = shape === 'kvlist' ? '{"kvlistValue":{"values":[{"key":"k","value":' : '{"arrayValue":{"values":[';
        const close = shape === 'kvlist' ? '}]}}' : ']}}';
        const value = open.repeat(depth) + '{"stringValue":"leaf"}' + close.repeat(depth);
        const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${traceId}","spanId":"${spanId}","name":"deep","startTimeUnixNano":"1732000000000000000","endTimeUnixNano":"1732000000000000001","attributes":[{"key":"deep","value":${value}}]}]}]}]}`;
        const out = await send(`JSON ${shape} nested ${depth} deep`, 'http', body, 'json');
        // JSON.parse is not recursive and the decoder stops at the depth limit: stored, cut at the limit
        expectAck(out, 0, `JSON ${shape} ${depth} deep`);
        const row = await spanRow(traceId, spanId);
        expect(depthOf(row.attributes.deep)).toBe(MAX_ATTR_DEPTH);
      }
    }
  });

  it('very long strings (several MB) in names, keys, values, status, resource and content', async () => {
    const r = rngFor('long');
    const big = (c: string, n: number) => c.repeat(n);
    for (const enc of ['proto', 'json'] as const) {
      const traceId = r.id(16);
      const spanId = r.id(8);
      const name = big('n', 3_000_000);
      const value = big('é', 2_000_000); // 4 MB of UTF-8
      const ctrl = big('\u0001"\\', 300_000); // escapes to ~2.4 MB of JSON
      const content = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: big('word ', 600_000) }] }]);
      const doc = { resourceSpans: [{
        resource: { attributes: [kv('service.name', str(big('s', 1_000_000)))] },
        scopeSpans: [{ scope: { name: big('c', 100_000) }, spans: [{
          traceId, spanId, name, kind: 3, startTimeUnixNano: '1732000000000000000', endTimeUnixNano: '1732000001000000000',
          attributes: [kv('gen_ai.operation.name', str('chat')), kv('gen_ai.request.model', str(big('m', 500_000))),
            kv(big('k', 1_000_000), str('v')), kv('big', str(value)), kv('ctrl', str(ctrl)), kv('gen_ai.input.messages', str(content))],
          status: { code: 2, message: big('e', 1_000_000) },
        }] }],
      }] };
      const body = enc === 'proto' ? toProto(doc) : JSON.stringify(doc);
      expect(body.length).toBeLessThan(LIMIT);
      expectAck(await send(`long strings (${enc})`, 'http', body, enc), 0, 'long strings');
      const row = (await q(`SELECT length(name) AS name, length(status_message) AS status, length(service_name) AS service,
          length(attributes->>'big') AS big, attributes->>'ctrl' = $3 AS ctrl
        FROM runledger.spans WHERE trace_id = $1 AND span_id = $2`, [traceId, spanId, ctrl])).rows[0];
      expect(row).toEqual({ name: 3_000_000, status: 1_000_000, service: 1_000_000, big: 2_000_000, ctrl: true });
      const node = (await q(`SELECT input->>'truncated' AS truncated, length(model_name) AS model, length(error_message) AS err
        FROM runledger.nodes_full WHERE run_id = $1 AND node_id = $2`, [traceId, spanId])).rows[0];
      expect(node).toEqual({ truncated: 'true', model: 500_000, err: 1_000_000 });
    }
  });

  it('invalid UTF-8 in protobuf string fields is stored with U+FFFD, never refused', async () => {
    const r = rngFor('utf8');
    const traceId = r.id(16);
    const spanId = r.id(8);
    const P = 'QQINV0QQ'; // 8-byte placeholder, patched to invalid UTF-8 on the wire
    const doc = { resourceSpans: [{
      resource: { attributes: [kv('service.name', str(`svc${P}`)), kv(`res${P}`, str(P))] },
      scopeSpans: [{ scope: { name: P, version: P }, spans: [{
        traceId, spanId, name: `chat ${P}`, startTimeUnixNano: '1732000000000000000', endTimeUnixNano: '1732000001000000000',
        attributes: [kv('gen_ai.operation.name', str('chat')), kv('gen_ai.request.model', str(P)), kv(`key${P}`, str(`val${P}`)),
          kv('nested', { kvlistValue: { values: [kv(P, { arrayValue: { values: [str(P)] } })] } }),
          kv('gen_ai.input.messages', str(`[{"role":"user","content":"${P}"}]`))],
        events: [{ name: P, timeUnixNano: '1732000000000000001', attributes: [kv(P, str(P))] }],
        links: [{ traceId: r.id(16), spanId: r.id(8), traceState: P, attributes: [kv(P, str(P))] }],
        status: { code: 2, message: P },
      }] }],
    }] };
    const bad = [0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf4, 0x90]; // invalid byte, bad continuation, surrogate, > U+10FFFF
    const body = patchBytes(toProto(doc), P, bad);
    for (const transport of ['http', 'grpc'] as const) {
      expectAck(await send(`invalid UTF-8 (${transport})`, transport, body, 'proto'), 0, 'invalid UTF-8');
    }
    const x = Buffer.from(bad).toString('utf8'); // what a UTF-8 decoder makes of it
    expect(x).toContain('\uFFFD');
    const row = await spanRow(traceId, spanId);
    expect(row.name).toBe(`chat ${x}`);
    expect(row.status_message).toBe(x);
    expect(row.service_name).toBe(`svc${x}`);
    expect(row.scope_name).toBe(x);
    expect(row.attributes[`key${x}`]).toBe(`val${x}`);
    expect(row.attributes.nested).toEqual({ [x]: [x] });
    expect(row.resource[`res${x}`]).toBe(x);
    expect(row.events[0].name).toBe(x);
    expect(row.links[0].traceState).toBe(x);
    const node = (await q('SELECT model_name, error_message, input FROM runledger.nodes_full WHERE run_id = $1 AND node_id = $2', [traceId, spanId])).rows[0];
    expect(node).toEqual({ model_name: x, error_message: x, input: [{ role: 'user', content: x }] });
  });

  /** A span with `s` in every string position a span has. */
  const everywhere = (traceId: string, spanId: string, s: string) => ({ resourceSpans: [{
    resource: { attributes: [kv('service.name', str(`svc${s}`)), kv(`res${s}`, str(s))] },
    scopeSpans: [{ scope: { name: `scope${s}`, version: s }, spans: [{
      traceId, spanId, name: `chat${s}`, startTimeUnixNano: '1732000000000000000', endTimeUnixNano: '1732000001000000000',
      attributes: [
        kv('gen_ai.operation.name', str('chat')), kv('gen_ai.request.model', str(`model${s}`)), kv('gen_ai.conversation.id', str(`sess${s}`)),
        kv('gen_ai.response.finish_reasons', { arrayValue: { values: [str(`stop${s}`)] } }),
        kv(`key${s}`, str(`val${s}`)), kv('nested', { kvlistValue: { values: [kv(`k${s}`, { arrayValue: { values: [str(s)] } })] } }),
        kv('gen_ai.output.messages', str(`[{"role":"assistant","content":"${JSON.stringify(s).slice(1, -1)}"}]`)),
        kv('gen_ai.input.messages', str(`plain text ${s}`)),
      ],
      events: [{ name: `ev${s}`, timeUnixNano: '1732000000000000001', attributes: [kv(`ek${s}`, str(s))] }],
      links: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceState: `ts${s}`, attributes: [kv(`lk${s}`, str(s))] }],
      status: { code: 2, message: `err${s}` },
    }] }],
  }] });

  it('NUL bytes in names, keys, values, status messages, resource attributes: stored sanitised (protobuf, JSON, gRPC)', async () => {
    const r = rngFor('nul');
    for (const [transport, enc] of [['http', 'proto'], ['http', 'json'], ['grpc', 'proto']] as const) {
      const traceId = r.id(16);
      const spanId = r.id(8);
      const doc = everywhere(traceId, spanId, '\u0000x\u0000');
      const body = enc === 'proto' ? toProto(doc) : JSON.stringify(doc);
      expectAck(await send(`NUL everywhere (${transport}/${enc})`, transport, body, enc), 0, 'NUL');
      const x = '\uFFFDx\uFFFD';
      const row = await spanRow(traceId, spanId);
      expect(row.name).toBe(`chat${x}`);
      expect(row.status_message).toBe(`err${x}`);
      expect(row.service_name).toBe(`svc${x}`);
      expect(row.scope_name).toBe(`scope${x}`);
      expect(row.attributes[`key${x}`]).toBe(`val${x}`);
      expect(row.attributes.nested).toEqual({ [`k${x}`]: [x] });
      expect(row.resource[`res${x}`]).toBe(x);
      expect(row.events[0]).toMatchObject({ name: `ev${x}`, attributes: { [`ek${x}`]: x } });
      expect(row.links[0]).toMatchObject({ traceState: `ts${x}`, attributes: { [`lk${x}`]: x } });
      const node = (await q(`SELECT model_name, session_id, error_message, finish_reasons, input, output
        FROM runledger.nodes_full WHERE run_id = $1 AND node_id = $2`, [traceId, spanId])).rows[0];
      expect(node).toEqual({
        model_name: `model${x}`, session_id: `sess${x}`, error_message: `err${x}`, finish_reasons: [`stop${x}`],
        input: `plain text ${x}`, output: [{ role: 'assistant', content: x }],
      });
      const run = (await q('SELECT name, service_name, session_id, error_message, models FROM runledger.runs WHERE run_id = $1', [traceId])).rows[0];
      expect(run).toEqual({ name: `chat${x}`, service_name: `svc${x}`, session_id: `sess${x}`, error_message: `err${x}`, models: [`model${x}`] });
    }
  });

  it('lone surrogates and \\u0000 escapes in OTLP/JSON strings: stored sanitised, never refused', async () => {
    const r = rngFor('surrogates');
    const cases: [string, string][] = [
      ['lone high surrogate', '\ud800'],
      ['lone low surrogate', 'a\udc00b'],
      ['high surrogate at the end', 'x\ud83d'],
      ['reversed pair', '\ude00\ud83d'],
      ['NUL escape', '\u0000'],
      ['valid pair', '😀'],
    ];
    for (const [label, s] of cases) {
      const traceId = r.id(16);
      const spanId = r.id(8);
      const body = JSON.stringify(everywhere(traceId, spanId, s)); // JSON.stringify writes \udXXX and \u0000 escapes
      expect(body).toContain(label === 'valid pair' ? '😀' : '\\u');
      expectAck(await send(`JSON ${label}`, 'http', body, 'json'), 0, label);
      const x = wellFormed(s).replaceAll('\u0000', '\uFFFD');
      const row = await spanRow(traceId, spanId);
      expect(row.name).toBe(`chat${x}`);
      expect(row.attributes[`key${x}`]).toBe(`val${x}`);
      expect(row.resource[`res${x}`]).toBe(x);
      expect(row.events[0].name).toBe(`ev${x}`);
      const node = (await q('SELECT model_name, input, output FROM runledger.nodes_full WHERE run_id = $1 AND node_id = $2', [traceId, spanId])).rows[0];
      expect(node).toEqual({ model_name: `model${x}`, input: `plain text ${x}`, output: [{ role: 'assistant', content: x }] });
    }
    // Escapes inside JSON text carried by a string attribute (stored verbatim as jsonb when it is valid JSON)
    const traceId = r.id(16);
    const spanId = r.id(8);
    const messages = '[{"role":"user","content":"a\\ud800b \\udc00 \\u0000 \\\\ud800 \\ud83d\\ude00"}]';
    const doc = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId, spanId, name: 'chat', startTimeUnixNano: '1732000000000000000', endTimeUnixNano: '1732000001000000000',
      attributes: [kv('gen_ai.operation.name', str('chat')), kv('gen_ai.input.messages', str(messages)), kv('gen_ai.output.messages', str(messages))] }] }] }] };
    for (const enc of ['json', 'proto'] as const) {
      const body = enc === 'json' ? JSON.stringify(doc) : toProto(doc);
      if (enc === 'proto') await q('DELETE FROM runledger.spans WHERE trace_id = $1', [traceId]); // store again through protobuf
      if (enc === 'proto') await q('DELETE FROM runledger.nodes WHERE run_id = $1', [traceId]);
      expectAck(await send(`escapes in JSON content (${enc})`, 'http', body, enc), 0, 'escapes in content');
      const node = (await q('SELECT input, output FROM runledger.nodes_full WHERE run_id = $1 AND node_id = $2', [traceId, spanId])).rows[0];
      const content = 'a\uFFFDb \uFFFD \uFFFD \\ud800 😀';
      expect(node).toEqual({ input: [{ role: 'user', content }], output: [{ role: 'user', content }] });
    }
  });

  it('numbers at extremes: int64, NaN/Infinity, huge token counts, negative durations, times 0 and max uint64', async () => {
    const r = rngFor('numbers');
    for (const enc of ['json', 'proto'] as const) {
      const traceId = r.id(16);
      const ids = Array.from({ length: 9 }, () => r.id(8));
      const llm = (spanId: string, start: string, end: string, tokens: string, extra: object[] = []) => ({
        traceId, spanId, name: 'chat gpt-4o-mini', kind: 3, startTimeUnixNano: start, endTimeUnixNano: end,
        attributes: [kv('gen_ai.operation.name', str('chat')), kv('gen_ai.request.model', str('gpt-4o-mini')),
          kv('gen_ai.usage.input_tokens', { intValue: tokens }), kv('gen_ai.usage.output_tokens', { intValue: tokens }), ...extra],
      });
      const doubles = enc === 'json'
        ? [kv('nan', { doubleValue: 'NaN' }), kv('inf', { doubleValue: 'Infinity' }), kv('ninf', { doubleValue: '-Infinity' })]
        : [kv('nan', { doubleValue: NaN }), kv('inf', { doubleValue: Infinity }), kv('ninf', { doubleValue: -Infinity })];
      const spans = [
        llm(ids[0]!, '1732000000000000000', '1732000001000000000', '9223372036854775807', [
          kv('max', { intValue: '9223372036854775807' }), kv('min', { intValue: '-9223372036854775808' }), ...doubles,
          kv('big', { doubleValue: 1.7976931348623157e308 }), kv('tiny', { doubleValue: 5e-324 }), kv('negzero', { doubleValue: -0 }),
          kv('gen_ai.request.temperature', enc === 'json' ? { doubleValue: 'NaN' } : { doubleValue: NaN }),
          kv('gen_ai.request.max_tokens', { intValue: '9223372036854775807' }), kv('gen_ai.usage.cost', { doubleValue: 1e300 }),
        ]),
        llm(ids[1]!, '1732000000000000000', '1732000001000000000', '-9223372036854775808'),
        llm(ids[2]!, '1732000000000000000', '1732000001000000000', String(Number.MAX_SAFE_INTEGER)), // exact, but no count
        llm(ids[3]!, '1732000000000000000', '1732000001000000000', '1000000000000'), // the largest count taken: 1e12
        llm(ids[4]!, '1732000005000000000', '1732000001000000000', '10'), // ends before it starts: kept, ending at its start
        llm(ids[5]!, '0', '0', '10'), // no start time: rejected alone
        llm(ids[6]!, '18446744073709551615', '18446744073709551615', '10'), // max uint64 ns: year 2554
        llm(ids[7]!, '1732000000000000000', '18446744073709551615', '10'),
      ];
      // nanoseconds as uint64 end in 2554; only a JSON number can say year 10000+ (the gateway refuses that span alone)
      if (enc === 'json') spans.push({ ...llm(ids[8]!, '0', '0', '10'), startTimeUnixNano: 1e30 as never });
      const doc = { resourceSpans: [{ scopeSpans: [{ spans }] }] };
      const body = enc === 'json' ? JSON.stringify(doc) : toProto(doc);
      const out = await send(`extreme numbers (${enc})`, 'http', body, enc);
      expectAck(out, enc === 'json' ? 2 : 1, 'extreme numbers');
      if (enc === 'json') expect(out.message).toMatch(/spans\[8\]: start or end time beyond year 9999/);
      expect(out.message).toContain(`span ${ids[5]} of trace ${traceId}: no start time`);
      expect(out.message).toContain(`1 span(s) stored ending at their start time: span ${ids[4]} of trace ${traceId}: end time before its start time`);
      const rows = (await q('SELECT span_id, attributes, start_time, end_time FROM runledger.spans WHERE trace_id = $1', [traceId])).rows;
      const storedIds = ids.slice(0, 8).filter((id) => id !== ids[5]);
      expect(rows.map((x) => x.span_id).sort()).toEqual(storedIds.sort());
      const a = rows.find((x) => x.span_id === ids[0])!.attributes;
      expect(a).toMatchObject({ max: '9223372036854775807', min: '-9223372036854775808', nan: 'NaN', inf: 'Infinity', ninf: '-Infinity', big: 1.7976931348623157e308, tiny: 5e-324, negzero: 0 });
      expect(rows.find((x) => x.span_id === ids[6])!.start_time.toISOString()).toBe('2554-07-21T23:34:33.709Z');
      const nodes = (await q(`SELECT node_id, input_tokens::text, output_tokens::text, total_tokens::text, duration_ms, temperature,
          max_tokens, total_cost::text, cost_source
        FROM runledger.nodes WHERE run_id = $1 ORDER BY node_id`, [traceId])).rows;
      const byId = new Map(nodes.map((n) => [n.node_id, n]));
      expect(nodes).toHaveLength(7);
      const none = { input_tokens: null, output_tokens: null, total_tokens: null, total_cost: null, cost_source: null };
      expect(byId.get(ids[0]!)).toMatchObject({ ...none, temperature: null, max_tokens: null });
      expect(byId.get(ids[1]!)).toMatchObject(none);
      expect(byId.get(ids[2]!)).toMatchObject(none);
      expect(byId.get(ids[3]!)).toMatchObject({ input_tokens: '1000000000000', output_tokens: '1000000000000', total_tokens: '2000000000000', total_cost: '750000.0000000000', cost_source: 'price_table' });
      expect(byId.get(ids[4]!)!.duration_ms).toBe(0);
      expect(rows.find((x) => x.span_id === ids[4])!.end_time.toISOString()).toBe('2024-11-19T07:06:45.000Z');
      // run totals are the sums of the counted node rows: the ledger stays consistent with itself
      const run = (await q(`SELECT span_count::int, input_tokens::text, output_tokens::text, total_tokens::text, total_cost::text
        FROM runledger.runs WHERE run_id = $1`, [traceId])).rows[0];
      const sums = (await q(`SELECT coalesce(sum(input_tokens), 0)::text AS input_tokens, coalesce(sum(output_tokens), 0)::text AS output_tokens,
          coalesce(sum(total_tokens), 0)::text AS total_tokens, coalesce(sum(total_cost), 0)::numeric(20,10)::text AS total_cost
        FROM runledger.nodes WHERE run_id = $1 AND usage_counted`, [traceId])).rows[0];
      expect(run).toEqual({ span_count: 7, ...sums });
      expect(run.input_tokens).toBe('1000000000030');
    }
    // int64 beyond what a JSON number can hold exactly, and a JSON number beyond int64: not 5xx
    const traceId = r.id(16);
    for (const lit of ['9223372036854775807', '-9223372036854775808', '1e19', '18446744073709551615']) {
      const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${traceId}","spanId":"${r.id(8)}","name":"n","startTimeUnixNano":${lit.startsWith('-') ? 0 : lit},"endTimeUnixNano":1,"attributes":[{"key":"n","value":{"intValue":${lit}}}]}]}]}]}`;
      await send(`int64 as JSON number ${lit}`, 'http', body, 'json');
    }
  });

  it('duplicate span ids within one request are stored once and not rejected', async () => {
    const r = rngFor('duplicates');
    for (const [transport, enc] of [['http', 'proto'], ['http', 'json'], ['grpc', 'proto']] as const) {
      const traceId = r.id(16);
      const a = r.id(8);
      const b = r.id(8);
      const span = (spanId: string, name: string, tokens: number, parentSpanId = '') => ({
        traceId, spanId, parentSpanId, name, startTimeUnixNano: '1732000000000000000', endTimeUnixNano: '1732000001000000000',
        attributes: [kv('gen_ai.operation.name', str('chat')), kv('gen_ai.usage.input_tokens', { intValue: tokens })],
      });
      const doc = { resourceSpans: [
        { scopeSpans: [{ spans: [span(a, 'first', 10), span(a, 'second', 20), span(b, 'child', 5, a), span(a, 'third', 30)] }] },
        { scopeSpans: [{ spans: [span(b, 'child again', 5, a), span(a, 'fourth', 40)] }] },
      ] };
      const body = enc === 'proto' ? toProto(doc) : JSON.stringify(doc);
      expectAck(await send(`duplicate ids (${transport}/${enc})`, transport, body, enc), 0, 'duplicates');
      expect(await storedCount(traceId)).toBe(2);
      const nodes = (await q('SELECT count(*)::int AS n FROM runledger.nodes WHERE run_id = $1', [traceId])).rows[0].n;
      expect(nodes).toBe(2);
      const run = (await q('SELECT span_count::int, total_nodes::int FROM runledger.runs WHERE run_id = $1', [traceId])).rows[0];
      expect(run).toEqual({ span_count: 2, total_nodes: 2 });
      // the node row comes from the same copy of the span as the span row
      const same = (await q(`SELECT bool_and(s.name = n.name) AS same FROM runledger.spans s
        JOIN runledger.nodes n ON n.run_id = s.trace_id AND n.node_id = s.span_id WHERE s.trace_id = $1`, [traceId])).rows[0].same;
      expect(same).toBe(true);
    }
  });

  it('thousands of spans of one trace in one request (a deep chain and a wide fan-out)', async () => {
    const r = rngFor('thousands');
    for (const [shape, transport, enc] of [['chain', 'http', 'proto'], ['fan-out', 'http', 'json'], ['chain', 'grpc', 'proto']] as const) {
      const traceId = r.id(16);
      const n = 6000;
      const ids = Array.from({ length: n }, () => r.id(8));
      const spans = ids.map((spanId, i) => ({
        traceId, spanId, parentSpanId: i === 0 ? '' : shape === 'chain' ? ids[i - 1]! : ids[0]!, name: `step ${i}`,
        startTimeUnixNano: (1_732_000_000_000_000_000n + BigInt(i)).toString(), endTimeUnixNano: '1732000100000000000',
        attributes: [kv('gen_ai.operation.name', str('chat')), kv('gen_ai.usage.input_tokens', { intValue: 1 })],
      }));
      // shuffled: children before parents
      for (let i = spans.length - 1; i > 0; i--) { const j = r.int(i + 1); [spans[i], spans[j]] = [spans[j]!, spans[i]!]; }
      const doc = { resourceSpans: [{ scopeSpans: [{ spans }] }] };
      const body = enc === 'proto' ? toProto(doc) : JSON.stringify(doc);
      expectAck(await send(`${n} spans, ${shape} (${transport}/${enc})`, transport, body, enc), 0, 'thousands');
      const run = (await q('SELECT span_count::int, total_nodes::int, input_tokens::int FROM runledger.runs WHERE run_id = $1', [traceId])).rows[0];
      // usage counted once: in a chain only the deepest node counts; in a fan-out every leaf counts
      expect(run).toEqual({ span_count: n, total_nodes: n, input_tokens: shape === 'chain' ? 1 : n - 1 });
    }
  });

  it('after the fuzzing: every acknowledged span is stored, and a normal request still works', async () => {
    const r = rngFor('final');
    // the gateway still serves normal requests, on both transports
    for (const [transport, enc] of [['http', 'proto'], ['http', 'json'], ['grpc', 'proto']] as const) {
      const doc = plainSpans(r, 5);
      const traceId = (doc.resourceSpans as { scopeSpans: { spans: { traceId: string }[] }[] }[])[0]!.scopeSpans[0]!.spans[0]!.traceId;
      const out = await send(`final normal request (${transport}/${enc})`, transport, enc === 'proto' ? toProto(doc) : JSON.stringify(doc), enc);
      expectAck(out, 0, 'final');
      expect(await storedCount(traceId)).toBe(5);
    }
    // every acknowledged span is in the ledger, and partial_success counted exactly the spans not stored
    expect(acks.length).toBeGreaterThan(100);
    const keys = [...new Set(acks.flatMap((a) => a.keys))];
    const present = new Set<string>();
    for (let i = 0; i < keys.length; i += 20_000) {
      const chunk = keys.slice(i, i + 20_000);
      const res = await q(`SELECT replace(s.trace_id::text, '-', '') || s.span_id AS k FROM runledger.spans s
        JOIN unnest($1::uuid[], $2::text[]) AS x(t, id) ON s.trace_id = x.t AND s.span_id = x.id`,
      [chunk.map((k) => k.slice(0, 32)), chunk.map((k) => k.slice(32))]);
      for (const row of res.rows) present.add(row.k);
    }
    const problems: string[] = [];
    for (const a of acks) {
      const missing = [...new Set(a.keys.filter((k) => !present.has(k)))];
      if (missing.length > 0 || a.rejected !== a.decodeRejected) {
        problems.push(`${a.label}: ${a.keys.length} spans decoded, ${a.decodeRejected} undecodable, answer rejected ${a.rejected}, missing ${missing.length}`);
      }
    }
    expect(problems, `[seed ${SEED}] acknowledged but not stored`).toEqual([]);
    console.log(`fuzz seed ${SEED}: ${acks.length} acknowledged requests (${keys.length} spans) all stored; answers`,
      JSON.stringify({ http: Object.fromEntries(answers.http), grpc: Object.fromEntries(answers.grpc) }));
  });
});
