/**
 * The advisory lock keys of src/constants.ts are the ones the migrations use: released migrations keep their
 * literals, so this holds the two equal (and a new migration taking a new key has to name it there).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADVISORY_LOCK } from '../src/constants.js';

const SQL = new URL('../sql/', import.meta.url);

/** The key each locking SQL function takes. */
const BY_FUNCTION: Record<string, number> = {
  'runledger.ensure_day_partitions': ADVISORY_LOCK.partitions,
  'runledger.refresh_daily_usage': ADVISORY_LOCK.dailyUsage,
  'runledger.finalize_daily_usage': ADVISORY_LOCK.dailyUsage,
};

/** Every pg_advisory_lock / pg_advisory_xact_lock literal of sql/, with the function it stands in. */
function sqlLocks(): { file: string; fn: string | null; key: number }[] {
  const out: { file: string; fn: string | null; key: number }[] = [];
  for (const file of readdirSync(SQL).filter((f) => f.endsWith('.sql')).sort()) {
    const text = readFileSync(new URL(file, SQL), 'utf8');
    for (const m of text.matchAll(/pg_advisory_(?:xact_)?lock\((\d+)\)/g)) {
      const fns = [...text.slice(0, m.index).matchAll(/CREATE (?:OR REPLACE )?FUNCTION (runledger\.\w+)/g)];
      out.push({ file, fn: fns.at(-1)?.[1] ?? null, key: Number(m[1]) });
    }
  }
  return out;
}

describe('advisory lock keys', () => {
  it('are the ones the migrations take, function by function', () => {
    const locks = sqlLocks();
    expect(locks.length).toBeGreaterThan(0);
    for (const l of locks) {
      expect(Object.values(ADVISORY_LOCK), `${l.file}: key ${l.key} is not in src/constants.ts`).toContain(l.key);
      expect(BY_FUNCTION[l.fn ?? ''], `${l.file}: ${l.fn} takes ${l.key}`).toBe(l.key);
    }
  });

  it('are distinct, and the migration runner takes none (an analyst could hold it: test/analyst-locks.test.ts)', () => {
    const keys = Object.values(ADVISORY_LOCK);
    expect(new Set(keys).size).toBe(keys.length);
    const migrate = readFileSync(new URL('../src/db/migrate.ts', import.meta.url), 'utf8');
    expect(migrate).not.toMatch(/pg_advisory|ADVISORY_LOCK/);
  });

  it('are taken by no function as the last migration defining it leaves it (sql/026)', () => {
    const last = new Map<string, { file: string; text: string }>();
    for (const file of readdirSync(SQL).filter((f) => f.endsWith('.sql')).sort()) {
      const text = readFileSync(new URL(file, SQL), 'utf8');
      const defs = [...text.matchAll(/CREATE (?:OR REPLACE )?FUNCTION (runledger\.\w+)/g)];
      defs.forEach((d, i) => last.set(d[1]!, { file, text: text.slice(d.index, defs[i + 1]?.index ?? text.length) }));
    }
    for (const [fn, def] of last) expect(def.text, `${def.file}: ${fn}`).not.toMatch(/pg_advisory/);
  });
});
