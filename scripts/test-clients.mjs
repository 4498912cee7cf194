#!/usr/bin/env node
// Installs test/clients (the real GenAI client packages only the end-to-end tests use: OpenAI, Anthropic,
// LangChain, OpenLLMetry, OpenTelemetry zero-code, ...) with `npm ci` when its node_modules is missing or
// stale, so the root `npm install && npm start` stays lean (~380 MB of clients are not a newcomer's cost).
// Run by `npm test` (pretest) and by the vitest global setup; a no-op (a hash compare) when up to date.
// Stale = the stamp written after the last install differs from sha256(package.json, package-lock.json, node major).
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLIENTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'clients');
const STAMP = path.join(CLIENTS_DIR, 'node_modules', '.runledger-installed');

function wanted() {
  const h = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) h.update(readFileSync(path.join(CLIENTS_DIR, f)));
  h.update(process.versions.node.split('.')[0]);
  return h.digest('hex');
}

/** Installs the test clients unless installed from the same lockfile; returns whether it installed. */
export function ensureTestClients({ quiet = false } = {}) {
  const want = wanted();
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === want) return false;
  const t0 = Date.now();
  if (!quiet) console.log('test/clients: installing the end-to-end test clients (npm ci) ...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: CLIENTS_DIR, stdio: quiet ? 'pipe' : 'inherit' });
  if (r.status !== 0) {
    const out = quiet ? `\n${r.stdout}\n${r.stderr}` : '';
    throw new Error(`test/clients: npm ci failed (exit ${r.status ?? r.signal})${out}`);
  }
  writeFileSync(STAMP + '.tmp', want + '\n');
  renameSync(STAMP + '.tmp', STAMP);
  if (!quiet) console.log(`test/clients: installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    ensureTestClients();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
