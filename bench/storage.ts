/**
 * What the ledger costs on disk for npm run bench: heap, TOAST and index bytes of every runledger table with rows
 * (summed over its partitions), per span stored, against the OTLP bytes that brought those spans and the WAL the
 * load wrote; and the processes of the one PostgreSQL server under test, for its CPU.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

export interface TableBytes { table: string; heap: number; toast: number; index: number; total: number; deadRows: number; indexes: [string, number][] }

/**
 * Bytes of each runledger table that holds rows, partitions included (pg_partition_tree): heap (main fork, free
 * space map, visibility map), TOAST (its table and index), indexes. Measured as the files are now: call it after
 * a CHECKPOINT, and before any manual VACUUM if dead row versions are to count (they do in production).
 */
export async function tableBytes(client: pg.Client): Promise<TableBytes[]> {
  const { rows } = await client.query<{ table: string; heap: string; toast: string; index: string; dead: string; has_rows: boolean }>(`
    SELECT c.relname AS table,
           sum(pg_table_size(t.relid) - coalesce(pg_total_relation_size(nullif(p.reltoastrelid, 0)), 0))::bigint AS heap,
           sum(coalesce(pg_total_relation_size(nullif(p.reltoastrelid, 0)), 0))::bigint AS toast,
           sum(pg_indexes_size(t.relid))::bigint AS index,
           sum(coalesce(s.n_dead_tup, 0))::bigint AS dead,
           false AS has_rows
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'runledger'
    -- a table that is not partitioned has no partition tree: itself
    CROSS JOIN LATERAL (SELECT relid FROM pg_partition_tree(c.oid) UNION SELECT c.oid) t
    JOIN pg_class p ON p.oid = t.relid
    LEFT JOIN pg_stat_all_tables s ON s.relid = t.relid
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    GROUP BY c.relname`);
  const out: TableBytes[] = [];
  for (const r of rows) {
    const any = await client.query(`SELECT 1 FROM runledger.${client.escapeIdentifier(r.table)} LIMIT 1`);
    if (any.rowCount === 0) continue;
    const [heap, toast, index] = [Number(r.heap), Number(r.toast), Number(r.index)];
    // each index of the table, summed over its partitions' indexes (a partitioned index's tree)
    const ix = await client.query<{ name: string; bytes: string }>(`
      SELECT i.relname AS name, sum(pg_relation_size(t.relid))::bigint AS bytes
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
      CROSS JOIN LATERAL (SELECT relid FROM pg_partition_tree(x.indexrelid) UNION SELECT x.indexrelid) t
      WHERE x.indrelid = ('runledger.' || quote_ident($1))::regclass
      GROUP BY i.relname ORDER BY 2 DESC`, [r.table]);
    out.push({ table: r.table, heap, toast, index, total: heap + toast + index, deadRows: Number(r.dead), indexes: ix.rows.map((i) => [i.name, Number(i.bytes)]) });
  }
  return out.sort((a, b) => b.total - a.total);
}

export async function walLsn(client: pg.Client): Promise<string> {
  return (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
}

export async function walBytesSince(client: pg.Client, lsn: string): Promise<number> {
  return Number((await client.query<{ b: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS b', [lsn])).rows[0]!.b);
}

/** The storage lines of the bench's output: per table bytes per span, then the totals against the wire and WAL. */
export function storageLines(tables: TableBytes[], spans: number, wireBytes: number, wireSpans: number, walBytes: number, server: string, sent: string): string[] {
  const per = (b: number) => (b / spans).toFixed(0).padStart(7);
  const sum = tables.reduce((s, t) => ({ heap: s.heap + t.heap, toast: s.toast + t.toast, index: s.index + t.index, total: s.total + t.total }), { heap: 0, toast: 0, index: 0, total: 0 });
  const wire = wireBytes / wireSpans;
  // tables under 2 B/span (bookkeeping: schema_migrations, rollup_refreshes, ...) on one line
  const big = tables.filter((t) => t.total / spans >= 2);
  const small = tables.filter((t) => t.total / spans < 2);
  return [
    `  storage per span stored (${spans} spans; ${server}; after CHECKPOINT, before any VACUUM: dead row versions of updated rows count, as in production between autovacuums; dead rows: pg_stat, may lag):`,
    `    ${'table'.padEnd(18)}   heap   TOAST   index   total   dead rows`,
    ...big.map((t) => `    ${t.table.padEnd(18)}${per(t.heap)} ${per(t.toast)} ${per(t.index)} ${per(t.total)}   ${t.deadRows}`),
    ...(small.length ? [`    ${(small.length + ' more').padEnd(18)}${per(small.reduce((n, t) => n + t.heap, 0))} ${per(small.reduce((n, t) => n + t.toast, 0))} ${per(small.reduce((n, t) => n + t.index, 0))} ${per(small.reduce((n, t) => n + t.total, 0))}   (${small.map((t) => t.table).join(', ')})`] : []),
    `    ${'all'.padEnd(18)}${per(sum.heap)} ${per(sum.toast)} ${per(sum.index)} ${per(sum.total)}`,
    ...big.filter((t) => t.indexes.length).map((t) => `    indexes of ${t.table}, B/span: ${t.indexes.map(([n, b]) => `${n} ${(b / spans).toFixed(1)}`).join(', ')}`),
    `  OTLP protobuf on the wire (uncompressed request bodies, ${sent}): ${wire.toFixed(0)} B/span; on disk / wire: ${(sum.total / spans / wire).toFixed(2)}`,
    `  WAL written during the load: ${(walBytes / spans).toFixed(0)} B/span (pg_wal_lsn_diff of pg_current_wal_lsn before the first request and after the last); WAL / wire: ${(walBytes / spans / wire).toFixed(2)}`,
  ];
}

/** Server version and its TOAST compression (default_toast_compression, and whether lz4 is built in). */
export async function serverLine(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ v: string; d: string; e: string[] }>(
    "SELECT current_setting('server_version') AS v, setting AS d, enumvals AS e FROM pg_settings WHERE name = 'default_toast_compression'");
  const r = rows[0]!;
  // what sql/016 set: the compression of the ledger's columns (spans.attributes for all), spans' TOAST tuple target
  const col = await client.query<{ c: string }>(`SELECT attcompression::text AS c FROM pg_attribute
    WHERE attrelid = 'runledger.spans'::regclass AND attname = 'attributes'`);
  const target = await client.query<{ o: string }>(`SELECT o FROM pg_partition_tree('runledger.spans') t JOIN pg_class c ON c.oid = t.relid,
    unnest(c.reloptions) o WHERE t.isleaf AND o LIKE 'toast_tuple_target=%' LIMIT 1`);
  const method = ({ l: 'lz4', p: 'pglz' } as Record<string, string>)[col.rows[0]?.c ?? ''] ?? 'the default';
  return `PostgreSQL ${r.v}, default_toast_compression ${r.d} (available: ${r.e.join(', ')}); spans.attributes compressed with ${method}, `
    + `spans' ${target.rows[0]?.o ?? 'toast_tuple_target default'}`;
}

/**
 * The postmaster's pid of the server behind `client`, from postmaster.pid in its data directory (readable when
 * the bench runs where the server does), else null. Restricting CPU accounting to its children keeps another
 * PostgreSQL on a shared machine (other benchmarks' embedded servers) out of the figures.
 */
export async function postmasterPid(client: pg.Client): Promise<number | null> {
  try {
    const dir = (await client.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0]!.d;
    return Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
}
