/**
 * `runledger serve` misconfigured as a newcomer might: each mistake ends the start with one line on stderr naming
 * the variable to change and exit 1, never a stack trace, and never a gateway that retries forever what cannot work.
 * Runs the built CLI (npm run build); no database is needed (DATABASE_URL points at a closed port).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/db/paths.js';
import { freePort } from '../src/db/embedded.js';

const CLI = join(packageRoot(), 'dist/src/cli.js');
const NO_DB = 'postgres://runledger:x@127.0.0.1:1/ledger';

/** serve with `env`: its exit code (null: still running after `ms`, then killed) and stderr. */
async function serve(env: Record<string, string>, ms = 15_000): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env: { ...process.env, RUNLEDGER_GRPC_PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, ms);
    child.once('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  return { code, stderr };
}

describe('runledger serve, misconfigured', () => {
  it('a missing price file: one line naming RUNLEDGER_PRICES_FILE, exit 1 (was a "fatal" log line with a stack trace)', async () => {
    const r = await serve({ DATABASE_URL: NO_DB, RUNLEDGER_HTTP_PORT: String(await freePort()), RUNLEDGER_PRICES_FILE: '/nonexistent/prices.json' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('RUNLEDGER_PRICES_FILE: cannot load price table /nonexistent/prices.json');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a host that is no address of this machine: told to change RUNLEDGER_HTTP_HOST, not the port', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface: EADDRNOTAVAIL, without a name lookup
    const r = await serve({ DATABASE_URL: NO_DB, RUNLEDGER_HTTP_HOST: '192.0.2.1', RUNLEDGER_HTTP_PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot listen for OTLP/HTTP on 192.0.2.1');
    expect(r.stderr).toContain('set RUNLEDGER_HTTP_HOST to an address of this machine');
    expect(r.stderr).not.toContain('RUNLEDGER_HTTP_PORT');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a DATABASE_URL pg cannot parse: exit 1 naming it (was a gateway answering 503 and retrying it every second)', async () => {
    const r = await serve({ DATABASE_URL: 'postgres://runledger:x@127.0.0.1:notaport/ledger', RUNLEDGER_HTTP_PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DATABASE_URL is not a URL pg can use/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a value out of range: names the variable and the value', async () => {
    const r = await serve({ DATABASE_URL: NO_DB, RUNLEDGER_WRITERS: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('invalid configuration: RUNLEDGER_WRITERS (writers) must be a positive integer, got 0');
  });

  it('without DATABASE_URL, an embedded port in use: one line naming RUNLEDGER_EMBEDDED_PG_PORT and the server\'s reason, no stack, no initdb chatter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runledger-cfg-'));
    chmodSync(dir, 0o755); // run as root, the server runs as postgres, which must enter it
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const r = await serve({ DATABASE_URL: '', RUNLEDGER_DATA_DIR: join(dir, 'data'), RUNLEDGER_EMBEDDED_PG_PORT: String(port), RUNLEDGER_HTTP_PORT: String(await freePort()) }, 60_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`embedded PostgreSQL failed to start in ${join(dir, 'data', 'pgdata')} on port ${port}`);
      expect(r.stderr).toContain('RUNLEDGER_EMBEDDED_PG_PORT chooses another');
      expect(r.stderr).toMatch(/could not bind .*Address already in use/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toContain('"msg":"fatal"');
      expect(r.stderr).not.toContain('Success. You can now start the database server'); // initdb's output
    } finally {
      taken.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(process.getuid?.() === 0)('run as root under a 0700 directory: one line naming it, no stack (README, Start it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runledger-cfg-')); // 0700
    try {
      mkdirSync(join(dir, 'data'));
      const r = await serve({ DATABASE_URL: '', RUNLEDGER_DATA_DIR: join(dir, 'data'), RUNLEDGER_HTTP_PORT: String(await freePort()) });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(new RegExp(`^embedded PostgreSQL cannot start: run as root, .* cannot enter ${dir} `));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without DATABASE_URL, a RUNLEDGER_DATA_DIR that cannot be created (a file in the way): one line naming it, no stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runledger-cfg-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      const r = await serve({ DATABASE_URL: '', RUNLEDGER_DATA_DIR: join(dir, 'file'), RUNLEDGER_HTTP_PORT: String(await freePort()) });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(new RegExp(`^cannot create the embedded PostgreSQL's data directory ${join(dir, 'file')} \\(RUNLEDGER_DATA_DIR\\): .* is not a directory`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(existsSync('/proc/self'))('a RUNLEDGER_DATA_DIR under /proc: exit 1 at once (fs\'s recursive mkdir spun there forever, deaf to SIGTERM)', async () => {
    const r = await serve({ DATABASE_URL: '', RUNLEDGER_DATA_DIR: '/proc/runledger-no-such-dir/data', RUNLEDGER_HTTP_PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^cannot create the embedded PostgreSQL's data directory \/proc\/runledger-no-such-dir\/data \(RUNLEDGER_DATA_DIR\): ENOENT/);
  });
});

