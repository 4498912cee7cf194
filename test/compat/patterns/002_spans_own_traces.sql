-- seed 002, policy "Users can view spans from their own traces" as a query (user_id = auth.uid() → $1)
SELECT spans.name
FROM spans
WHERE EXISTS (
    SELECT 1 FROM traces
    WHERE traces.trace_id = spans.trace_id
    AND (traces.user_id = $1 OR traces.user_id IS NULL)
)
ORDER BY spans.started_at;
