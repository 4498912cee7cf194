/**
 * API keys → tenants, for both receivers. Keys come from the configuration (RUNLEDGER_API_KEYS) and
 * from runledger.api_keys (sha256 of the key), reloaded periodically so that added and revoked keys
 * apply without a restart. Only hashes are compared: the presented key's sha256 is looked up in a Map.
 *
 * Authentication is on when keys are configured or runledger.api_keys holds any row (revoked rows
 * included: revoking the last key must not open the gateway; delete the rows to turn it off).
 * Off, every request gets the default tenant. It fails closed: while the table cannot be read (never read
 * yet, or the last reload failed: renamed, permissions, locked, timed out, database down) no request is
 * admitted under the default tenant; keys known from the last read keep working, others get 503.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { GatewayError } from './errors.js';
import type { Logger } from './log.js';

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Reads a request header / metadata value by lowercase name. */
export type HeaderReader = (name: string) => string | undefined;

/** The key of `authorization: Bearer <key>`, else of `x-api-key: <key>`; undefined when none. */
export function presentedKey(header: HeaderReader): string | undefined {
  const bearer = /^\s*bearer\s+(\S+)\s*$/i.exec(header('authorization') ?? '');
  if (bearer) return bearer[1];
  return header('x-api-key')?.trim() || undefined;
}

/** A HeaderReader over gRPC metadata (first string value of a key). */
export function metadataReader(md: { get(key: string): (string | Buffer)[] }): HeaderReader {
  return (name) => {
    const v = md.get(name)[0];
    return typeof v === 'string' ? v : undefined;
  };
}

/**
 * The key is checked again once the body is in, before anything of it is stored: a body may take long (the
 * grace plus a second per minimum-rate bytes: over an hour for the largest), and a key revoked meanwhile, or
 * moved to another tenant, must not store it (README, "Tenants and API keys"). Both receivers call it.
 */
export function stillTenant(now: string | null, atStart: string): void {
  if (now !== atStart) throw new GatewayError('unauthenticated', 'API key revoked while the request was received');
}

export interface ApiKeyAuthOptions {
  /** key → tenant from the configuration */
  apiKeys: Record<string, string>;
  defaultTenant: string;
  refreshSeconds: number;
  /** Retry-After of the 503 answered while the table could not be read */
  retryAfterSeconds: number;
  /** where runledger.api_keys lives; null: configured keys only */
  pool: pg.Pool | null;
  log: Logger;
  /**
   * Bounds of one reload (ms): an ACCESS EXCLUSIVE lock on the table (ALTER TABLE, VACUUM FULL) or a
   * stuck server must not hold a pool connection and the key state hostage; the reload fails and is retried.
   */
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
}

/** A key of the table: its tenant and when its revocation takes effect (performance.now() ms; Infinity: never). */
interface TableKey { tenant: string; revokeAt: number }

/** Reload every second while the table cannot be read. */
const RETRY_MS = 1000;
/**
 * A key not in the table is answered 503 + Retry-After 1 s, not 401, until a read of the table that began after
 * the key was first met: a key added since the last read would otherwise get 401 until the next periodic reload
 * (30 s by default), and exporters drop a 401's data. Such keys bring the next read forward, to at most one
 * read per UNKNOWN_KEY_RELOAD_MS whatever keys are sent; at most UNKNOWN_KEYS_MAX are remembered (then forgotten
 * at once: a forgotten key gets one more 503).
 */
export const UNKNOWN_KEY_RELOAD_MS = 1000;
const UNKNOWN_KEYS_MAX = 10_000;

export class ApiKeyAuth {
  private readonly configured: Map<string, string>;
  private table = new Map<string, TableKey>();
  private tableHasRows = false;
  /** a reload has succeeded at least once */
  private loaded: boolean;
  /** the last reload succeeded */
  private fresh: boolean;
  /** performance.now() when the query of the last successful reload was sent (-Infinity: never) */
  private readAt = -Infinity;
  /** keys (sha256) not in the table when first met → performance.now() then */
  private readonly unknownSince = new Map<string, number>();
  private soonTimer: NodeJS.Timeout | null = null;
  /** performance.now() when the last read (periodic or brought forward; successful or not) began */
  private readBegan = -Infinity;
  /** a read for unknown keys is due (readSoon) */
  private soonPending = false;
  private lastError: string | null = null;
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private closed = false;

  constructor(private readonly opts: ApiKeyAuthOptions) {
    this.configured = new Map(Object.entries(opts.apiKeys).map(([key, tenant]) => [sha256Hex(key), tenant]));
    this.loaded = this.fresh = opts.pool === null;
  }

  /** true when every request must carry a valid key (as of the last successful read of the table) */
  get enabled(): boolean {
    return this.configured.size > 0 || this.tableHasRows;
  }

  /** null once the table has been read; else why it could not be (for /readyz) */
  get notLoadedReason(): string | null {
    return this.loaded ? null : `API keys not loaded yet${this.lastError ? `: ${this.lastError}` : ''}`;
  }

  /** whether every request is answered 503 for now (table never read, no configured keys) */
  get refusesAll(): boolean {
    return !this.loaded && this.configured.size === 0;
  }

  /**
   * The tenant of a request, or null (→ 401 / UNAUTHENTICATED). Throws `unavailable` (→ 503 / UNAVAILABLE,
   * retried by clients) when the table cannot be read and it may decide: an unknown key may have been
   * added since the last read; without a key, authentication may have been turned on.
   */
  tenantOf(header: HeaderReader): string | null {
    const key = presentedKey(header);
    if (key !== undefined) {
      const hash = sha256Hex(key);
      const configured = this.configured.get(hash);
      if (configured !== undefined) return configured;
      const t = this.table.get(hash);
      if (t !== undefined) {
        // a revocation in the future takes effect at its time, not at the next reload
        if (performance.now() < t.revokeAt) return t.tenant;
        return null;
      }
      if (!this.fresh) throw this.unreadable();
      if (!this.enabled) return this.opts.defaultTenant;
      if (this.opts.pool === null) return null;
      let since = this.unknownSince.get(hash);
      if (since === undefined) {
        if (this.unknownSince.size >= UNKNOWN_KEYS_MAX) this.unknownSince.clear();
        this.unknownSince.set(hash, (since = performance.now()));
      }
      if (this.readAt > since) return null; // a read that began after it was first met does not know it
      this.readSoon();
      throw new GatewayError('unavailable', 'API key not known yet: the keys are being read again', 1);
    }
    if (this.configured.size > 0) return null; // authentication is on whatever the table holds
    if (!this.loaded) throw this.unreadable();
    if (this.tableHasRows) return null; // keys were in use at the last read: a reload failing does not turn them off
    if (!this.fresh) throw this.unreadable(); // none were: keys may have been added since
    return this.opts.defaultTenant;
  }

  /** Reload runledger.api_keys now (concurrent calls share one load); rejects when it cannot be read. */
  refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    this.readBegan = performance.now();
    return (this.inflight = this.load().finally(() => { this.inflight = null; }));
  }

  /**
   * First load, then a reload every refreshSeconds (every second while the table cannot be read).
   * Resolves once the first load has succeeded or failed; never rejects, never waits longer than one load.
   */
  async start(): Promise<void> {
    if (!this.opts.pool || this.started || this.closed) return;
    this.started = true;
    await this.refresh().catch(() => {});
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.soonTimer) clearTimeout(this.soonTimer);
    await this.inflight?.catch(() => {});
  }

  /**
   * A read for unknown keys: at once, or UNKNOWN_KEY_RELOAD_MS after the last one began, and never while one
   * is under way (then after it). Timed from when the last read began, not from the last successful one's
   * query (readAt, set only when it ends): a timer set while a read was under way fired right after it and
   * read again (two reads a second under a flood of unknown keys).
   */
  private readSoon(): void {
    if (this.soonPending || this.closed) return;
    this.soonPending = true;
    const fire = (): void => {
      this.soonTimer = null;
      if (this.closed) return;
      if (this.inflight) {
        void this.inflight.catch(() => {}).then(fire);
        return;
      }
      const wait = this.readBegan + UNKNOWN_KEY_RELOAD_MS - performance.now();
      if (wait > 0) {
        this.soonTimer = setTimeout(fire, wait);
        this.soonTimer.unref();
        return;
      }
      this.soonPending = false;
      this.refresh().catch(() => {});
    };
    fire();
  }

  private schedule(): void {
    if (this.closed) return;
    const ms = this.opts.refreshSeconds * 1000;
    this.timer = setTimeout(() => {
      this.refresh().catch(() => {}).then(() => this.schedule());
    }, this.fresh ? ms : Math.min(ms, RETRY_MS));
    this.timer.unref();
  }

  private async load(): Promise<void> {
    const pool = this.opts.pool;
    if (!pool) return;
    const wasEnabled = this.enabled;
    let rows: { key_sha256: string; tenant_id: string; revoked_in_ms: number | null }[];
    // Revocation times are read as offsets from the database's clock (statement_timestamp(), when the query
    // arrived) and laid onto this process's monotonic clock from before the query was sent: gateway and
    // database clocks may differ, and the offset errs early by the query's latency (fails closed).
    const sentAt = performance.now();
    try {
      rows = await this.query(pool);
    } catch (e) {
      const message = (e as Error)?.message ?? String(e);
      if (this.fresh || message !== this.lastError) {
        this.opts.log.warn('API keys not reloaded: keys known from the last read stay in force, others get 503', { error: message });
      }
      this.fresh = false;
      this.lastError = message;
      throw e;
    }
    const table = new Map<string, TableKey>();
    for (const r of rows) {
      const revokeAt = r.revoked_in_ms === null ? Infinity : sentAt + Number(r.revoked_in_ms);
      // revoked keys stay, to be refused (401) as such rather than as keys never seen (503 until a read)
      table.set(r.key_sha256.toLowerCase(), { tenant: r.tenant_id, revokeAt });
    }
    this.table = table;
    this.readAt = sentAt;
    this.tableHasRows = rows.length > 0;
    const first = !this.loaded;
    if (!this.fresh && this.loaded) this.opts.log.info('API keys reloaded again', { table_keys: table.size });
    this.loaded = this.fresh = true;
    this.lastError = null;
    if (first || wasEnabled !== this.enabled) {
      this.opts.log.info(this.enabled ? 'API key authentication on' : 'API key authentication off',
        { configured_keys: this.configured.size, table_keys: this.table.size });
    }
  }

  /** All rows (revoked ones keep authentication on), in one round trip with its own lock and statement timeouts. */
  private async query(pool: pg.Pool): Promise<{ key_sha256: string; tenant_id: string; revoked_in_ms: number | null }[]> {
    const lockMs = Math.max(1, Math.round(this.opts.lockTimeoutMs ?? 1000));
    const statementMs = Math.max(1, Math.round(this.opts.statementTimeoutMs ?? 5000));
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      const results = (await client.query(
        `BEGIN; SET LOCAL lock_timeout = ${lockMs}; SET LOCAL statement_timeout = ${statementMs};
         SELECT key_sha256, tenant_id,
                (extract(epoch FROM revoked_at - statement_timestamp()) * 1000)::float8 AS revoked_in_ms
         FROM runledger.api_keys;
         COMMIT`)) as unknown as pg.QueryResult[];
      return results[3]!.rows;
    } catch (e) {
      await client.query('ROLLBACK').catch((r: Error) => { broken = r; });
      throw e;
    } finally {
      client.release(broken);
    }
  }

  private unreadable(): GatewayError {
    const why = this.loaded ? 'API keys could not be reloaded' : 'API keys not loaded yet';
    // the reason PostgreSQL gave (a missing schema under RUNLEDGER_MIGRATE=false read "database unavailable")
    return new GatewayError('unavailable', `${why}: ${this.lastError ?? 'database unavailable'}`, this.opts.retryAfterSeconds);
  }
}
