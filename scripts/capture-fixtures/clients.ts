/**
 * Captures what the REAL client packages of test/clients send (the apps the client end-to-end tests run)
 * into testdata/clients/<scenario>.json: every OTLP export request as OTLP/JSON, with the package versions.
 *   node scripts/test-clients.mjs && npx vite-node scripts/capture-fixtures/clients.ts
 * Zero-code exports http/json (logs included, exactly as sent); the others only speak http/protobuf,
 * whose trace requests are decoded to OTLP/JSON with the vendored protos.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMockLLM, type MockLLMServer } from '../../test/helpers/mock-llm.js';
import { requestAsOtlpJson, startOtlpTee } from '../../test/helpers/otlp-tee.js';
import {
  CLIENTS_DIR, runLangChainOpenInference, runTraceloopAnthropic, runTraceloopOpenAI, runZeroCodeOpenAI, type AppRun,
} from '../../test/helpers/client-apps.js';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'testdata', 'clients');
const version = (pkg: string) =>
  (JSON.parse(readFileSync(join(CLIENTS_DIR, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

async function capture(name: string, libs: string[], run: (endpoint: string, llm: MockLLMServer) => Promise<AppRun>): Promise<void> {
  const [llm, tee] = await Promise.all([startMockLLM(), startOtlpTee(null)]);
  try {
    await run(tee.url, llm);
    const source = `captured by scripts/capture-fixtures/clients.ts (mock LLM server) with ${libs.map((l) => `${l}@${version(l)}`).join(', ')}`;
    const requests = tee.records.map((r) => ({ path: r.path, contentType: r.contentType, body: requestAsOtlpJson(r) }));
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ source, requests }, null, 1) + '\n');
    console.log(`${name}: ${requests.map((r) => r.path).join(' ')}`);
  } finally {
    await Promise.all([llm.close(), tee.close()]);
  }
}

const OTEL = ['@opentelemetry/auto-instrumentations-node', '@opentelemetry/instrumentation-openai', 'openai'];
const TRACELOOP = ['@traceloop/node-server-sdk', '@traceloop/instrumentation-openai', '@traceloop/instrumentation-anthropic'];
await capture('zero-code-openai', OTEL, (e, llm) => runZeroCodeOpenAI(e, 'http/json', 'zero-code-openai', llm));
await capture('traceloop-openai', [...TRACELOOP.slice(0, 2), 'openai'], (e, llm) => runTraceloopOpenAI(e, 'traceloop-openai', llm));
await capture('traceloop-anthropic', [TRACELOOP[0]!, TRACELOOP[2]!, '@anthropic-ai/sdk'],
  (e, llm) => runTraceloopAnthropic(e, 'traceloop-anthropic', llm, true));
await capture('traceloop-anthropic-sdk-tracing-off', [TRACELOOP[0]!, TRACELOOP[2]!, '@anthropic-ai/sdk'],
  (e, llm) => runTraceloopAnthropic(e, 'traceloop-anthropic-off', llm, false));
await capture('langchain-openinference', ['langchain', '@langchain/core', '@langchain/openai', '@arizeai/openinference-instrumentation-langchain'],
  (e, llm) => runLangChainOpenInference(e, 'langchain-openinference', llm));
