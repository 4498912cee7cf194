/**
 * The operator's routes beside the OTLP paths: /healthz (the process answers), /readyz (it should get
 * traffic: health.ts readiness, 503 with the reason otherwise) and /metrics (Prometheus text).
 */
import type { Hono } from 'hono';
import type { Readiness } from '../health.js';

export interface OpsRoutes {
  ready(): Promise<Readiness>;
  metrics: { expose(): Promise<{ contentType: string; body: string }> };
}

export function mountOps(app: Hono, ops: OpsRoutes): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const r = await ops.ready();
    return r.ready ? c.json({ status: 'ready', queued_spans: r.queued_spans }) : c.json({ status: 'unavailable', reason: r.reason }, 503);
  });
  app.get('/metrics', async (c) => {
    const { contentType, body } = await ops.metrics.expose();
    return c.body(body, 200, { 'content-type': contentType });
  });
}
