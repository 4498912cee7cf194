-- seed 002, cleanup_old_traces(retention_days): the traces its DELETE would remove (views are read-only)
SELECT count(*) AS deleted_count
FROM traces
WHERE started_at < NOW() - ($1 || ' days')::INTERVAL
AND status = 'completed';
