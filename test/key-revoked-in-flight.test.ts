/**
 * A key revoked while a request is being received: the request was authenticated when its headers came, but
 * a body may take long (RUNLEDGER_BODY_GRACE_SECONDS plus a second per RUNLEDGER_BODY_MIN_BYTES_PER_SECOND
 * bytes: over an hour for a 64 MiB body). Its spans are not stored once the revocation has taken effect
 * (README, "Tenants and API keys"): 401 / UNAUTHENTICATED, over HTTP and gRPC alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import http2 from 'node:http2';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { jsonRequest, miniSpans, protoRequest } from './helpers/otlp.js';
import { sha256Hex } from '../src/auth.js';
import { EXPORT_PATH } from '../src/receiver/grpc.js';

const CONFIGURED = 'rl_configured_9d2c';
let gw: TestGateway;

beforeAll(async () => { gw = await startTestGateway({ apiKeys: { [CONFIGURED]: 'acme' } }); });
afterAll(async () => { await gw?.close(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A table key of `tenant`, revoked `ms` from now (by the database's clock), loaded by the gateway. */
async function keyRevokedIn(tenant: string, ms: number): Promise<string> {
  const key = `rl_inflight_${tenant}_${Math.random().toString(36).slice(2)}`;
  await gw.db.pool.query(`INSERT INTO runledger.api_keys (key_sha256, tenant_id, revoked_at) VALUES ($1, $2, now() + $3 * interval '1 ms')`,
    [sha256Hex(key), tenant, ms]);
  await gw.auth.refresh();
  return key;
}

const stored = async (traceId: string) =>
  (await gw.db.pool.query(`SELECT count(*)::int AS n FROM runledger.spans WHERE trace_id = $1`, [traceId])).rows[0].n as number;

/** POST a body in two parts, `pauseMs` apart; the status and body of the answer. */
function slowPost(key: string, body: string, pauseMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(gw.httpUrl + '/v1/traces');
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${key}` } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    const half = body.length >> 1;
    req.write(body.slice(0, half));
    setTimeout(() => req.end(body.slice(half)), pauseMs);
  });
}

/** One gRPC Export whose message arrives in two parts, `pauseMs` apart; its grpc-status. */
function slowGrpc(key: string, message: Uint8Array, pauseMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${gw.grpcAddress}`);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers',
      authorization: `Bearer ${key}` });
    let status: number | null = null;
    const done = () => { session.close(); resolve(status ?? -1); };
    stream.on('response', (h) => { if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']); });
    stream.on('trailers', (h) => { status = Number(h['grpc-status']); });
    stream.on('data', () => {});
    stream.on('end', done);
    stream.on('error', reject);
    const framed = Buffer.alloc(5 + message.length);
    framed.writeUInt32BE(message.length, 1);
    Buffer.from(message).copy(framed, 5);
    const half = framed.length >> 1;
    stream.write(framed.subarray(0, half));
    setTimeout(() => stream.end(framed.subarray(half)), pauseMs);
  });
}

describe('a key revoked while its request\'s body is being received', () => {
  it('HTTP: 401, nothing stored; the same slow request with a key not revoked is stored', async () => {
    const spans = miniSpans(2);
    const got = await slowPost(await keyRevokedIn('initech', 800), jsonRequest(spans), 1500);
    expect(got.status, got.text).toBe(401);
    expect(await stored(spans[0]!.traceId)).toBe(0);
    const ok = miniSpans(2);
    expect((await slowPost(await keyRevokedIn('initech', 3_600_000), jsonRequest(ok), 1500)).status).toBe(200);
    expect(await stored(ok[0]!.traceId)).toBe(2);
  });

  it('gRPC: UNAUTHENTICATED, nothing stored; the same slow call with a key not revoked is stored', async () => {
    const spans = miniSpans(2);
    expect(await slowGrpc(await keyRevokedIn('initech', 800), protoRequest(spans), 1500)).toBe(16);
    expect(await stored(spans[0]!.traceId)).toBe(0);
    const ok = miniSpans(2);
    expect(await slowGrpc(await keyRevokedIn('initech', 3_600_000), protoRequest(ok), 1500)).toBe(0);
    expect(await stored(ok[0]!.traceId)).toBe(2);
  });
});
