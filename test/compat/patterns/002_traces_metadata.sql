-- seed 002, idx_traces_metadata_gin (GIN on metadata): containment filter
SELECT trace_id
FROM traces
WHERE metadata @> $1::jsonb;
