-- The node tree stored at ingest (issue 12): what the analyst and compat views derived per row — walking up
-- the spans of every node, recounting its earlier siblings — is kept on the rows, maintained as spans arrive
-- in any order (the same values node_tree() walks to; `runledger repair` recomputes them identically).

-- nodes: the place of a node in its run's tree, as node_tree() defines it (sql/004, 007)
ALTER TABLE runledger.nodes
  ADD COLUMN parent_node_id text COLLATE "C",  -- nearest ancestor that is a node (walking up through spans that are not)
  ADD COLUMN parent_missing boolean,           -- the walk up stopped at a span not stored (yet)
  ADD COLUMN depth integer,                    -- node ancestors (0: none); NULL on a cycle of parent ids
  ADD COLUMN step_order integer,               -- 0-based position in the run by (start_time, node_id)
  ADD COLUMN attempt integer;                  -- 1 + the run's earlier nodes of the same step name

CREATE INDEX nodes_parent ON runledger.nodes (tenant_id, run_id, parent_node_id);

-- runs: what views read per run without visiting its nodes
ALTER TABLE runledger.runs
  ADD COLUMN last_start_time timestamptz,      -- the latest start of its spans: with start_time, bounds every lookup of its rows
  ADD COLUMN failed_nodes bigint NOT NULL DEFAULT 0,        -- nodes with status FAILED
  ADD COLUMN agent_name text,                  -- the agent name of its first node that has one, by (start_time, node_id)
  ADD COLUMN agent_node_id text COLLATE "C",
  ADD COLUMN agent_start_time timestamptz,
  ADD COLUMN input_node_id text COLLATE "C",   -- its first node with input, by (start_time, node_id)
  ADD COLUMN input_start_time timestamptz,
  ADD COLUMN output_node_id text COLLATE "C",  -- its last node with output, by (end_time, node_id)
  ADD COLUMN output_start_time timestamptz,
  ADD COLUMN output_end_time timestamptz;

-- The name a step goes by: the tool's name for tool calls, the agent's for agents, else the span name
-- (compat.step_name, here for the ledger's own use).
CREATE FUNCTION runledger.step_name(node_type text, name text, tool_name text, agent_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE node_type WHEN 'TOOL' THEN coalesce(tool_name, name) WHEN 'AGENT' THEN coalesce(agent_name, name)
  ELSE name END;

/**
 * Recompute the tree columns of the runs' nodes from their stored spans and nodes (the walk of node_tree());
 * only rows whose values differ are written. The runs rows' start_time and last_start_time (up to date: call
 * it after the runs update) bound the start times read, so only their days' partitions are read. Writers call
 * it for the runs a batch touched that had stored spans before; repair for every run it repairs.
 *
 * The run's nodes are staged in an indexed temporary table, not CTEs: joins between CTEs have no index, and
 * on partitions never analyzed the planner picks nested loops over them — 30 s for a run of 5,600 nodes
 * (measured), where index lookups settle it in ~0.3 s.
 */
CREATE FUNCTION runledger.settle_tree(tenant_ids text[], run_ids uuid[]) RETURNS integer
LANGUAGE plpgsql
-- Every join here is a lookup by id: index nested loops only. Without these settings the planner, on a day's
-- partitions not analyzed yet (no statistics: "16 rows"), hash-joined or scanned the whole staged run and
-- the day's spans per level of a walk: 2-9 s for a run of 5,600 nodes (measured); by index it is one probe
-- per node (0.3 s). The penalty these put on the plans' costs would make PostgreSQL compile them with JIT
-- (1.4 s per call on PG 15, measured): no JIT either.
SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off SET enable_bitmapscan = off
SET enable_material = off SET jit = off
AS $$
DECLARE
  changed integer;
  lo timestamptz;
  hi timestamptz;
BEGIN
  SELECT min(r.start_time), max(coalesce(r.last_start_time, 'infinity')) INTO lo, hi FROM runledger.runs r
  WHERE (r.tenant_id, r.run_id) IN (SELECT * FROM unnest(tenant_ids, run_ids));
  IF lo IS NULL THEN RETURN 0; END IF;
  IF to_regclass('pg_temp.runledger_tree') IS NULL THEN  -- once per session (IF NOT EXISTS would notice every call)
    CREATE TEMP TABLE runledger_tree (
      tenant_id text COLLATE "C", run_id uuid, node_id text COLLATE "C", parent_span_id text COLLATE "C",
      step_order integer, attempt integer, parent_node_id text COLLATE "C", parent_missing boolean, depth integer
    ) ON COMMIT DELETE ROWS;
    CREATE INDEX runledger_tree_node ON runledger_tree (node_id);  -- the id first: the planner, without statistics, picks by it
    CREATE INDEX runledger_tree_parent ON runledger_tree (parent_node_id);
  END IF;
  DELETE FROM runledger_tree;

  INSERT INTO runledger_tree (tenant_id, run_id, node_id, parent_span_id, step_order, attempt, parent_missing)
  SELECT n.tenant_id, n.run_id, n.node_id, n.parent_span_id,
    (row_number() OVER (PARTITION BY n.tenant_id, n.run_id ORDER BY n.start_time, n.node_id))::integer - 1,
    (row_number() OVER (PARTITION BY n.tenant_id, n.run_id, runledger.step_name(n.node_type, n.name, n.tool_name, n.agent_name)
      ORDER BY n.start_time, n.node_id))::integer,
    false
  FROM runledger.nodes n JOIN (SELECT DISTINCT * FROM unnest(tenant_ids, run_ids)) AS t(tenant_id, run_id)
    ON n.tenant_id = t.tenant_id AND n.run_id = t.run_id
  WHERE n.start_time >= lo AND n.start_time <= hi;

  -- each node's walk up: its parent span, then up through stored spans that are not nodes
  WITH RECURSIVE up (tenant_id, run_id, node_id, anc) AS (
    SELECT m.tenant_id, m.run_id, m.node_id, m.parent_span_id FROM runledger_tree m WHERE m.parent_span_id IS NOT NULL
    UNION
    SELECT u.tenant_id, u.run_id, u.node_id, s.parent_span_id
    FROM up u JOIN runledger.spans s ON s.tenant_id = u.tenant_id AND s.trace_id = u.run_id AND s.span_id = u.anc
      AND s.start_time >= lo AND s.start_time <= hi
    WHERE s.parent_span_id IS NOT NULL AND u.anc <> u.node_id
      AND NOT EXISTS (SELECT 1 FROM runledger_tree m WHERE m.tenant_id = u.tenant_id AND m.run_id = u.run_id AND m.node_id = u.anc)
  ), walk AS (
    SELECT u.*, p.node_id AS found,
      NOT EXISTS (SELECT 1 FROM runledger.spans s WHERE s.tenant_id = u.tenant_id AND s.trace_id = u.run_id
        AND s.span_id = u.anc AND s.start_time >= lo AND s.start_time <= hi) AS missing
    FROM up u LEFT JOIN runledger_tree p ON p.tenant_id = u.tenant_id AND p.run_id = u.run_id AND p.node_id = u.anc
    WHERE u.anc <> u.node_id  -- not the step back to the node itself (a cycle through it)
  ), links AS (
    SELECT w.tenant_id, w.run_id, w.node_id, min(w.found) AS parent_node_id, bool_or(w.missing) AS parent_missing
    FROM walk w GROUP BY w.tenant_id, w.run_id, w.node_id
  )
  UPDATE runledger_tree m SET parent_node_id = l.parent_node_id, parent_missing = l.parent_missing
  FROM links l WHERE m.tenant_id = l.tenant_id AND m.run_id = l.run_id AND m.node_id = l.node_id;

  -- depth: down from the nodes without a parent node (nodes on or below a cycle are never reached: NULL)
  WITH RECURSIVE tree (tenant_id, run_id, node_id, depth) AS (
    SELECT m.tenant_id, m.run_id, m.node_id, 0 FROM runledger_tree m WHERE m.parent_node_id IS NULL
    UNION ALL
    SELECT c.tenant_id, c.run_id, c.node_id, t.depth + 1
    FROM tree t JOIN runledger_tree c ON c.tenant_id = t.tenant_id AND c.run_id = t.run_id AND c.parent_node_id = t.node_id
  )
  UPDATE runledger_tree m SET depth = t.depth
  FROM tree t WHERE m.tenant_id = t.tenant_id AND m.run_id = t.run_id AND m.node_id = t.node_id;

  UPDATE runledger.nodes n SET parent_node_id = v.parent_node_id, parent_missing = v.parent_missing, depth = v.depth,
    step_order = v.step_order, attempt = v.attempt
  FROM runledger_tree v
  WHERE n.tenant_id = v.tenant_id AND n.run_id = v.run_id AND n.node_id = v.node_id AND n.start_time >= lo AND n.start_time <= hi
    AND (n.parent_node_id, n.parent_missing, n.depth, n.step_order, n.attempt)
      IS DISTINCT FROM (v.parent_node_id, v.parent_missing, v.depth, v.step_order, v.attempt);
  GET DIAGNOSTICS changed = ROW_COUNT;
  DELETE FROM runledger_tree;
  RETURN changed;
END $$;

REVOKE EXECUTE ON FUNCTION runledger.settle_tree(text[], uuid[]) FROM PUBLIC;

-- Existing rows: every run is recomputed by the repair this queues (the gateway and `runledger migrate`
-- work the queue off).
INSERT INTO runledger.repair_queue (tenant_id, run_id, reason)
SELECT tenant_id, run_id, 'the node tree and run columns are stored from migration 012 on' FROM runledger.runs
ON CONFLICT DO NOTHING;

/**
 * Nodes whose content their log records filled (sql/011) may be their run's first node with input or last with
 * output: fold them into the runs' references as the writers fold the nodes they insert.
 */
CREATE FUNCTION runledger.fold_content_refs(tenant_ids text[], run_ids uuid[], node_ids text[]) RETURNS void
LANGUAGE sql AS $$
  WITH f AS (
    SELECT n.tenant_id, n.run_id,
      (array_agg(n.node_id ORDER BY n.start_time, n.node_id) FILTER (WHERE n.input IS NOT NULL))[1] AS in_node,
      (array_agg(n.start_time ORDER BY n.start_time, n.node_id) FILTER (WHERE n.input IS NOT NULL))[1] AS in_start,
      (array_agg(n.node_id ORDER BY n.end_time DESC, n.node_id DESC) FILTER (WHERE n.output IS NOT NULL))[1] AS out_node,
      (array_agg(n.start_time ORDER BY n.end_time DESC, n.node_id DESC) FILTER (WHERE n.output IS NOT NULL))[1] AS out_start,
      (array_agg(n.end_time ORDER BY n.end_time DESC, n.node_id DESC) FILTER (WHERE n.output IS NOT NULL))[1] AS out_end
    FROM runledger.nodes n JOIN (SELECT DISTINCT * FROM unnest(tenant_ids, run_ids, node_ids)) AS x(tenant_id, run_id, node_id)
      ON n.tenant_id = x.tenant_id AND n.run_id = x.run_id AND n.node_id = x.node_id
    GROUP BY n.tenant_id, n.run_id
  ), d AS (
    SELECT f.*, r.tenant_id AS t, r.run_id AS id,
      f.in_node IS NOT NULL AND (r.input_node_id IS NULL OR (f.in_start, f.in_node) < (r.input_start_time, r.input_node_id)) AS new_in,
      f.out_node IS NOT NULL AND (r.output_node_id IS NULL OR (f.out_end, f.out_node) > (r.output_end_time, r.output_node_id)) AS new_out
    FROM f JOIN runledger.runs r ON r.tenant_id = f.tenant_id AND r.run_id = f.run_id
  )
  UPDATE runledger.runs r SET
    input_node_id = CASE WHEN d.new_in THEN d.in_node ELSE r.input_node_id END,
    input_start_time = CASE WHEN d.new_in THEN d.in_start ELSE r.input_start_time END,
    output_node_id = CASE WHEN d.new_out THEN d.out_node ELSE r.output_node_id END,
    output_start_time = CASE WHEN d.new_out THEN d.out_start ELSE r.output_start_time END,
    output_end_time = CASE WHEN d.new_out THEN d.out_end ELSE r.output_end_time END
  FROM d WHERE r.tenant_id = d.t AND r.run_id = d.id AND (d.new_in OR d.new_out)
$$;

-- The log content functions of 011, now folding the filled nodes into their runs' references, and keeping
-- what the span gave where its records give nothing (a span whose only content is its system instructions
-- leaves the node to its records: content_source NULL; its records may carry the output only).
CREATE OR REPLACE FUNCTION runledger.apply_log_content(tenant_ids text[], run_ids uuid[], span_ids text[], max_chars integer)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  filled integer;
  filled_tenants text[];
  filled_runs uuid[];
  filled_nodes text[];
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS runledger_log_spans (tenant_id text COLLATE "C", run_id uuid, span_id text COLLATE "C");
  DELETE FROM runledger_log_spans;
  INSERT INTO runledger_log_spans SELECT DISTINCT * FROM unnest(tenant_ids, run_ids, span_ids);
  WITH done AS (
    UPDATE runledger.nodes n SET input = coalesce(c.input, n.input), output = coalesce(c.output, n.output),
      prompt_hash = CASE WHEN c.input IS NULL THEN n.prompt_hash ELSE c.prompt_hash END, content_source = 'logs'
    FROM runledger_log_spans s, LATERAL runledger.log_content(s.tenant_id, s.run_id, s.span_id, max_chars) c
    WHERE n.tenant_id = s.tenant_id AND n.run_id = s.run_id AND n.node_id = s.span_id
      AND n.content_source IS DISTINCT FROM 'span' AND (c.input IS NOT NULL OR c.output IS NOT NULL)
    RETURNING n.tenant_id, n.run_id, n.node_id
  )
  SELECT count(*), coalesce(array_agg(tenant_id), '{}'), coalesce(array_agg(run_id), '{}'), coalesce(array_agg(node_id), '{}')
  INTO filled, filled_tenants, filled_runs, filled_nodes FROM done;
  IF filled > 0 THEN PERFORM runledger.fold_content_refs(filled_tenants, filled_runs, filled_nodes); END IF;
  INSERT INTO runledger.pending_content (tenant_id, run_id, span_id)
  SELECT s.tenant_id, s.run_id, s.span_id FROM runledger_log_spans s
  WHERE NOT EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = s.tenant_id AND n.run_id = s.run_id AND n.node_id = s.span_id)
  ON CONFLICT DO NOTHING;
  DELETE FROM runledger_log_spans;
  RETURN filled;
END $$;

/**
 * The span writer, its runs locked and its nodes inserted: the content of those nodes whose GenAI log
 * records arrived first (pending_content of these runs) is filled, and their pending rows go.
 */
CREATE OR REPLACE FUNCTION runledger.fill_pending_content(tenant_ids text[], run_ids uuid[], max_chars integer)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  filled_tenants text[];
  filled_runs uuid[];
  filled_nodes text[];
BEGIN
  WITH p AS (
    SELECT pc.tenant_id, pc.run_id, pc.span_id FROM runledger.pending_content pc
    WHERE (pc.tenant_id, pc.run_id) IN (SELECT * FROM unnest(tenant_ids, run_ids))
  ), arrived AS (
    SELECT p.* FROM p WHERE EXISTS (SELECT 1 FROM runledger.nodes n
      WHERE n.tenant_id = p.tenant_id AND n.run_id = p.run_id AND n.node_id = p.span_id)
  ), filled AS (
    UPDATE runledger.nodes n SET input = coalesce(c.input, n.input), output = coalesce(c.output, n.output),
      prompt_hash = CASE WHEN c.input IS NULL THEN n.prompt_hash ELSE c.prompt_hash END, content_source = 'logs'
    FROM arrived a, LATERAL runledger.log_content(a.tenant_id, a.run_id, a.span_id, max_chars) c
    WHERE n.tenant_id = a.tenant_id AND n.run_id = a.run_id AND n.node_id = a.span_id
      AND n.content_source IS DISTINCT FROM 'span' AND (c.input IS NOT NULL OR c.output IS NOT NULL)
    RETURNING n.tenant_id, n.run_id, n.node_id
  ), gone AS (
    DELETE FROM runledger.pending_content pc USING arrived a
    WHERE pc.tenant_id = a.tenant_id AND pc.run_id = a.run_id AND pc.span_id = a.span_id
  )
  SELECT coalesce(array_agg(f.tenant_id), '{}'), coalesce(array_agg(f.run_id), '{}'), coalesce(array_agg(f.node_id), '{}')
  INTO filled_tenants, filled_runs, filled_nodes FROM filled f;
  IF cardinality(filled_nodes) > 0 THEN PERFORM runledger.fold_content_refs(filled_tenants, filled_runs, filled_nodes); END IF;
END $$;

REVOKE EXECUTE ON FUNCTION runledger.fold_content_refs(text[], uuid[], text[]) FROM PUBLIC;
