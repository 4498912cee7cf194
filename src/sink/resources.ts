/**
 * Resources stored once (sql/014): the content key of a resource (16 bytes of sha256 over its canonical JSON),
 * the upsert that writes a batch's resources inside the batch's transaction, and the bounded per-process
 * cache of keys known to be committed, so that a batch whose resources are all known writes none of them.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { AttrValue, Attributes } from '../otlp/types.js';

/** A resource as a span row references it: its key (32 lowercase hex chars) and its canonical JSON. */
export interface ResourceRef {
  hash: string;
  json: string;
}

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units, recursively), arrays in order, no spaces. Two
 * gateways, or two sends that list the attributes in another order, write the same text, hence the same key.
 */
export function canonicalJson(v: AttrValue): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0) out += ',';
    out += `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`;
  }
  return `${out}}`;
}

/**
 * The key of a resource: the first 16 bytes of sha256(canonical JSON), as the 32 hex chars of a uuid. The
 * tenant is not in the hash: the table is keyed by (tenant_id, resource_hash), so the same resource sent by
 * two tenants has the same hash and two rows. ~20 µs for the 1.2 KB resource of bench's BENCH_RESOURCE=sdk
 * (measured on a loaded 2-core machine), once per ResourceSpans: < 0.1 µs per span of a 512-span request.
 */
export function resourceRef(r: Attributes): ResourceRef {
  const json = canonicalJson(r);
  return { hash: createHash('sha256').update(json).digest('hex').slice(0, 32), json };
}

/** UTC day number (days since 1970-01-01) of a time in µs since the epoch. */
export const dayOfUs = (us: number) => Math.floor(us / 86_400_000_000);
const dayText = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

/** What a batch needs stored: per (tenant, key), the resource and the latest day of its spans' starts. */
export interface ResourceNeed {
  tenantId: string;
  hash: string;
  json: string;
  day: number;
}

/** One string per (tenant, key): the cache's key, and a request's when it gathers its resources. */
export const cacheKey = (tenantId: string, hash: string) => `${hash}${tenantId}`;
/** One lock order for every writer: two batches upserting the same rows wait, never deadlock. */
const byKey = (a: ResourceNeed, b: ResourceNeed) =>
  (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0);

/**
 * Keys known to be committed, with the max_span_day known to be stored for them (sql/014: the row's day is
 * never less than the start day of a span that references it, which is what lets retention delete by day).
 * Filled only once the upsert has committed (`committed`; the writers upsert in a statement of their own,
 * before their batch's transaction), so it never names a row that is not there. Bounded: beyond `max`
 * entries the least recently confirmed goes (a miss costs one upsert of a few rows, not correctness).
 *
 * Only spans of the current UTC day or later are skipped on a hit. Retention (another process) deletes a
 * resource whose day is before its cutoff, which is never after today's midnight, and this cache cannot see
 * it: a late span of an earlier day, skipped, was stored referencing a deleted row (its raw span's resource
 * NULL). Upserting for such spans costs a statement for a batch holding late spans only.
 */
export class ResourceCache {
  private readonly days = new Map<string, number>();
  /** `now`: ms since the epoch (tests move it) */
  constructor(readonly max = 8192, private readonly now: () => number = Date.now) {}

  /** The first day whose spans a hit may skip: today, UTC. */
  private today(): number { return Math.floor(this.now() / 86_400_000); }

  get size(): number { return this.days.size; }

  /** The batch's resources the database may not have (or has with an earlier day), one per (tenant, key), sorted. */
  needed(items: readonly { span: { tenantId: string; startUs: number }; resource: ResourceRef }[]): ResourceNeed[] {
    let out: Map<string, ResourceNeed> | null = null;
    let lastRef: ResourceRef | null = null;
    let lastTenant = '';
    let lastDay = -Infinity;
    const today = this.today();
    for (const m of items) {
      const day = dayOfUs(m.span.startUs);
      // spans of one ResourceSpans share their ref object: most spans skip the map look-up
      if (m.resource === lastRef && m.span.tenantId === lastTenant && day <= lastDay && day >= today) continue;
      lastRef = m.resource; lastTenant = m.span.tenantId;
      const k = cacheKey(m.span.tenantId, m.resource.hash);
      const known = this.days.get(k);
      if (known !== undefined && known >= day && day >= today) { lastDay = known; continue; }
      lastDay = -Infinity;
      out ??= new Map();
      const n = out.get(k);
      if (n === undefined) out.set(k, { tenantId: m.span.tenantId, hash: m.resource.hash, json: m.resource.json, day });
      else if (day > n.day) n.day = day;
    }
    if (out === null) return [];
    return [...out.values()].sort(byKey);
  }

  /** Of resources already gathered (a logs request's, sql/019), those not known with their day, sorted as needed() sorts. */
  unknown(needs: readonly ResourceNeed[]): ResourceNeed[] {
    const today = this.today();
    return needs.filter((n) => n.day < today || !this.knows(n.tenantId, n.hash, n.day))
      .sort(byKey);
  }

  /** After COMMIT: these rows are stored with at least these days. */
  committed(needs: readonly ResourceNeed[]): void {
    for (const n of needs) {
      const k = cacheKey(n.tenantId, n.hash);
      const known = this.days.get(k);
      this.days.delete(k); // re-inserted last: the Map's order is the order of confirmation
      this.days.set(k, known === undefined ? n.day : Math.max(known, n.day));
    }
    if (this.days.size > this.max) {
      let excess = this.days.size - this.max;
      for (const k of this.days.keys()) {
        if (excess-- <= 0) break;
        this.days.delete(k);
      }
    }
  }

  /** Whether (tenant, key) is cached with at least `day` (tests). */
  knows(tenantId: string, hash: string, day = -Infinity): boolean {
    const d = this.days.get(cacheKey(tenantId, hash));
    return d !== undefined && d >= day;
  }

  clear(): void { this.days.clear(); }
}

/** The process's cache: span and log writers store into one table under the same keys and days. */
export const processResources = new ResourceCache();

/**
 * Store the resources a batch needs in a statement of its own, before the batch's transaction (both writers):
 * committed before any row that references them, and no resource row held while that transaction waits for
 * run locks (inside it, two writers storing one resource and creating one run deadlocked); then the cache
 * knows them. A batch that then fails leaves resource rows without rows referencing them, which retention
 * removes with their day.
 */
export async function storeResources(client: pg.ClientBase, cache: ResourceCache, needs: readonly ResourceNeed[]): Promise<void> {
  if (needs.length === 0) return;
  await upsertResources(client, needs);
  cache.committed(needs);
}

/**
 * Store a batch's resources; inside the batch's transaction, before its spans. A new key inserts its row; a
 * stored one only has its day raised when this batch has later spans (an existing row is otherwise left as it
 * is: its content is its key). Rows are keyed by tenant: a tenant's upsert can only meet its own rows.
 */
export const UPSERT_RESOURCES_SQL = `
INSERT INTO runledger.resources AS r (tenant_id, resource_hash, resource, max_span_day)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::jsonb[], $4::date[])
ON CONFLICT (tenant_id, resource_hash) DO UPDATE SET max_span_day = excluded.max_span_day
WHERE r.max_span_day < excluded.max_span_day`;

export async function upsertResources(client: pg.ClientBase, needs: readonly ResourceNeed[]): Promise<void> {
  if (needs.length === 0) return;
  await client.query(UPSERT_RESOURCES_SQL, [
    needs.map((n) => n.tenantId), needs.map((n) => n.hash), needs.map((n) => n.json), needs.map((n) => dayText(n.day)),
  ]);
}
