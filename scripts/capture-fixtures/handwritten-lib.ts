/**
 * Helpers to write hand-written SpanRecord fixtures compactly (deterministic ids and times).
 * Used by handwritten.ts; the output files are plain SpanRecord JSON like the captured ones.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Attributes, SpanEvent, SpanRecord } from '../../src/otlp/types.js';
import type { MappingOptions } from '../../src/mapping/types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface SpanSpec {
  name: string;
  attrs?: Attributes;
  /** key of the parent span in the same fixture; omitted = root span */
  parent?: string;
  /** key to reference this span as a parent */
  key?: string;
  kind?: number;
  status?: 0 | 1 | 2;
  statusMessage?: string;
  events?: { name: string; attrs?: Attributes }[];
  /** trace number within the fixture (default 1) */
  trace?: number;
  resource?: Attributes;
}

const BASE_US = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

export function buildSpans(fixtureNo: number, defaultResource: Attributes, specs: SpanSpec[]): SpanRecord[] {
  const ids = new Map<string, string>();
  return specs.map((s, i) => {
    const spanId = hex(fixtureNo * 0x1000 + i + 1, 16);
    if (s.key) ids.set(s.key, spanId);
    const parentSpanId = s.parent === undefined ? null : ids.get(s.parent) ?? null;
    if (s.parent !== undefined && parentSpanId === null) throw new Error(`unknown parent ${s.parent}`);
    const resource = s.resource ?? defaultResource;
    const startUs = BASE_US + fixtureNo * 60_000_000 + i * 1000;
    const events: SpanEvent[] = (s.events ?? []).map((e, j) => ({ name: e.name, timeUs: startUs + 10 + j, attributes: e.attrs ?? {} }));
    const service = resource['service.name'];
    return {
      traceId: hex(fixtureNo, 16) + hex(s.trace ?? 1, 16),
      spanId,
      parentSpanId,
      name: s.name,
      kind: s.kind ?? 1,
      startUs,
      endUs: startUs + 500,
      statusCode: s.status ?? 0,
      statusMessage: s.statusMessage ?? '',
      attributes: s.attrs ?? {},
      events,
      links: [],
      resource,
      serviceName: typeof service === 'string' ? service : null,
      scopeName: 'handwritten',
      scopeVersion: null,
      tenantId: 'default',
    };
  });
}

export function writeFixture(name: string, source: string, spans: SpanRecord[], options?: Partial<MappingOptions>): void {
  const dir = join(root, 'testdata', 'mapping');
  mkdirSync(dir, { recursive: true });
  const doc = options ? { source, options, spans } : { source, spans };
  writeFileSync(join(dir, `${name}.spans.json`), JSON.stringify(doc, null, 1) + '\n');
  console.log(`${name}: ${spans.length} spans`);
}
