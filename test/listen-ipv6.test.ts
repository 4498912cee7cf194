/** The gateway's announced addresses (banner, httpUrl, grpcAddress) when it listens on an IPv6 address. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

describe('listening on an IPv6 address', () => {
  let g: TestGateway;
  beforeAll(async () => { g = await startTestGateway({ httpHost: '::1', grpcHost: '::1' }); });
  afterAll(async () => { await g?.close(); });

  it('announces a URL and a gRPC target that reach it (the address in brackets)', async () => {
    expect(g.httpUrl).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect((await fetch(`${g.httpUrl}/healthz`)).status).toBe(200);
    expect(g.grpcAddress).toMatch(/^\[::1\]:\d+$/);
  });
});
