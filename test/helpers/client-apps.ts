/**
 * Runs the apps of test/clients/apps/ — real, unmodified GenAI client packages wired as a new user would —
 * in a child process whose working directory is the test package, so `--require`/`--import` and every
 * bare import resolve from test/clients/node_modules (installed by scripts/test-clients.mjs, not by the
 * root `npm install`). Only OTEL_* and the SDKs' own variables configure them.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLIENTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'clients');

export interface AppRun { code: number | null; stdout: string; stderr: string; ms: number }

export interface AppOptions {
  /** node flags before the script, e.g. ['--require', '@opentelemetry/auto-instrumentations-node/register'] */
  nodeArgs?: string[];
  env: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Runs test/clients/apps/<app> to its end (the SDKs flush on exit) and returns its output; rejects on a
 * non-zero exit or a timeout. The environment is built from scratch (PATH only), so nothing of the test
 * runner's own OTEL_* settings leaks in.
 */
export function runClientApp(app: string, opts: AppOptions): Promise<AppRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join('apps', app)], {
    cwd: CLIENTS_DIR,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  return new Promise((resolve, reject) => {
    // a hang guard, not a speed check: loading these packages takes seconds (require of OpenLLMetry measured
    // 5 s on the shared 2-core machine at load 15) and the suite's files run their apps at once
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const run = { code, stdout, stderr, ms: Math.round(performance.now() - t0) };
      if (code === 0) resolve(run);
      else reject(new Error(`${app} exited with ${code ?? signal}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
    });
  });
}

/**
 * OTEL_* settings of a new user exporting every signal to `endpoint`. `env` is the only resource
 * detector: it reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES and touches no network, where `none`
 * would also drop the service name (the SDK then reports unknown_service:<node path>).
 */
export function otelEnv(endpoint: string, protocol: 'grpc' | 'http/protobuf' | 'http/json', service: string): Record<string, string> {
  return {
    OTEL_SERVICE_NAME: service,
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=e2e',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_NODE_RESOURCE_DETECTORS: 'env',
    OTEL_LOG_LEVEL: 'warn',
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
  };
}

// ---- the scenarios: one function per app, shared by the end-to-end tests and the fixture capture ----------

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';

export interface LlmEndpoints { origin: string; openaiBaseURL: string }

const openaiEnv = (llm: LlmEndpoints) => ({ OPENAI_BASE_URL: llm.openaiBaseURL, OPENAI_API_KEY: 'test-key' });

/**
 * Zero-code: `node --require @opentelemetry/auto-instrumentations-node/register` over a plain OpenAI app
 * (instrumentation-openai inside), every signal to `endpoint` (http://host:port, also for grpc).
 */
export function runZeroCodeOpenAI(endpoint: string, protocol: OtlpProtocol, service: string, llm: LlmEndpoints): Promise<AppRun> {
  return runClientApp('zero-code-openai.cjs', {
    nodeArgs: ['--require', '@opentelemetry/auto-instrumentations-node/register'],
    env: { ...openaiEnv(llm), ...otelEnv(endpoint, protocol, service) },
  });
}

/** OpenLLMetry's own settings: TRACELOOP_BASE_URL (its exporter posts OTLP http/protobuf to <url>/v1/traces). */
const traceloopEnv = (endpoint: string, service: string) => ({
  TRACELOOP_BASE_URL: endpoint, OTEL_SERVICE_NAME: service, OTEL_NODE_RESOURCE_DETECTORS: 'none', OTEL_LOG_LEVEL: 'warn',
});

export function runTraceloopOpenAI(endpoint: string, service: string, llm: LlmEndpoints): Promise<AppRun> {
  return runClientApp('traceloop-openai.cjs', { env: { ...openaiEnv(llm), ...traceloopEnv(endpoint, service) } });
}

/** `sdkTracing: false` sets ANTHROPIC_OPEN_TELEMETRY=false (the Anthropic SDK's own spans off). */
export function runTraceloopAnthropic(endpoint: string, service: string, llm: LlmEndpoints, sdkTracing: boolean): Promise<AppRun> {
  return runClientApp('traceloop-anthropic.cjs', {
    env: {
      ANTHROPIC_BASE_URL: llm.origin, ANTHROPIC_API_KEY: 'test-key', ...traceloopEnv(endpoint, service),
      ...(sdkTracing ? {} : { ANTHROPIC_OPEN_TELEMETRY: 'false' }),
    },
  });
}

/** LangChain.js + OpenInference: its exporter is OTLP http/protobuf, endpoint from OTEL_EXPORTER_OTLP_ENDPOINT. */
export function runLangChainOpenInference(endpoint: string, service: string, llm: LlmEndpoints): Promise<AppRun> {
  return runClientApp('langchain-openinference.mjs', {
    env: { ...openaiEnv(llm), OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_LOG_LEVEL: 'warn' },
  });
}
