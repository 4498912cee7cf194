-- seed 001, Query Patterns "Count Runs by Status (for dashboard)"
SELECT status, COUNT(*) as count
FROM runs
WHERE tenant_id = $1
  AND created_at >= $2
GROUP BY status;
