/**
 * Writes the hand-written fixtures to testdata/mapping/<name>.spans.json.
 *   npx vite-node scripts/capture-fixtures/handwritten.ts
 * Afterwards regenerate the goldens: UPDATE_GOLDEN=1 npx vitest run src/mapping
 */
import { otelGenAiCurrent, otelGenAiDeprecated, traceloop } from './handwritten-conventions.js';
import { contentFixtures, costFixture, openInferenceKinds } from './handwritten-misc.js';
import { agentAndToolNames, genkit, providers, toolContent } from './handwritten-frameworks.js';
import { operations, usageKeys, usageWithoutModel } from './handwritten-usage.js';
import { genAiContent, runHints, vercelRenamed } from './handwritten-runs.js';
import { clientKeys } from './handwritten-clients.js';

otelGenAiCurrent();
otelGenAiDeprecated();
traceloop();
openInferenceKinds();
costFixture();
contentFixtures();
genkit();
providers();
agentAndToolNames();
toolContent();
usageKeys();
usageWithoutModel();
operations();
genAiContent();
runHints();
vercelRenamed();
clientKeys();
