/**
 * Writes the hand-written fixtures to testdata/mapping/<name>.spans.json.
 *   npx vite-node scripts/capture-fixtures/handwritten.ts
 * Afterwards regenerate the goldens: UPDATE_GOLDEN=1 npx vitest run src/mapping
 */
import { otelGenAiCurrent, otelGenAiDeprecated, traceloop } from './handwritten-conventions.js';
import { contentFixtures, costFixture, openInferenceKinds } from './handwritten-misc.js';

otelGenAiCurrent();
otelGenAiDeprecated();
traceloop();
openInferenceKinds();
costFixture();
contentFixtures();
