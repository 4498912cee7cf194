/**
 * The compression table of docs/schema.md "Storage": the rows of a loaded ledger (e.g. npm run bench's content
 * database, BENCH_CONTENT_KEEP=1) COPY'd into tables with each column compression × toast_tuple_target; bytes per
 * span and the backend's CPU (best of 2), and the CPU to read them back. Run where the server runs (/proc).
 *
 *   node dist/bench/storage-variants.js postgres://…/db_bench_content [row limit] [tables]   # TARGETS=2032,512,128
 */
import pg from 'pg';
import { readFileSync, createReadStream, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

const [url, limitArg, tablesArg] = process.argv.slice(2);
const limit = Number(limitArg ?? 1e9);
const tables = (tablesArg ?? 'spans,nodes').split(',');
const targets = (process.env.TARGETS ?? '2032,512,128').split(',').map(Number);

async function main(): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const pid = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
  // user + system CPU seconds of this connection's backend
  const cpu = () => {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(') ') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const enums = (await c.query("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")).rows[0].enumvals as string[];
  const methods = enums.includes('lz4') ? ['pglz', 'lz4'] : ['pglz'];
  const spans = (await c.query(`SELECT count(*)::int AS n FROM (SELECT 1 FROM runledger.spans LIMIT ${limit}) x`)).rows[0].n as number;
  try {
    for (const t of tables) {
      const file = join(tmpdir(), `runledger-variants-${process.pid}-${t}.copy`);
      await pipeline(c.query(copyTo(`COPY (SELECT * FROM runledger.${t} LIMIT ${limit}) TO STDOUT`)), createWriteStream(file));
      const cols = (await c.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'runledger.${t}'::regclass
        AND attnum > 0 AND NOT attisdropped AND attstorage IN ('x', 'm') ORDER BY attnum`)).rows.map((r) => r.attname as string);
      const load = async (method: string, target: number | null) => {
        await c.query(`DROP TABLE IF EXISTS public.v_${t}; CREATE TABLE public.v_${t} (LIKE runledger.${t} INCLUDING DEFAULTS)${target ? ` WITH (toast_tuple_target = ${target})` : ''}`);
        for (const col of cols) await c.query(`ALTER TABLE public.v_${t} ALTER COLUMN ${c.escapeIdentifier(col)} SET COMPRESSION ${method}`);
        const c0 = cpu();
        await pipeline(createReadStream(file), c.query(copyFrom(`COPY public.v_${t} FROM STDIN`)));
        return cpu() - c0;
      };
      for (const method of methods) {
        for (const target of targets) {
          let best = Infinity;
          for (let round = 0; round < 2; round++) best = Math.min(best, await load(method, target));
          const b = (await c.query(`SELECT pg_relation_size(oid) AS h, pg_total_relation_size(reltoastrelid) AS tt FROM pg_class WHERE oid = 'public.v_${t}'::regclass`)).rows[0];
          const [h, tt] = [Number(b.h) / spans, Number(b.tt) / spans];
          process.stdout.write(`${t.padEnd(6)} ${method.padEnd(5)} toast_tuple_target ${String(target).padStart(5)}: heap ${h.toFixed(0).padStart(5)} TOAST ${tt.toFixed(0).padStart(5)} total ${(h + tt).toFixed(0).padStart(5)} B/span; COPY ${(best / spans * 1e6).toFixed(1)} µs/span of backend CPU\n`);
        }
        await load(method, null);
        let best = Infinity;
        const all = cols.map((x) => `coalesce(${c.escapeIdentifier(x)}::text, '')`).join(' || ');
        for (let round = 0; round < 3; round++) {
          const c0 = cpu();
          await c.query(`SELECT sum(length(${all})) FROM public.v_${t}`);
          best = Math.min(best, cpu() - c0);
        }
        process.stdout.write(`${t.padEnd(6)} ${method.padEnd(5)} read back, every compressible column as text: ${(best / spans * 1e6).toFixed(1)} µs/span\n`);
      }
      await c.query(`DROP TABLE IF EXISTS public.v_${t}`);
    }
  } finally {
    await c.end();
  }
}

main().catch((e) => {
  process.stderr.write((e instanceof Error ? e.stack : String(e)) + '\n');
  process.exit(1);
});
