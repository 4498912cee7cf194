/** One typed configuration object: defaults, environment overrides, validation. */
import pg from 'pg';
import { SetupError } from './errors.js';
export interface Config {
  /** postgres:// URL; when unset an embedded PostgreSQL is started under dataDir */
  databaseUrl: string | null;
  dataDir: string;
  /** port of the embedded PostgreSQL (0 = any free port) */
  embeddedPgPort: number;
  httpHost: string;
  httpPort: number;
  grpcHost: string;
  grpcPort: number;
  /** request body limit, applied after decompression */
  maxBodyBytes: number;
  /** spans waiting for a writer; beyond this requests get 429 / RESOURCE_EXHAUSTED */
  queueMaxSpans: number;
  /**
   * percent of the admission budget (request bodies being received and decoded, 1 KiB × queueMaxSpans)
   * one tenant may hold; without API keys, one connection (src/sink/admission.ts)
   */
  admissionSharePercent: number;
  /**
   * a request body gets this many seconds plus one per bodyMinBytesPerSecond bytes received; later it is
   * cut (503 / DEADLINE_EXCEEDED, src/receiver/body.ts)
   */
  bodyGraceSeconds: number;
  /** an idle kept-alive HTTP connection is closed after this many seconds (RUNLEDGER_HTTP_KEEP_ALIVE_SECONDS) */
  httpKeepAliveSeconds: number;
  /** the minimum rate, bytes per second, a body must keep up after the grace; 0: no check */
  bodyMinBytesPerSecond: number;
  /** spans per database transaction (group commit across requests) */
  batchMaxSpans: number;
  /** parallel writer connections */
  writers: number;
  /** worker threads that decode, map and encode request bodies (0: on the main thread) */
  prepareWorkers: number;
  /** Retry-After seconds on 429 / 503 */
  retryAfterSeconds: number;
  /**
   * how long spans whose run another transaction holds (an operator's open UPDATE of its runs row, a
   * repair) are retried before their request is answered 503 / UNAVAILABLE; other runs are not delayed
   */
  runLockWaitMs: number;
  maxContentChars: number;
  captureContent: boolean;
  pricesFile: string | null;
  /** apply sql/ migrations at start-up */
  migrate: boolean;
  /** tenant_id of ingested rows while API keys are off */
  defaultTenant: string;
  /** API key → tenant (RUNLEDGER_API_KEYS); with rows in runledger.api_keys, any key turns authentication on */
  apiKeys: Record<string, string>;
  /** seconds between reloads of runledger.api_keys */
  apiKeysRefreshSeconds: number;
  /** spans up to this many days old get their day's partition; older ones go to the default partition */
  partitionBackfillDays: number;
  /** seconds between refreshes of the daily usage table (last 3 UTC days); 0: off */
  rollupRefreshSeconds: number;
  /** lock_timeout of the gateway's database sessions (ms): a write waits at most this long for a lock, then 503 */
  dbLockTimeoutMs: number;
  /** statement_timeout of the gateway's database sessions (ms), set on connect: overrides ALTER DATABASE / ROLE settings */
  dbStatementTimeoutMs: number;
  /** /readyz answers 503 when spans are pending and no write has committed for this long (ms) */
  readyWriteStallMs: number;
}

export const defaults: Config = {
  databaseUrl: null,
  dataDir: '.runledger',
  embeddedPgPort: 54329,
  httpHost: '127.0.0.1',
  httpPort: 4318,
  grpcHost: '127.0.0.1',
  grpcPort: 4317,
  maxBodyBytes: 64 * 1024 * 1024,
  queueMaxSpans: 65_536,
  admissionSharePercent: 50,
  bodyGraceSeconds: 5,
  // Longer than the clients' own idle timeouts (Go's net/http client, which the Collector's otlphttp exporter
  // uses: 90 s; Node's http.Agent keeps idle sockets until the server closes them): a server closing an idle
  // connection while the client sends on it is a reset the client sees as a network error. Node's default,
  // 5 s, failed one of 8,198 requests of an overload soak run that way ("reused:ECONNRESET").
  httpKeepAliveSeconds: 120,
  bodyMinBytesPerSecond: 16_384,
  batchMaxSpans: 4096,
  writers: 2,
  prepareWorkers: 1,
  retryAfterSeconds: 2,
  runLockWaitMs: 3000,
  maxContentChars: 16_384,
  captureContent: true,
  pricesFile: null,
  migrate: true,
  defaultTenant: 'default',
  apiKeys: {},
  apiKeysRefreshSeconds: 30,
  partitionBackfillDays: 30,
  rollupRefreshSeconds: 300,
  dbLockTimeoutMs: 2000,
  dbStatementTimeoutMs: 30_000,
  readyWriteStallMs: 15_000,
};

type Env = Record<string, string | undefined>;

function int(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  // decimal digits only: Number() also took '0x1F90' (8080), '1e3' and '4318.0' without a word
  const n = /^\s*[-+]?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${key} must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

function bool(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${key} must be a boolean, got ${JSON.stringify(raw)}`);
}

export class ConfigError extends SetupError {}

/** "key1=tenantA,key2=tenantB" → { key1: 'tenantA', key2: 'tenantB' } (a key may contain '=': the last one splits). */
/**
 * What a tenant id may be, as sql/028 checks it for runledger.api_keys: it is a key column of every ledger table, and
 * a long one failed every span of its tenant (a B-tree row holds ~2.7 KB: ~3.2 KB of id did not fit), a padded one
 * (' acme ') was a tenant of its own.
 */
export const TENANT_ID_MAX_CHARS = 256;
export const TENANT_ID_RULE = `must be 1 to ${TENANT_ID_MAX_CHARS} characters, without control characters or a space at either end`;
export function isTenantId(t: string): boolean {
  // eslint-disable-next-line no-control-regex
  return t.length >= 1 && [...t].length <= TENANT_ID_MAX_CHARS && !/^ | $|[\u0000-\u001f\u007f]/.test(t);
}

export function parseApiKeys(raw: string | undefined, name = 'RUNLEDGER_API_KEYS'): Record<string, string> {
  const keys = new Map<string, string>();
  for (const item of (raw ?? '').split(',')) {
    const entry = item.trim();
    if (!entry) continue;
    const eq = entry.lastIndexOf('=');
    const key = entry.slice(0, Math.max(eq, 0)).trim();
    const tenant = entry.slice(eq + 1).trim();
    if (eq <= 0 || !key || !tenant) throw new ConfigError(`${name}: expected key=tenant pairs separated by commas`);
    if (keys.has(key)) throw new ConfigError(`${name}: a key is listed twice`);
    keys.set(key, tenant);
  }
  return Object.fromEntries(keys);
}

export function configFromEnv(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const c: Config = {
    databaseUrl: env.DATABASE_URL || defaults.databaseUrl,
    dataDir: env.RUNLEDGER_DATA_DIR || defaults.dataDir,
    embeddedPgPort: int(env, 'RUNLEDGER_EMBEDDED_PG_PORT', defaults.embeddedPgPort),
    httpHost: env.RUNLEDGER_HTTP_HOST || defaults.httpHost,
    httpPort: int(env, 'RUNLEDGER_HTTP_PORT', defaults.httpPort),
    grpcHost: env.RUNLEDGER_GRPC_HOST || defaults.grpcHost,
    grpcPort: int(env, 'RUNLEDGER_GRPC_PORT', defaults.grpcPort),
    maxBodyBytes: int(env, 'RUNLEDGER_MAX_BODY_BYTES', defaults.maxBodyBytes),
    queueMaxSpans: int(env, 'RUNLEDGER_QUEUE_MAX_SPANS', defaults.queueMaxSpans),
    admissionSharePercent: int(env, 'RUNLEDGER_ADMISSION_SHARE_PERCENT', defaults.admissionSharePercent),
    bodyGraceSeconds: int(env, 'RUNLEDGER_BODY_GRACE_SECONDS', defaults.bodyGraceSeconds),
    httpKeepAliveSeconds: int(env, 'RUNLEDGER_HTTP_KEEP_ALIVE_SECONDS', defaults.httpKeepAliveSeconds),
    bodyMinBytesPerSecond: int(env, 'RUNLEDGER_BODY_MIN_BYTES_PER_SECOND', defaults.bodyMinBytesPerSecond),
    batchMaxSpans: int(env, 'RUNLEDGER_BATCH_MAX_SPANS', defaults.batchMaxSpans),
    writers: int(env, 'RUNLEDGER_WRITERS', defaults.writers),
    prepareWorkers: int(env, 'RUNLEDGER_PREPARE_WORKERS', defaults.prepareWorkers),
    retryAfterSeconds: int(env, 'RUNLEDGER_RETRY_AFTER_SECONDS', defaults.retryAfterSeconds),
    runLockWaitMs: int(env, 'RUNLEDGER_RUN_LOCK_WAIT_MS', defaults.runLockWaitMs),
    maxContentChars: int(env, 'RUNLEDGER_MAX_CONTENT_CHARS', defaults.maxContentChars),
    captureContent: bool(env, 'RUNLEDGER_CAPTURE_CONTENT', defaults.captureContent),
    pricesFile: env.RUNLEDGER_PRICES_FILE || defaults.pricesFile,
    migrate: bool(env, 'RUNLEDGER_MIGRATE', defaults.migrate),
    defaultTenant: env.RUNLEDGER_DEFAULT_TENANT || defaults.defaultTenant,
    apiKeys: parseApiKeys(env.RUNLEDGER_API_KEYS),
    apiKeysRefreshSeconds: int(env, 'RUNLEDGER_API_KEYS_REFRESH_SECONDS', defaults.apiKeysRefreshSeconds),
    partitionBackfillDays: int(env, 'RUNLEDGER_PARTITION_BACKFILL_DAYS', defaults.partitionBackfillDays),
    rollupRefreshSeconds: int(env, 'RUNLEDGER_ROLLUP_REFRESH_SECONDS', defaults.rollupRefreshSeconds),
    dbLockTimeoutMs: int(env, 'RUNLEDGER_DB_LOCK_TIMEOUT_MS', defaults.dbLockTimeoutMs),
    dbStatementTimeoutMs: int(env, 'RUNLEDGER_DB_STATEMENT_TIMEOUT_MS', defaults.dbStatementTimeoutMs),
    readyWriteStallMs: int(env, 'RUNLEDGER_READY_WRITE_STALL_MS', defaults.readyWriteStallMs),
    ...overrides,
  };
  return validate(c);
}

/**
 * The variable each setting is read from (configFromEnv), for messages: a user who set RUNLEDGER_WRITERS=0 is told
 * that name, not the field's. Settings given in code (the exporter's options) are named by their field as well.
 */
const ENV_NAMES: Readonly<Partial<Record<keyof Config, string>>> = {
  databaseUrl: 'DATABASE_URL', embeddedPgPort: 'RUNLEDGER_EMBEDDED_PG_PORT', httpPort: 'RUNLEDGER_HTTP_PORT',
  grpcPort: 'RUNLEDGER_GRPC_PORT', maxBodyBytes: 'RUNLEDGER_MAX_BODY_BYTES', queueMaxSpans: 'RUNLEDGER_QUEUE_MAX_SPANS',
  admissionSharePercent: 'RUNLEDGER_ADMISSION_SHARE_PERCENT', bodyGraceSeconds: 'RUNLEDGER_BODY_GRACE_SECONDS',
  httpKeepAliveSeconds: 'RUNLEDGER_HTTP_KEEP_ALIVE_SECONDS', bodyMinBytesPerSecond: 'RUNLEDGER_BODY_MIN_BYTES_PER_SECOND',
  batchMaxSpans: 'RUNLEDGER_BATCH_MAX_SPANS', writers: 'RUNLEDGER_WRITERS', prepareWorkers: 'RUNLEDGER_PREPARE_WORKERS',
  retryAfterSeconds: 'RUNLEDGER_RETRY_AFTER_SECONDS', runLockWaitMs: 'RUNLEDGER_RUN_LOCK_WAIT_MS',
  maxContentChars: 'RUNLEDGER_MAX_CONTENT_CHARS', defaultTenant: 'RUNLEDGER_DEFAULT_TENANT', apiKeys: 'RUNLEDGER_API_KEYS',
  apiKeysRefreshSeconds: 'RUNLEDGER_API_KEYS_REFRESH_SECONDS', partitionBackfillDays: 'RUNLEDGER_PARTITION_BACKFILL_DAYS',
  rollupRefreshSeconds: 'RUNLEDGER_ROLLUP_REFRESH_SECONDS', dbLockTimeoutMs: 'RUNLEDGER_DB_LOCK_TIMEOUT_MS',
  dbStatementTimeoutMs: 'RUNLEDGER_DB_STATEMENT_TIMEOUT_MS', readyWriteStallMs: 'RUNLEDGER_READY_WRITE_STALL_MS',
};

export function validate(c: Config): Config {
  const problems: string[] = [];
  // "RUNLEDGER_WRITERS (writers) must be ..., got 0"
  const named = (k: keyof Config, rule: string) => {
    const env = ENV_NAMES[k];
    const v = c[k];
    return `${env ? `${env} (${k})` : k} ${rule}${typeof v === 'number' || typeof v === 'string' ? `, got ${JSON.stringify(v)}` : ''}`;
  };
  const port = (k: keyof Config) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 0 || v > 65535) problems.push(named(k, 'must be a port number (0-65535)'));
  };
  const positive = (k: keyof Config) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v <= 0) problems.push(named(k, 'must be a positive integer'));
  };
  port('httpPort');
  port('grpcPort');
  port('embeddedPgPort');
  for (const k of ['maxBodyBytes', 'queueMaxSpans', 'batchMaxSpans', 'writers', 'retryAfterSeconds', 'maxContentChars'] as const) positive(k);
  if (!Number.isInteger(c.prepareWorkers) || c.prepareWorkers < 0 || c.prepareWorkers > 64) problems.push(named('prepareWorkers', 'must be an integer from 0 to 64'));
  if (c.batchMaxSpans > c.queueMaxSpans) problems.push(named('batchMaxSpans', `must not exceed ${ENV_NAMES.queueMaxSpans} (${c.queueMaxSpans})`));
  // a batch's token sums (≤ 10^12 per call) must fit the bigint of the run-delta staging table
  if (c.batchMaxSpans > 1_000_000) problems.push(named('batchMaxSpans', 'must be at most 1000000'));
  if (!Number.isInteger(c.runLockWaitMs) || c.runLockWaitMs < 0 || c.runLockWaitMs > 600_000) {
    problems.push(named('runLockWaitMs', 'must be an integer from 0 to 600000'));
  }
  if (!Number.isInteger(c.admissionSharePercent) || c.admissionSharePercent < 1 || c.admissionSharePercent > 100) {
    problems.push(named('admissionSharePercent', 'must be an integer from 1 to 100'));
  }
  if (!Number.isInteger(c.bodyGraceSeconds) || c.bodyGraceSeconds < 1 || c.bodyGraceSeconds > 3600) problems.push(named('bodyGraceSeconds', 'must be an integer from 1 to 3600'));
  if (!Number.isInteger(c.httpKeepAliveSeconds) || c.httpKeepAliveSeconds < 1 || c.httpKeepAliveSeconds > 3600) problems.push(named('httpKeepAliveSeconds', 'must be an integer from 1 to 3600'));
  if (!Number.isInteger(c.bodyMinBytesPerSecond) || c.bodyMinBytesPerSecond < 0) problems.push(named('bodyMinBytesPerSecond', 'must be a non-negative integer (0: no check)'));
  if (c.databaseUrl !== null) {
    if (!/^postgres(ql)?:\/\//.test(c.databaseUrl)) problems.push('DATABASE_URL must be a postgres:// URL');
    else {
      // What pg cannot parse (a port that is not a number, a bad escape) never connects: refused here, not retried
      // every second while the gateway answers 503 (pg's own parser: it takes forms `new URL` refuses)
      try {
        new pg.Client({ connectionString: c.databaseUrl });
      } catch (e) {
        problems.push(`DATABASE_URL is not a URL pg can use (${(e as Error).message})`);
      }
    }
  }
  if (!c.defaultTenant) problems.push(named('defaultTenant', 'must not be empty'));
  else if (!isTenantId(c.defaultTenant)) problems.push(named('defaultTenant', TENANT_ID_RULE));
  for (const [key, tenant] of Object.entries(c.apiKeys ?? {})) {
    if (!key || /\s/.test(key) || !tenant) { problems.push(named('apiKeys', 'must map keys without whitespace to non-empty tenants')); break; }
    if (!isTenantId(tenant)) { problems.push(named('apiKeys', `tenants ${TENANT_ID_RULE}`)); break; }
  }
  if (!(c.apiKeysRefreshSeconds > 0) || c.apiKeysRefreshSeconds > 86_400) problems.push(named('apiKeysRefreshSeconds', 'must be a positive number of seconds, at most 86400'));
  if (!Number.isInteger(c.partitionBackfillDays) || c.partitionBackfillDays < 0 || c.partitionBackfillDays > 3660) {
    problems.push(named('partitionBackfillDays', 'must be an integer from 0 to 3660'));
  }
  if (typeof c.rollupRefreshSeconds !== 'number' || !(c.rollupRefreshSeconds >= 0) || c.rollupRefreshSeconds > 86_400) {
    problems.push(named('rollupRefreshSeconds', 'must be a number of seconds from 0 (off) to 86400'));
  }
  // PostgreSQL takes at most INT_MAX ms; a day is far beyond any sane wait. (0 would be "no limit", which
  // is what these settings exist to prevent, and pg does not send it: the database's default would apply.)
  for (const k of ['dbLockTimeoutMs', 'dbStatementTimeoutMs', 'readyWriteStallMs'] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1 || v > 86_400_000) problems.push(named(k, 'must be an integer number of milliseconds from 1 to 86400000'));
  }
  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return c;
}
