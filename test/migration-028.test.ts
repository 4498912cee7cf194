/**
 * Migration 028: the tenant ids of runledger.api_keys follow the rule of src/config.ts (1 to 256 characters, no
 * control characters, no space at either end), checked as keys are added or changed; rows already there stay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from './helpers/db.js';
import { migrate } from '../src/db/migrate.js';
import { isTenantId } from '../src/config.js';
import { sha256Hex } from '../src/auth.js';

let db: TestDb;
const add = (tenant: string) =>
  db.pool.query('INSERT INTO runledger.api_keys (key_sha256, tenant_id) VALUES ($1, $2)', [sha256Hex(`key of ${tenant}`), tenant]);

beforeAll(async () => {
  db = await createTestDb('m028', '027_span_parent_index');
  await add(' padded, stored before 028 ');
  await migrate(db.url);
});
afterAll(async () => { await db?.drop(); });

describe('migration 028: tenant ids of API keys', () => {
  it('refuses the keys src/config.ts refuses, and takes the others', async () => {
    const cases = ['acme', 'é'.repeat(256), 'globex/eu-west', 'ACME Corp', 'a'.repeat(257), 'x'.repeat(3300), ' acme', 'acme ',
      'ac\tme', 'ac\nme', 'ac\u0001me', 'ac\u007fme'];
    for (const t of cases) {
      const stored = await add(t).then(() => true, (e: { constraint?: string }) => {
        expect(e.constraint, JSON.stringify(t)).toBe('api_keys_tenant_id_form');
        return false;
      });
      expect(stored, JSON.stringify(t)).toBe(isTenantId(t));
    }
    expect(cases.filter(isTenantId)).toEqual(['acme', 'é'.repeat(256), 'globex/eu-west', 'ACME Corp']);
  });

  it('keeps the keys stored before it (NOT VALID), which VALIDATE CONSTRAINT reports', async () => {
    const r = await db.pool.query(`SELECT count(*)::int AS n FROM runledger.api_keys WHERE tenant_id = ' padded, stored before 028 '`);
    expect(r.rows[0].n).toBe(1);
    await expect(db.pool.query('ALTER TABLE runledger.api_keys VALIDATE CONSTRAINT api_keys_tenant_id_form')).rejects.toThrow(/violated/);
  });
});
