/**
 * The module graph of src/ runs one way (docs/architecture.md): each unit (a folder of src/, or a file at its
 * top) imports only units of a lower rank. The rollups never reach back into the sink, the sink never into the
 * pipeline, nothing below the command line into cli/. A new unit must be given its rank here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Lower ranks first; units of one rank are siblings and do not import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  ['constants.ts', 'errors.ts', 'log.ts', 'periodic.ts'], // vocabulary every layer shares
  ['config.ts', 'db'], // configuration; embedded PostgreSQL and migrations
  ['otlp'], // wire model and decoders (the pdata of this gateway)
  ['mapping'], // GenAI conventions → ledger records
  ['rollup'], // run rollups: usage counting, deltas, run locks (a leaf the sink calls)
  ['sink'], // rows, batcher, writers
  ['worker', 'maintenance'], // prepare threads; repair, reprice, retention, daily usage
  ['metrics.ts', 'health.ts', 'auth.ts'],
  ['pipeline.ts'],
  ['ingest.ts'],
  ['receiver'],
  ['startup.ts'],
  ['gateway.ts', 'exporter.ts'],
  ['cli'],
  ['cli.ts'],
];

const rank = new Map<string, number>(LAYERS.flatMap((units, i) => units.map((u) => [u, i] as const)));

/** The unit of a path relative to src/: its first segment. */
const unitOf = (rel: string) => rel.split('/')[0]!;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'gen' ? [] : sources(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [p] : [];
  });
}

/** Relative imports of a file (static, type-only, re-exports, dynamic), resolved to paths relative to src/. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)) {
    out.push(relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
  }
  return out;
}

/** Imports that break the order: [from, to] units with the files. */
export function backImports(files: { file: string; text?: string }[]): string[] {
  const bad: string[] = [];
  for (const { file, text } of files) {
    const from = unitOf(relative(SRC, file));
    for (const target of importsOf(file, text)) {
      if (target.startsWith('..')) continue; // outside src/ (generated proto code is inside)
      const to = unitOf(target);
      if (to === from) continue;
      const rf = rank.get(from);
      const rt = rank.get(to);
      if (rf === undefined || rt === undefined || rt >= rf) bad.push(`${relative(SRC, file)} → ${target} (${from} → ${to})`);
    }
  }
  return bad;
}

describe('module layers', () => {
  const files = sources(SRC);

  it('gives every unit of src/ a rank', () => {
    const units = new Set(files.map((f) => unitOf(relative(SRC, f))));
    expect([...units].filter((u) => !rank.has(u))).toEqual([]);
  });

  it('has no import from a lower layer back up, nor between siblings', () => {
    expect(backImports(files.map((file) => ({ file })))).toEqual([]);
  });

  it('catches one: the rollups importing the sink', () => {
    const file = join(SRC, 'rollup/usage.ts');
    const text = `import { hasUsage } from '../sink/encoder.js';\n${readFileSync(file, 'utf8')}`;
    expect(backImports([{ file, text }])).toEqual(['rollup/usage.ts → sink/encoder.ts (rollup → sink)']);
  });
});
