-- Storage (issue 14): lz4 for the ledger's compressible columns where the server has it, and there a TOAST tuple
-- target on every partition of spans (today's and the days the gateway creates). Figures: docs/schema.md "Storage"
-- (measured with npm run bench's content-heavy mix, 30k spans, PostgreSQL 15: the same rows COPY'd into tables
-- with each setting, bytes and the backend's CPU).

-- ---------------------------------------------------------------------------------------------------------
-- Column compression. lz4 (PostgreSQL >= 14, when built --with-lz4: Debian's PostgreSQL 15 is; the embedded
-- PostgreSQL 18 is not, its default_toast_compression takes pglz only) stores the content-heavy mix's rows in as
-- many bytes as pglz (spans 2,663 against 2,677 B/span, nodes 2,006 against 2,032) for far less CPU: COPY of the
-- span rows 49.9 µs/span of backend CPU against 88.4, of the node rows 42.9 against 58.5 (-54 µs/span together,
-- -37%), reading them back 7-20% less. (pglz also gives up on a value it cannot shrink by 25%; lz4 keeps any
-- gain.) Through the gateway, content-heavy mix: 5,048-5,055 -> 4,952-4,953 B/span in all, PostgreSQL CPU median
-- 168 -> 120 µs/span (3 runs each). Rows under ~2 KB (the default mix's: ~1 KB spans) are never compressed,
-- whatever the setting. Every compressible column (jsonb, text, arrays: attstorage x or m) of every runledger
-- table, partitions included: ALTER COLUMN SET COMPRESSION on a partitioned table does not reach its existing
-- partitions (PostgreSQL 15, checked), so each is altered. It only sets how new values are compressed; stored
-- ones stay as they are (no rewrite). A column a later migration adds takes the server's default: set it there.
-- A server without lz4 takes this migration too: the DO block finds 'lz4' missing from
-- default_toast_compression's values and leaves the columns as they were (test/migration-016.test.ts runs it on
-- the embedded server, which has no lz4, and on PostgreSQL 15 with DATABASE_URL). INCLUDING COMPRESSION below
-- needs PostgreSQL >= 14 (runledger needs 15 for its views).
DO $$
DECLARE
  r record;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    FOR r IN
      SELECT c.oid::regclass AS rel, a.attname
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'runledger'
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attstorage IN ('x', 'm')
      WHERE c.relkind IN ('r', 'p')
    LOOP
      EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION lz4', r.rel, r.attname);
    END LOOP;
  END IF;
END $$;

-- ---------------------------------------------------------------------------------------------------------
-- TOAST tuple target. PostgreSQL toasts a row only once it is over ~2 KB (TOAST_TUPLE_THRESHOLD, fixed when the
-- server is built; no setting lowers it); it then compresses its largest values, and moves them out of line,
-- until the row fits toast_tuple_target (default the same ~2 KB). So the default already compresses large jsonb;
-- a lower target moves it out of line too. For spans, 512 B: heap 800 instead of 1,372 B/span, 2,607 instead of
-- 2,663 in all (lz4; pglz: 2,692 against 2,677), the CPU within the machine's noise (+6.6 µs/span lz4, -9.3
-- pglz); a narrower heap is also fewer pages for what reads spans without their attributes. 128 B cost more
-- bytes (TOAST chunks of small values). For nodes 512 B cost bytes (+16 B/span lz4, +27 pglz) and CPU (+1.6,
-- +7.3 µs): nodes keep the default. With pglz (a server without lz4) 512 B cost spans bytes too (+15 B/span
-- COPY'd; +29, 2,835 against 2,806, through the gateway on the embedded PostgreSQL 18): only where lz4 is.
-- A heap storage parameter: a partitioned table cannot hold it, so each partition of spans is set here, the
-- default partition included, and ensure_day_partitions gives a new day the storage parameters of its table's
-- default partition (the template: ALTER TABLE runledger.spans_default SET (...) changes the days to come).
DO $$
DECLARE
  r record;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    FOR r IN
      SELECT t.relid::regclass AS rel FROM pg_partition_tree('runledger.spans') t WHERE t.isleaf
    LOOP
      EXECUTE format('ALTER TABLE %s SET (toast_tuple_target = 512)', r.rel);
    END LOOP;
  END IF;
END $$;

/**
 * (as in sql/011) Create the spans, nodes and logs partitions of the given UTC days (those missing), moving the
 * rows the default partitions hold for those days; returns how many partitions it created. 016: a new partition
 * takes its parent's column compression (LIKE ... INCLUDING COMPRESSION: a table created LIKE another and then
 * attached keeps the compression it was created with), and the storage parameters (reloptions) of its table's
 * default partition: spans' TOAST tuple target above.
 */
CREATE OR REPLACE FUNCTION runledger.ensure_day_partitions(days date[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date;
  t text;
  part text;
  col text;
  opts text;
  lo timestamptz;
  hi timestamptz;
  created integer := 0;
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM unnest(days) AS x(day), unnest(ARRAY['spans', 'nodes', 'logs']) AS y(tbl)
    WHERE to_regclass(format('runledger.%I', y.tbl || '_' || to_char(x.day, 'YYYYMMDD'))) IS NULL
  ) THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(1919117678);
  -- Rows are moved out of the default partitions before the day is attached: no writer may be adding
  -- one of that day's rows to them meanwhile (it would not be moved, and the attach would fail).
  LOCK TABLE runledger.spans_default, runledger.nodes_default, runledger.logs_default IN ACCESS EXCLUSIVE MODE;
  FOREACH d IN ARRAY days LOOP
    lo := d::timestamp AT TIME ZONE 'UTC';
    hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
    FOREACH t IN ARRAY ARRAY['spans', 'nodes', 'logs'] LOOP
      part := t || '_' || to_char(d, 'YYYYMMDD');
      CONTINUE WHEN to_regclass(format('runledger.%I', part)) IS NOT NULL;
      SELECT array_to_string(c.reloptions, ', ') INTO opts FROM pg_class c WHERE c.oid = format('runledger.%I', t || '_default')::regclass;
      EXECUTE format('CREATE TABLE runledger.%I (LIKE runledger.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMPRESSION) %s',
        part, t, CASE WHEN opts IS NULL OR opts = '' THEN '' ELSE 'WITH (' || opts || ')' END);
      -- The constraint lets ATTACH skip scanning the new partition.
      col := CASE t WHEN 'logs' THEN 'time' ELSE 'start_time' END;
      EXECUTE format('ALTER TABLE runledger.%I ADD CONSTRAINT %I CHECK (%I >= %L AND %I < %L)',
        part, part || '_range', col, lo, col, hi);
      EXECUTE format('WITH moved AS (DELETE FROM runledger.%I WHERE %I >= $1 AND %I < $2 RETURNING *)
        INSERT INTO runledger.%I SELECT * FROM moved', t || '_default', col, col, part) USING lo, hi;
      EXECUTE format('ALTER TABLE runledger.%I ATTACH PARTITION runledger.%I FOR VALUES FROM (%L) TO (%L)', t, part, lo, hi);
      EXECUTE format('ALTER TABLE runledger.%I DROP CONSTRAINT %I', part, part || '_range');
      created := created + 1;
    END LOOP;
  END LOOP;
  RETURN created;
END $$;
