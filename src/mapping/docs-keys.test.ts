/**
 * Every attribute key the code reads (src/, and the views of sql/) is documented for users in docs/ (mapping.md,
 * schema.md, queries.md, compat.md), and mapping.md's numbered precedence matches the code's ordered key lists. Keys
 * are found in the source text (TypeScript's parser), not in a hand-kept list, so a key added to a key list without
 * docs fails here.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { MODEL_KEYS } from './model.js';
import { PROVIDER_KEYS } from './provider.js';
import { SESSION_KEYS, USER_KEYS } from './params.js';
import {
  CACHE_READ_KEYS, CACHE_WRITE_KEYS, INPUT_TOKEN_KEYS, OUTPUT_TOKEN_KEYS, REASONING_KEYS, TOTAL_TOKEN_KEYS,
} from './usage.js';

const root = new URL('../../', import.meta.url).pathname;
const DOCS = ['docs/mapping.md', 'docs/schema.md', 'docs/queries.md', 'docs/compat.md'];

/** An attribute key's shape: namespaced by dots or colons (`gen_ai.usage.input_tokens`, `genkit:name`); a
 * trailing dot is a prefix of flattened keys (`llm.input_messages.`). */
const KEY_SHAPE = /^[a-z][A-Za-z0-9_]*(?:[.:][A-Za-z0-9_]+)+\.?$/;

/**
 * Key-shaped strings of src/mapping that are not attribute keys. Each needs a reason; anything else key-shaped
 * in src/mapping must be documented.
 */
const NOT_KEYS: Record<string, string> = {
  'package.json': 'manifest.ts reads the pinned genai-prices version from its package.json',
  'google.vertex': 'provider.ts: the head of AI SDK provider ids (`google.vertex.chat`, documented)',
  'llama.cpp': 'manifest.ts: a self-hosted runtime, a provider value (README, Prices)',
  'tool.v2': 'genkit.ts: a genkit:metadata:subtype value',
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (p !== join('src', 'otlp', 'gen')) out.push(...sourceFiles(p));
    } else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * The attribute keys a source file reads:
 * - in src/mapping: every key-shaped string literal, and every string of an array literal that holds one (key
 *   lists mix in bare keys: `tool_arguments`) or of a constant named *_KEY / *_KEYS (`agent_name`, `metadata`);
 * - elsewhere: string literals indexing an `attributes` or `resource` object (`r.attributes['event.name']`).
 */
function keysRead(file: string): Set<string> {
  const inMapping = file.startsWith(join('src', 'mapping'));
  const sf = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const keys = new Set<string>();
  const strings = (n: ts.Node): string[] => {
    const out: string[] = [];
    const walk = (m: ts.Node): void => {
      if (ts.isStringLiteralLike(m)) out.push(m.text);
      ts.forEachChild(m, walk);
    };
    walk(n);
    return out;
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) return;
    if (inMapping) {
      if (ts.isStringLiteralLike(n) && KEY_SHAPE.test(n.text)) keys.add(n.text);
      // not a vocabulary of values (`new Set([...])` of provider or runtime names)
      if (ts.isArrayLiteralExpression(n) && !(ts.isNewExpression(n.parent) && n.parent.expression.getText(sf) === 'Set')) {
        const elems = n.elements.filter(ts.isStringLiteralLike).map((e) => e.text);
        if (elems.some((s) => KEY_SHAPE.test(s))) for (const s of elems) keys.add(s);
      }
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && /_KEYS?$/.test(n.name.text) && n.initializer) {
        for (const s of strings(n.initializer)) if (/^[a-z][A-Za-z0-9_.:]*$/.test(s)) keys.add(s);
      }
    } else if (ts.isElementAccessExpression(n) && ts.isStringLiteralLike(n.argumentExpression) &&
      /(attributes|resource)$/.test(n.expression.getText(sf))) {
      keys.add(n.argumentExpression.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  for (const k of Object.keys(NOT_KEYS)) keys.delete(k);
  return keys;
}

/** The inline code spans of the docs (`...`): a key counts as documented only inside one. */
const codeSpans = DOCS.flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!));
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Documented: a code span holds the key as a whole word (`x.y` does not document `x`; a prefix `x.` needs `x.N…`). */
function documented(key: string, spans: readonly string[] = codeSpans): boolean {
  const re = key.endsWith('.')
    ? new RegExp(`(?:^|[^A-Za-z0-9_.:])${escape(key)}`)
    : new RegExp(`(?:^|[^A-Za-z0-9_.:])${escape(key)}(?![A-Za-z0-9_:]|\\.[A-Za-z0-9_])`);
  return spans.some((s) => re.test(s));
}

const files = sourceFiles('src');
const read = new Map<string, string[]>();
for (const f of files) for (const k of keysRead(f)) read.set(k, [...(read.get(k) ?? []), f]);
// the views read attributes too (compat's service_version: resource ->> 'service.version')
for (const f of readdirSync(join(root, 'sql')).filter((n) => n.endsWith('.sql')).map((n) => join('sql', n))) {
  for (const m of readFileSync(join(root, f), 'utf8').matchAll(/\b(?:attributes|resource)\s*->>?\s*'([^']+)'/g)) {
    read.set(m[1]!, [...(read.get(m[1]!) ?? []), f]);
  }
}

describe('every attribute key the code reads is documented in docs/', () => {
  it('finds the keys (the extraction works)', () => {
    for (const k of ['gen_ai.usage.input_tokens', 'llm.input_messages.', 'tool_arguments', 'agent_name', 'metadata',
      'event.name', 'service.name', 'input.mime_type', 'genkit:output', 'gen_ai.prompt', 'service.version']) {
      expect(read.has(k), k).toBe(true);
    }
    expect(read.size).toBeGreaterThan(150);
  });

  it('documents each of them', () => {
    const missing = [...read].filter(([k]) => !documented(k)).map(([k, f]) => `${k} (${f.join(', ')})`);
    expect(missing, 'keys the code reads that docs/ does not name in a code span').toEqual([]);
  });

  it('the matcher is strict about whole keys', () => {
    expect(documented('gen_ai.usage', ['gen_ai.usage.cost'])).toBe(false);
    expect(documented('gen_ai.usage.cost', ['gen_ai.usage.cost'])).toBe(true);
    expect(documented('llm.tools.', ['llm.tools.N.tool.json_schema'])).toBe(true);
    expect(documented('ai.usage.inputTokenDetails.noCacheTokens', ['ai.usage.inputTokenDetails.*'])).toBe(false);
  });
});

/** mapping.md's Node columns row of a column: its keys in the order of their numbers (1 is tried first). */
function docOrder(column: string): string[] {
  const md = readFileSync(join(root, 'docs/mapping.md'), 'utf8');
  const row = md.split('\n').find((l) => l.startsWith(`| ${column} |`));
  if (row === undefined) throw new Error(`docs/mapping.md has no row for ${column}`);
  const numbered: [number, string][] = [];
  // "3 `key`", "6 Pydantic AI `key`", "9 Google ADK 1.x `key`"; "(2)" repeats a key of another column
  for (const m of row.matchAll(/(?<![(\w.])(\d+)\s+(?:[\w.]+\s+){0,3}?`([^`]+)`/g)) numbered.push([Number(m[1]), m[2]!]);
  return numbered.sort((a, b) => a[0] - b[0]).map(([, k]) => k);
}

describe('docs/mapping.md gives the precedence the code applies', () => {
  const lists: [string, readonly string[]][] = [
    ['model_name', MODEL_KEYS], ['provider', PROVIDER_KEYS], ['input_tokens', INPUT_TOKEN_KEYS],
    ['output_tokens', OUTPUT_TOKEN_KEYS], ['cache_read_tokens', CACHE_READ_KEYS], ['cache_write_tokens', CACHE_WRITE_KEYS],
    ['reasoning_tokens', REASONING_KEYS], ['total_tokens', TOTAL_TOKEN_KEYS], ['session_id', SESSION_KEYS],
    ['user_id', USER_KEYS],
  ];
  for (const [column, keys] of lists) {
    it(column, () => {
      // keys the row numbers that are not attribute keys of this list (a metadata JSON field) are left out
      expect(docOrder(column).filter((k) => keys.includes(k))).toEqual([...keys]);
    });
  }
});
