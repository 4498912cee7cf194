/**
 * A write racing a day's partition being attached (sql/011 ensure_day_partitions, by another gateway or this
 * one's hourly createAhead): rows routed to the default partition before the attach meet its new bound, and
 * PostgreSQL refuses them with 23514 "violates partition constraint". That is the moment, not the data: the
 * write is retried (pg-errors.ts) and lands in the new partition, instead of its spans being rejected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDb, type TestDb } from './helpers/db.js';
import { hex, mapped, node, span } from './helpers/spans.js';
import { writeBatch } from '../src/sink/writer.js';
import { DayPartitions } from '../src/sink/partitions.js';
import { withRetries } from '../src/sink/pg-errors.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb('partition_race');
});
afterAll(async () => {
  await db?.drop();
});

describe('a write racing the attach of its day\'s partition', () => {
  it('is retried into the new partition, not refused as bad data', async () => {
    // a day past the writer's window (clock skew ahead): its spans go to the default partition
    const dayMs = (Math.floor(Date.now() / 86_400_000) + 10) * 86_400_000;
    const day = new Date(dayMs).toISOString().slice(0, 10);
    const traceId = hex(16);
    const startUs = (dayMs + 3_600_000) * 1000;
    const items = [mapped(span({ traceId, spanId: hex(8), name: 'chat', startUs, endUs: startUs + 1_000_000 }), node({ nodeType: 'LLM' }))];

    const attacher = new pg.Client({ connectionString: db.url });
    await attacher.connect();
    const writer = await db.pool.connect();
    try {
      await attacher.query('BEGIN');
      await attacher.query('SELECT runledger.ensure_day_partitions($1::date[])', [[day]]); // holds the default partitions
      const write = withRetries(() => writeBatch(writer, items, new DayPartitions({ aheadDays: 2 })));
      const settled = write.then(() => 'written', (e: Error) => e);
      await new Promise((r) => setTimeout(r, 500)); // the writer waits behind the attach
      await attacher.query('COMMIT');
      const outcome = await settled;
      expect(outcome instanceof Error ? `${(outcome as { code?: string }).code} ${outcome.message}` : outcome).toBe('written');
      const where = await db.pool.query(`SELECT tableoid::regclass::text AS part FROM runledger.spans WHERE trace_id = $1`, [traceId]);
      expect(where.rows).toEqual([{ part: `runledger.spans_${day.replace(/-/g, '')}` }]);
    } finally {
      writer.release();
      await attacher.end();
    }
  });
});
