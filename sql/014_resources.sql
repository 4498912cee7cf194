-- Resources stored once: each distinct resource of a tenant is one row of runledger.resources, keyed by
-- (tenant_id, resource_hash), and span rows reference it by resource_hash instead of carrying a copy.
-- runledger.raw_spans gives the spans with their columns as sent, the resource included.
--
-- The key is computed by the gateway (src/sink/resources.ts): the first 16 bytes of sha256 over the
-- resource's canonical JSON (keys sorted), as a uuid. Two gateways, a re-send, or the same attributes in
-- another order give the same key, so writing a resource is idempotent. The tenant is part of the table's
-- key, not of the hash: two tenants sending the same resource have equal hashes and separate rows, and an
-- upsert of one tenant can only meet that tenant's rows.
--
-- No rewrite of existing spans: resource_hash is a new nullable column without default and resource loses
-- NOT NULL (both catalog-only). Rows written before this migration keep their resource inline
-- (resource_hash NULL); rows written after it have resource NULL and resource_hash set.
-- No foreign key from spans: it would cost a look-up per span inserted, and retention deletes resources
-- by day (below), which a foreign key would have to re-check against the spans.

CREATE TABLE runledger.resources (
  tenant_id      text COLLATE "C" NOT NULL,
  resource_hash  uuid        NOT NULL,
  resource       jsonb       NOT NULL,
  -- Not less than the UTC start day of any span that references the row: the writer raises it in the
  -- transaction that writes later spans (and never lowers it). Retention deletes the rows whose day is
  -- before its cutoff: the spans that could reference them are gone with their days.
  max_span_day   date        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, resource_hash)
);

ALTER TABLE runledger.spans ADD COLUMN resource_hash uuid;
ALTER TABLE runledger.spans ALTER COLUMN resource DROP NOT NULL;

-- Analysts see their tenants' resources only, as for spans (006/007).
GRANT SELECT ON runledger.resources TO runledger_analyst;
ALTER TABLE runledger.resources ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON runledger.resources FOR SELECT TO runledger_analyst
  USING (tenant_id = ANY ((SELECT runledger.analyst_tenant_ids())::text[]));

-- The spans as sent: the columns the span rows had before this migration (encoder.ts RAW_SPAN_COLUMNS)
-- and ingested_at, the resource read from the row itself (older rows) or from runledger.resources.
-- Security invoker: the caller's row-level security applies to both tables. The view is flattened into
-- the query that reads it: WHERE trace_id = … still prunes partitions and uses the spans' primary key, and
-- a query that does not read resource does not join (a left join on a unique key is removed).
CREATE VIEW runledger.raw_spans WITH (security_invoker = true) AS
SELECT s.trace_id, s.span_id, s.parent_span_id, s.tenant_id, s.name, s.kind, s.start_time, s.end_time,
  s.status_code, s.status_message, s.service_name, s.scope_name, s.attributes,
  coalesce(s.resource, r.resource) AS resource,
  s.events, s.links, s.ingested_at
FROM runledger.spans s
LEFT JOIN runledger.resources r ON r.tenant_id = s.tenant_id AND r.resource_hash = s.resource_hash;
GRANT SELECT ON runledger.raw_spans TO runledger_analyst;

-- compat.ledger_runs as 013 defined it, service_version read from raw_spans.
CREATE OR REPLACE VIEW compat.ledger_runs WITH (security_invoker = true) AS
SELECT r.run_id, r.tenant_id, r.pipeline, r.service_name, r.environment, r.session_id, r.user_id, r.name,
  r.status, r.start_time, r.end_time, r.duration_ms, r.span_count, r.total_nodes, r.llm_calls, r.tool_calls,
  r.error_count, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens,
  r.total_tokens, r.total_cost, r.currency, r.models, r.error_message, r.root_span_id, r.root_start_time,
  r.pipeline_rank, r.created_at, r.updated_at,
  r.trace_hex,
  -- the root node's content when the root is a node, else the run's first input / last output (stored refs)
  CASE WHEN EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
         AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT n.input FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT n.input FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.input_node_id AND n.start_time = r.input_start_time) END AS run_input,
  CASE WHEN r.status = 'RUNNING' THEN NULL
    WHEN EXISTS (SELECT 1 FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
         AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    THEN (SELECT n.output FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
    ELSE (SELECT n.output FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id
          AND n.run_id = r.run_id AND n.node_id = r.output_node_id AND n.start_time = r.output_start_time) END AS run_output,
  (SELECT n.name FROM runledger.nodes n
   WHERE r.status = 'FAILED' AND n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.status = 'FAILED'
     AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity')
   ORDER BY n.end_time, n.node_id LIMIT 1) AS failed_node_name,
  (SELECT n.error_type FROM runledger.nodes n
   WHERE r.status = 'FAILED' AND n.tenant_id = r.tenant_id AND n.run_id = r.run_id AND n.status = 'FAILED'
     AND n.start_time >= r.start_time AND n.start_time <= coalesce(r.last_start_time, 'infinity')
   ORDER BY n.end_time, n.node_id LIMIT 1) AS failed_node_error_type,
  r.total_nodes - r.failed_nodes AS completed_nodes,  -- a node is COMPLETED or FAILED
  r.failed_nodes,
  r.agent_name,
  (SELECT s.kind FROM runledger.spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS root_kind,
  (SELECT s.resource ->> 'service.version' FROM runledger.raw_spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS service_version,
  (SELECT nullif(s.links -> 0 ->> 'traceId', '') FROM runledger.spans s WHERE s.tenant_id = r.tenant_id
     AND s.trace_id = r.run_id AND s.span_id = r.root_span_id AND s.start_time = r.root_start_time) AS parent_trace_hex
FROM runledger.runs r;
