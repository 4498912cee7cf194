/**
 * Captures REAL GenAI instrumentation spans into testdata/mapping/<name>.spans.json (SpanRecord JSON).
 *   npx vite-node scripts/capture-fixtures/capture.ts
 * Afterwards regenerate the goldens: UPDATE_GOLDEN=1 npx vitest run src/mapping
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createSpanCapture, runOpenInferenceOpenAIScenarios, runOtelOpenAIScenarios, runVercelAiScenarios, startMockOpenAI,
  type SpanCapture,
} from '../../test/helpers/genai-fixtures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = join(root, 'testdata', 'mapping');
function version(pkg: string): string {
  // the client packages are in the test package (test/clients), not in the root node_modules
  return (JSON.parse(readFileSync(join(root, 'test', 'clients', 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

async function capture(name: string, libs: string[], run: (c: SpanCapture) => Promise<void>): Promise<void> {
  const c = createSpanCapture({ 'service.name': `fixture-${name}`, 'deployment.environment.name': 'test' });
  await run(c);
  await c.provider.forceFlush();
  const spans = c.records();
  await c.shutdown();
  const source = `captured by scripts/capture-fixtures/capture.ts with ${libs.map((l) => `${l}@${version(l)}`).join(', ')}`;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}.spans.json`), JSON.stringify({ source, spans }, null, 1) + '\n');
  console.log(`${name}: ${spans.length} spans`);
}

const server = await startMockOpenAI();
try {
  await capture('vercel-ai', ['ai'], runVercelAiScenarios);
  await capture('otel-openai', ['openai', '@opentelemetry/instrumentation-openai'], (c) => runOtelOpenAIScenarios(c, server.baseURL));
  await capture('openinference-openai', ['openai', '@arizeai/openinference-instrumentation-openai'],
    (c) => runOpenInferenceOpenAIScenarios(c, server.baseURL));
} finally {
  await server.close();
}
