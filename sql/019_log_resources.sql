-- Log records reference their resource too (issue 14, as sql/014 did for spans): a service sends the same
-- resource with every record, and GenAI content logged as events is several records per model call, each
-- with ~0.5-1 KB of resource. runledger.resources keeps each (tenant, resource) once; a record written
-- since this migration has resource NULL and resource_hash set; rows written before keep theirs inline (no
-- rewrite: both changes are catalog-only). runledger.raw_logs gives the records with their resource, as
-- `SELECT * FROM runledger.logs` gave them before.
-- resources.max_span_day now also covers log records: not less than the UTC day of any span start or log
-- record time that references the row. Retention drops logs partitions by the same days as spans, so a row
-- whose day is before the cutoff is referenced by nothing kept.
ALTER TABLE runledger.logs ALTER COLUMN resource DROP NOT NULL, ADD COLUMN resource_hash uuid;

CREATE VIEW runledger.raw_logs WITH (security_invoker = true) AS
SELECT l.tenant_id, l.run_id, l.span_id, l.time, l.observed_time, l.severity_number, l.severity_text, l.event_name,
  l.body, l.attributes, coalesce(l.resource, r.resource) AS resource, l.service_name, l.scope_name, l.record_hash,
  l.content_input, l.content_output, l.content_whole, l.content_rank, l.ingested_at
FROM runledger.logs l
LEFT JOIN runledger.resources r ON r.tenant_id = l.tenant_id AND r.resource_hash = l.resource_hash;
GRANT SELECT ON runledger.raw_logs TO runledger_analyst;

COMMENT ON COLUMN runledger.resources.max_span_day IS
  'not less than the UTC day of any span start or log record time that references the row (sql/014, 019)';
