/** Log record identities (log-rows.ts recordHashes): canonical order, and the hash earlier gateways gave. */
import { describe, expect, it } from 'vitest';
import type { LogRecordData } from '../otlp/types.js';
import { resourceRef } from './resources.js';
import { recordHashes } from './log-rows.js';

const resource = { 'service.name': 'svc', 'telemetry.sdk.language': 'nodejs', 'host.name': 'h1' };
const record = (attributes: Record<string, string>): LogRecordData => ({
  traceId: '1'.repeat(32), spanId: '2'.repeat(16), timeUs: 1_765_000_000_000_000, observedUs: 1_765_000_000_000_001,
  severityNumber: 9, severityText: '', eventName: 'gen_ai.user.message', body: { content: 'hi' }, attributes, resource,
  serviceName: 'svc', scopeName: 'x', scopeVersion: null, tenantId: 't',
});
const hashes = (r: LogRecordData, legacyBeforeUs?: number) =>
  recordHashes(r, { text: JSON.stringify(r.resource), ref: resourceRef(r.resource) }, JSON.stringify(r.body), JSON.stringify(r.attributes), legacyBeforeUs);

describe('recordHashes', () => {
  it('gives a record the same identity whatever order its attributes and resource list', () => {
    const a = record({ 'gen_ai.system': 'openai', 'event.name': 'gen_ai.user.message' });
    const b = { ...record({ 'event.name': 'gen_ai.user.message', 'gen_ai.system': 'openai' }), resource: Object.fromEntries(Object.entries(resource).reverse()) };
    expect(hashes(a).hash).toBe(hashes(b).hash);
    expect(hashes(a).legacy).not.toBe(hashes(b).legacy); // as listed, they differ: the hashes earlier gateways gave
  });

  it('looks for the hash earlier gateways gave only for records older than the cutoff (a day past start-up)', () => {
    const r = record({ 'gen_ai.system': 'openai', 'event.name': 'gen_ai.user.message' });
    expect(hashes(r, r.timeUs + 1).legacy).toMatch(/^[0-9a-f]{32}$/);
    expect(hashes(r, r.timeUs)).toEqual({ hash: hashes(r).hash, legacy: null });
    expect(hashes({ ...r, timeUs: Date.now() * 1000 + 86_400_000_000 + 60_000_000 }).legacy).toBeNull(); // the default cutoff
    expect(hashes({ ...r, timeUs: Date.now() * 1000 }).legacy).not.toBeNull();
  });
});
