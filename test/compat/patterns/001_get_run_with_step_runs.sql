-- seed 001, Query Patterns "Get Run with StepRuns". Adapted: the seed groups by r.id alone, which
-- PostgreSQL accepts only when r is a table whose primary key is id; over a view every column of r is listed.
SELECT r.*, json_agg(sr.*) AS step_runs
FROM runs r
LEFT JOIN step_runs sr ON sr.run_id = r.id
WHERE r.id = $1
GROUP BY r.id, r.tenant_id, r.workflow_id, r.workflow_version, r.status, r.mode, r.input, r.output, r.error,
  r.triggered_by, r.triggered_by_user, r.started_at, r.completed_at, r.created_at;
