/**
 * Every RUNLEDGER_* variable the code reads is in README's Configuration table with the default the code
 * applies, and every variable the README or docs/ name is one the code reads.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaults, type Config } from './config.js';

const root = new URL('../', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(root, p), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return p === join('src', 'otlp', 'gen') ? [] : sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

/** Variables the code reads: named in a string literal or a property access (`env.RUNLEDGER_X`, `'RUNLEDGER_X'`). */
const codeVars = new Set(sources('src').flatMap((f) =>
  [...read(f).matchAll(/(?:['"`]|\.)(RUNLEDGER_[A-Z0-9_]*[A-Z0-9])\b/g)].map((m) => m[1]!)));

/** README's Configuration table: variable → the default column's first code span (or its text). */
const table = new Map<string, string>();
const config = /## Configuration\n([\s\S]*?)\n## /.exec(read('README.md'))![1]!;
for (const line of config.split('\n')) {
  const cells = line.split('|').slice(1, -1).map((c) => c.trim());
  if (cells.length < 3 || !cells[0]!.includes('`')) continue;
  const names = [...cells[0]!.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!);
  // "`a` / `b`" gives one default per variable; "`65536`" or "unset → embedded" one for all
  const values = [...cells[1]!.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
  names.forEach((n, i) => table.set(n, values.length === names.length ? values[i]! : values[0] ?? cells[1]!.split(' ')[0]!));
}

/** config.ts: RUNLEDGER_X → the Config field it sets (`int(env, 'RUNLEDGER_X', defaults.f)`, `env.RUNLEDGER_X || defaults.f`). */
const fieldOf = new Map<string, keyof Config>();
for (const m of read('src/config.ts').matchAll(/(\w+): (?:int|bool)\(env, '(RUNLEDGER_\w+)', defaults\.\w+\)|(\w+): env\.(RUNLEDGER_\w+) \|\| defaults\.\w+/g)) {
  fieldOf.set((m[2] ?? m[4])!, (m[1] ?? m[3]) as keyof Config);
}

describe('RUNLEDGER_* configuration is documented', () => {
  it('finds the variables (the extraction works)', () => {
    expect(codeVars.has('RUNLEDGER_HTTP_PORT') && codeVars.has('RUNLEDGER_LOG_LEVEL')).toBe(true);
    expect(table.get('RUNLEDGER_GRPC_PORT')).toBe('4317');
    expect(fieldOf.get('RUNLEDGER_WRITERS')).toBe('writers');
  });

  it('lists every variable the code reads in the README table', () => {
    expect([...codeVars].filter((v) => !table.has(v)).sort()).toEqual([]);
  });

  it('names no variable the code does not read (README, docs/)', () => {
    const docs = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)];
    const named = new Set(docs.flatMap((f) => [...read(f).matchAll(/\b(RUNLEDGER_[A-Z0-9_]*[A-Z0-9])\b/g)].map((m) => m[1]!)));
    expect([...named].filter((v) => !codeVars.has(v)).sort()).toEqual([]);
  });

  it('gives the default the code applies', () => {
    const wrong: string[] = [];
    for (const [v, field] of fieldOf) {
      const d = defaults[field];
      const want = d === null ? 'unset' : typeof d === 'object' ? 'unset' : String(d);
      const got = table.get(v);
      if (got === undefined || got.replace(/_/g, '') !== want) wrong.push(`${v}: README ${got}, code ${want}`);
    }
    expect(wrong).toEqual([]);
    expect(table.get('RUNLEDGER_LOG_LEVEL')).toBe('info'); // src/log.ts levelOf(undefined)
  });
});
