/**
 * Every table and view of schemas runledger and compat, and each of their columns, is documented in docs/
 * (schema.md, queries.md, compat.md): read from a migrated database's pg_catalog and compared with the doc
 * section of each relation, and where a doc table gives a column's type, that type is the catalog's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createTestDb, type TestDb } from './helpers/db.js';

let db: TestDb;
/** `schema.relation` → its columns in order, with their types as format_type prints them. */
const catalog = new Map<string, { name: string; type: string }[]>();

beforeAll(async () => {
  db = await createTestDb('schemadocs');
  const r = await db.pool.query<{ rel: string; name: string; type: string }>(`
    SELECT n.nspname || '.' || c.relname AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname IN ('runledger', 'compat') AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
    ORDER BY 1, a.attnum`);
  for (const x of r.rows) catalog.set(x.rel, [...(catalog.get(x.rel) ?? []), { name: x.name, type: x.type }]);
});
afterAll(async () => { await db?.drop(); });

const doc = (f: string) => readFileSync(new URL(`../docs/${f}`, import.meta.url), 'utf8');

/** The text of a section: from the heading matching `heading` to the next heading of the same or a higher level. */
function section(file: string, heading: RegExp): string {
  const lines = doc(file).split('\n');
  const at = lines.findIndex((l) => /^#+ /.test(l) && heading.test(l));
  if (at < 0) throw new Error(`docs/${file} has no heading matching ${heading}`);
  const level = /^#+/.exec(lines[at]!)![0].length;
  let end = lines.findIndex((l, i) => i > at && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  if (end < 0) end = lines.length;
  return lines.slice(at, end).join('\n');
}

/**
 * Where each relation is documented. `sameAs`: the doc says it has the columns of another relation (checked
 * against the catalog), with `plus` columns documented in its own section.
 */
const WHERE: Record<string, { file: string; heading: RegExp; sameAs?: string; without?: string[] }> = {
  'runledger.runs': { file: 'schema.md', heading: /^## runs —/ },
  'runledger.nodes': { file: 'schema.md', heading: /^## nodes —/ },
  'runledger.nodes_full': { file: 'schema.md', heading: /^## Content once/, sameAs: 'runledger.nodes' },
  'runledger.spans': { file: 'schema.md', heading: /^## spans —/ },
  'runledger.raw_spans': { file: 'schema.md', heading: /^### raw_spans —/ },
  'runledger.resources': { file: 'schema.md', heading: /^### resources —/ },
  'runledger.logs': { file: 'schema.md', heading: /^## logs —/ },
  'runledger.raw_logs': { file: 'schema.md', heading: /^## logs —/, sameAs: 'runledger.logs', without: ['resource_hash'] },
  'runledger.pending_content': { file: 'schema.md', heading: /^## logs —/ },
  'runledger.unpriced_models': { file: 'schema.md', heading: /^## unpriced_models —/ },
  'runledger.api_keys': { file: 'schema.md', heading: /^## api_keys —/ },
  'runledger.analyst_tenants': { file: 'schema.md', heading: /^## Row-level security/ },
  'runledger.usage_frontier': { file: 'schema.md', heading: /^## usage_frontier —/ },
  'runledger.repair_queue': { file: 'schema.md', heading: /^## repair_queue —/ },
  'runledger.schema_migrations': { file: 'schema.md', heading: /^# The runledger schema/ },
  'runledger.run_summary': { file: 'queries.md', heading: /^## run_summary/ },
  'runledger.node_trees': { file: 'queries.md', heading: /^## node_tree\(run_id\) and node_trees/ },
  'runledger.failed_nodes': { file: 'queries.md', heading: /^## failed_nodes/ },
  'runledger.daily_usage': { file: 'queries.md', heading: /^## daily_usage/ },
  'runledger.daily_usage_rollup': { file: 'queries.md', heading: /^## daily_usage/ },
  'runledger.rollup_refreshes': { file: 'queries.md', heading: /^## daily_usage/ },
  'compat.ledger_runs': { file: 'compat.md', heading: /^## `ledger_runs`, `ledger_nodes`/ },
  'compat.ledger_nodes': { file: 'compat.md', heading: /^## `ledger_runs`, `ledger_nodes`/ },
  'compat.olo_run': { file: 'compat.md', heading: /^## 000 — `olo_run`$/ },
  'compat.olo_run_node': { file: 'compat.md', heading: /^## 000 — `olo_run_node`/ },
  'compat.runs': { file: 'compat.md', heading: /^## 001 — / },
  'compat.step_runs': { file: 'compat.md', heading: /^## 001 — / },
  'compat.traces': { file: 'compat.md', heading: /^## 002 — / },
  'compat.spans': { file: 'compat.md', heading: /^## 002 — / },
  'compat.core_workflow_runs': { file: 'compat.md', heading: /^## 003 — / },
  'compat.core_workflow_steps': { file: 'compat.md', heading: /^## 003 — / },
  'compat.executions': { file: 'compat.md', heading: /^## 004 — / },
};

const word = (w: string) => new RegExp(`(?<![A-Za-z0-9_])${w}(?![A-Za-z0-9_])`);

/** A doc type as format_type prints it ('int' → 'integer', 'varchar(255)' → 'character varying(255)', ...). */
function pgType(t: string): string {
  const s = t.replace(/\s+PK$/, '').trim();
  const m = /^varchar(\(\d+\))?$/.exec(s);
  if (m) return `character varying${m[1] ?? ''}`;
  return ({ int: 'integer', timestamptz: 'timestamp with time zone', timestamp: 'timestamp without time zone' } as Record<string, string>)[s] ?? s;
}

/**
 * The columns the doc tables of a section list, with the type where the table has a type column: rows
 * `| a, b | t1, t2 | ... |` (or one type for all) under a header `| [<view>] column | ... |`. A header without a
 * view prefix belongs to the relation the section's heading names (`own`); `runs column` to the view `runs`.
 */
function docColumns(text: string, view: string, own: boolean): Map<string, string | null> {
  const out = new Map<string, string | null>();
  let mine = false;
  let typed = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    // a sub-section documents another relation: unprefixed tables there are not this one's
    if (i > 0 && /^#+ /.test(line)) own = false;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells.length < 2) { mine = false; continue; }
    const head = /^(?:(\w+) )?column$/.exec(cells[0]!);
    if (head) { mine = head[1] === undefined ? own : head[1] === view; typed = cells[1] === 'type'; continue; }
    if (!mine || /^-+$/.test(cells[0]!)) continue;
    const names = cells[0]!.split(',').map((c) => c.trim());
    const types = typed ? cells[1]!.split(/,(?![^(]*\))/).map((c) => c.trim()).filter((c) => c !== '') : [];
    names.forEach((n, i) => out.set(n, types.length === 0 ? null : pgType(types.length === names.length ? types[i]! : types[0]!)));
  }
  return out;
}

describe('every table and view of runledger and compat is documented, every column of it', () => {
  it('has a doc section for each relation (and none for a relation that is gone)', () => {
    expect([...catalog.keys()].sort()).toEqual(Object.keys(WHERE).sort());
  });

  for (const [rel, w] of Object.entries(WHERE)) {
    it(rel, () => {
      const cols = catalog.get(rel);
      expect(cols, `${rel} is not in the migrated database`).toBeDefined();
      const text = section(w.file, w.heading);
      const name = rel.split('.')[1]!;
      expect(word(name).test(text), `docs/${w.file} section ${w.heading} does not name ${name}`).toBe(true);
      let own = cols!;
      if (w.sameAs) {
        // documented as "the columns of <sameAs>": hold the doc to it
        const base = catalog.get(w.sameAs)!.filter((c) => !(w.without ?? []).includes(c.name));
        expect(cols!.slice(0, base.length), `${rel} no longer has the columns of ${w.sameAs}`).toEqual(base);
        own = cols!.slice(base.length);
      }
      const missing = own.filter((c) => !word(c.name).test(text)).map((c) => c.name);
      expect(missing, `columns of ${rel} that docs/${w.file} does not name`).toEqual([]);
      const headingLine = text.split('\n')[0]!;
      const listed = docColumns(text, name, word(name).test(headingLine));
      const gone = [...listed.keys()].filter((c) => !cols!.some((x) => x.name === c));
      expect(gone, `columns docs/${w.file} lists for ${rel} that it does not have`).toEqual([]);
      const types = new Map([...listed].filter((e): e is [string, string] => e[1] !== null));
      const wrong = own.filter((c) => types.has(c.name) && !(types.get(c.name) === c.type ||
        (types.get(c.name) === 'character varying' && c.type.startsWith('character varying')) ||
        (types.get(c.name) === 'numeric' && c.type.startsWith('numeric'))))
        .map((c) => `${c.name}: doc ${types.get(c.name)}, catalog ${c.type}`);
      expect(wrong, `column types docs/${w.file} gives wrong for ${rel}`).toEqual([]);
    });
  }
});
