/**
 * The shipped deployment files agree with the gateway: the Collector pipelines are complete and point
 * at runledger's ports with retry and queueing on; the Dockerfile builds in stages, runs as non-root and
 * listens on every interface. (No Docker engine or Collector binary is assumed on the test machine.)
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { defaults } from '../src/config.js';

const root = join(import.meta.dirname, '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');

type Collector = {
  receivers: Record<string, unknown>; processors: Record<string, unknown>; exporters: Record<string, any>;
  service: { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
};

function pipelineOf(file: string) {
  const cfg = parse(read(file)) as Collector;
  const p = cfg.service.pipelines.traces!;
  for (const r of p.receivers) expect(cfg.receivers, `${file}: receiver ${r}`).toHaveProperty([r]);
  for (const r of p.processors) expect(cfg.processors, `${file}: processor ${r}`).toHaveProperty([r]);
  for (const r of p.exporters) expect(cfg.exporters, `${file}: exporter ${r}`).toHaveProperty([r]);
  expect(p.processors.at(-1)).toBe('batch');
  expect(p.processors[0]).toBe('memory_limiter');
  expect(p.exporters).toHaveLength(1);
  return { cfg, exporter: cfg.exporters[p.exporters[0]!] };
}

describe('otel-config.yaml', () => {
  it('forwards the otlp receiver through batch to runledger over OTLP/HTTP with retry and a sending queue', () => {
    const { exporter } = pipelineOf('otel-config.yaml');
    expect(new URL(exporter.endpoint).port).toBe(String(defaults.httpPort));
    expect(exporter.encoding).toBe('proto');
    expect(exporter.retry_on_failure.enabled).toBe(true);
    expect(exporter.sending_queue.enabled).toBe(true);
    expect(exporter.sending_queue.num_consumers).toBeGreaterThan(1);
  });

  it('has a load-balancing variant routing by trace ID to every gateway over OTLP/gRPC', () => {
    const { exporter } = pipelineOf('otel-config.loadbalancing.yaml');
    expect(exporter.routing_key).toBe('traceID');
    expect(exporter.resolver.dns.port).toBe(defaults.grpcPort);
    expect(exporter.protocol.otlp.retry_on_failure.enabled).toBe(true);
    expect(exporter.protocol.otlp.sending_queue.enabled).toBe(true);
  });
});

describe('Dockerfile', () => {
  const lines = read('Dockerfile').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = lines.reduce<string[][]>((acc, l) => (l.startsWith('FROM ') ? [...acc, [l]] : (acc.at(-1)!.push(l), acc)), []);
  const runtime = stages.at(-1)!;

  it('builds in one stage and runs from another with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.some((l) => /npm ci .*--omit=dev/.test(l))).toBe(true);
    expect(runtime.some((l) => /COPY --from=build \/app\/dist/.test(l))).toBe(true);
  });

  it('runs as a non-root user, listens on every interface, exposes the OTLP ports', () => {
    const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|$)/);
    const env = runtime.filter((l) => l.startsWith('ENV ') || /^\S+=/.test(l)).join(' ');
    expect(env).toMatch(/RUNLEDGER_HTTP_HOST=0\.0\.0\.0/);
    expect(env).toMatch(/RUNLEDGER_GRPC_HOST=0\.0\.0\.0/);
    expect(runtime.find((l) => l.startsWith('EXPOSE '))).toMatch(/4317.*4318|4318.*4317/);
  });

  it('copies sources that exist and are not docker-ignored, and starts the built CLI', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter(Boolean);
    for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
      const srcs = l.split(/\s+/).slice(1, -1);
      for (const s of srcs) {
        expect(existsSync(join(root, s)), `${s} exists`).toBe(true);
        expect(ignored, `${s} is not docker-ignored`).not.toContain(s.replace(/^\.\//, ''));
      }
    }
    const cmd = JSON.parse(runtime.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
    expect(cmd.slice(0, 2)).toEqual(['node', 'dist/src/cli.js']);
    expect(existsSync(join(root, cmd[1]!)), 'the build emits the CLI the image starts').toBe(true);
  });
});
