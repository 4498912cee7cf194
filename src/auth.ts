/**
 * API keys → tenants, for both receivers. Keys come from the configuration (RUNLEDGER_API_KEYS) and
 * from runledger.api_keys (sha256 of the key), reloaded periodically so that added and revoked keys
 * apply without a restart. Only hashes are compared: the presented key's sha256 is looked up in a Map.
 *
 * Authentication is on when keys are configured or runledger.api_keys holds any row (revoked rows
 * included: revoking the last key must not open the gateway; delete the rows to turn it off).
 * Off, every request gets the default tenant.
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

export interface ApiKeyAuthOptions {
  /** key → tenant from the configuration */
  apiKeys: Record<string, string>;
  defaultTenant: string;
  refreshSeconds: number;
  /** Retry-After of the 503 answered while the table could not be read yet */
  retryAfterSeconds: number;
  /** where runledger.api_keys lives; null: configured keys only */
  pool: pg.Pool | null;
  log: Logger;
}

const UNDEFINED_TABLE = '42P01';

export class ApiKeyAuth {
  private readonly configured: Map<string, string>;
  private table = new Map<string, string>();
  private tableHasRows = false;
  private loaded: boolean;
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: ApiKeyAuthOptions) {
    this.configured = new Map(Object.entries(opts.apiKeys).map(([key, tenant]) => [sha256Hex(key), tenant]));
    this.loaded = opts.pool === null;
  }

  /** true when every request must carry a valid key */
  get enabled(): boolean {
    return this.configured.size > 0 || this.tableHasRows;
  }

  /**
   * The tenant of a request, or null (→ 401 / UNAUTHENTICATED). Throws `unavailable` (→ 503 /
   * UNAVAILABLE, retried by clients) while the key table could not be read yet and it may decide.
   */
  tenantOf(header: HeaderReader): string | null {
    if (!this.loaded && this.configured.size === 0) throw this.notLoaded();
    if (!this.enabled) return this.opts.defaultTenant;
    const key = presentedKey(header);
    if (key === undefined) return null;
    const hash = sha256Hex(key);
    const tenant = this.configured.get(hash) ?? this.table.get(hash);
    if (tenant !== undefined) return tenant;
    if (!this.loaded) throw this.notLoaded();
    return null;
  }

  /** Reload runledger.api_keys now (concurrent calls share one load); rejects when it cannot be read. */
  refresh(): Promise<void> {
    return (this.inflight ??= this.load().finally(() => { this.inflight = null; }));
  }

  /** First load (a failure is logged and retried every second), then a reload every refreshSeconds. */
  async start(): Promise<void> {
    if (!this.opts.pool) return;
    await this.refresh().catch(() => {});
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inflight?.catch(() => {});
  }

  private schedule(): void {
    if (this.closed) return;
    const ms = this.opts.refreshSeconds * 1000;
    this.timer = setTimeout(() => {
      this.refresh().catch(() => {}).then(() => this.schedule());
    }, this.loaded ? ms : Math.min(ms, 1000));
    this.timer.unref();
  }

  private async load(): Promise<void> {
    const pool = this.opts.pool;
    if (!pool) return;
    const wasEnabled = this.enabled;
    try {
      const active = await pool.query<{ key_sha256: string; tenant_id: string }>(
        `SELECT key_sha256, tenant_id FROM runledger.api_keys WHERE revoked_at IS NULL OR revoked_at > now()`);
      this.table = new Map(active.rows.map((r) => [r.key_sha256.toLowerCase(), r.tenant_id]));
      this.tableHasRows = active.rows.length > 0 ||
        (await pool.query<{ any: boolean }>('SELECT EXISTS (SELECT FROM runledger.api_keys) AS any')).rows[0]!.any;
    } catch (e) {
      if ((e as { code?: string }).code !== UNDEFINED_TABLE) {
        this.opts.log.warn('API keys not reloaded', { error: (e as Error).message });
        throw e;
      }
      this.table = new Map(); // migration 002 not applied: configured keys only
      this.tableHasRows = false;
    }
    const first = !this.loaded;
    this.loaded = true;
    if (first || wasEnabled !== this.enabled) {
      this.opts.log.info(this.enabled ? 'API key authentication on' : 'API key authentication off',
        { configured_keys: this.configured.size, table_keys: this.table.size });
    }
  }

  private notLoaded(): GatewayError {
    return new GatewayError('unavailable', 'API keys not loaded yet: database unavailable', this.opts.retryAfterSeconds);
  }
}
