-- Daily range partitions of spans and nodes by start_time (UTC days), so retention drops whole days.
--
-- A partitioned table's primary key must contain the partition key: spans are keyed
-- (trace_id, span_id, start_time) and nodes (run_id, node_id, start_time). OpenTelemetry sets a span's
-- start time once, when the span starts, and an OTLP retry re-sends it unchanged, so re-sent spans
-- still meet their stored copy and insert nothing.
--
-- Partitions are named spans_YYYYMMDD / nodes_YYYYMMDD. The gateway creates the partitions of the days
-- it writes (runledger.ensure_day_partitions) within a window around today; spans outside it (very old
-- back-fills, clocks far in the future) go to spans_default / nodes_default. Creating a day's partition
-- moves that day's rows out of the default partition.

ALTER TABLE runledger.spans RENAME TO spans_v1;
ALTER TABLE runledger.nodes RENAME TO nodes_v1;
ALTER TABLE runledger.spans_v1 RENAME CONSTRAINT spans_pkey TO spans_v1_pkey;
ALTER TABLE runledger.nodes_v1 RENAME CONSTRAINT nodes_pkey TO nodes_v1_pkey;
DROP INDEX runledger.spans_start_time;
DROP INDEX runledger.nodes_start_time;

CREATE TABLE runledger.spans (
  LIKE runledger.spans_v1 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  PRIMARY KEY (trace_id, span_id, start_time)
) PARTITION BY RANGE (start_time);

CREATE TABLE runledger.nodes (
  LIKE runledger.nodes_v1 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  PRIMARY KEY (run_id, node_id, start_time)
) PARTITION BY RANGE (start_time);

CREATE TABLE runledger.spans_default PARTITION OF runledger.spans DEFAULT;
CREATE TABLE runledger.nodes_default PARTITION OF runledger.nodes DEFAULT;

-- Rows arrive roughly in start_time order: a BRIN index serves time windows inside a day at almost no
-- write cost (a B-tree on start_time cost as much as the primary key on every insert).
CREATE INDEX spans_start_time ON runledger.spans USING brin (start_time);
CREATE INDEX nodes_start_time ON runledger.nodes USING brin (start_time);

/**
 * Create the spans and nodes partitions of the given UTC days (those missing), moving the rows the
 * default partitions hold for those days. Returns how many partitions it created. Serialised by an
 * advisory lock: gateways and the retention command may call it at the same time.
 */
CREATE FUNCTION runledger.ensure_day_partitions(days date[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date;
  t text;
  part text;
  lo timestamptz;
  hi timestamptz;
  created integer := 0;
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM unnest(days) AS x(day), unnest(ARRAY['spans', 'nodes']) AS y(tbl)
    WHERE to_regclass(format('runledger.%I', y.tbl || '_' || to_char(x.day, 'YYYYMMDD'))) IS NULL
  ) THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(1919117678);
  -- Rows are moved out of the default partitions before the day is attached: no writer may be adding
  -- one of that day's rows to them meanwhile (it would not be moved, and the attach would fail).
  LOCK TABLE runledger.spans_default, runledger.nodes_default IN ACCESS EXCLUSIVE MODE;
  FOREACH d IN ARRAY days LOOP
    lo := d::timestamp AT TIME ZONE 'UTC';
    hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
    FOREACH t IN ARRAY ARRAY['spans', 'nodes'] LOOP
      part := t || '_' || to_char(d, 'YYYYMMDD');
      CONTINUE WHEN to_regclass(format('runledger.%I', part)) IS NOT NULL;
      EXECUTE format('CREATE TABLE runledger.%I (LIKE runledger.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, t);
      -- The constraint lets ATTACH skip scanning the new partition.
      EXECUTE format('ALTER TABLE runledger.%I ADD CONSTRAINT %I CHECK (start_time >= %L AND start_time < %L)',
        part, part || '_range', lo, hi);
      EXECUTE format('WITH moved AS (DELETE FROM runledger.%I WHERE start_time >= $1 AND start_time < $2 RETURNING *)
        INSERT INTO runledger.%I SELECT * FROM moved', t || '_default', part) USING lo, hi;
      EXECUTE format('ALTER TABLE runledger.%I ATTACH PARTITION runledger.%I FOR VALUES FROM (%L) TO (%L)', t, part, lo, hi);
      EXECUTE format('ALTER TABLE runledger.%I DROP CONSTRAINT %I', part, part || '_range');
      created := created + 1;
    END LOOP;
  END LOOP;
  RETURN created;
END $$;

-- Existing rows move into their days' partitions.
SELECT runledger.ensure_day_partitions(coalesce(array_agg(DISTINCT (start_time AT TIME ZONE 'UTC')::date), '{}'))
FROM runledger.spans_v1;
INSERT INTO runledger.spans SELECT * FROM runledger.spans_v1;
INSERT INTO runledger.nodes SELECT * FROM runledger.nodes_v1;
DROP TABLE runledger.spans_v1;
DROP TABLE runledger.nodes_v1;

-- Tenancy (002) for the new tables. Partitions are not granted to the analyst: they read through the
-- parents, where the policies apply.
GRANT SELECT ON runledger.spans, runledger.nodes TO runledger_analyst;
ALTER TABLE runledger.spans ENABLE ROW LEVEL SECURITY;
ALTER TABLE runledger.nodes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON runledger.spans FOR SELECT TO runledger_analyst
  USING (tenant_id = current_setting('runledger.tenant_id', true));
CREATE POLICY tenant_isolation ON runledger.nodes FOR SELECT TO runledger_analyst
  USING (tenant_id = current_setting('runledger.tenant_id', true));
