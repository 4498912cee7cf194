/**
 * How compat resolved a run's input on every read before sql/029 stored it (sql/017's compat.ledger_runs, written
 * out again here so that tests compare the stored value with that rule, not with the code that stores it).
 */
export const STALE_RUN_INPUTS_SQL = `SELECT count(*)::int AS n FROM runledger.runs r WHERE r.tenant_id = $1 AND r.run_input IS DISTINCT FROM
  (SELECT CASE WHEN n.input IS NOT NULL OR n.input_ref IS NULL THEN n.input
            ELSE (SELECT runledger.ref_content(s.attributes, n.input_ref) FROM runledger.spans s
                  WHERE s.tenant_id = n.tenant_id AND s.trace_id = n.run_id AND s.span_id = n.node_id
                    AND s.start_time = n.start_time) END
   FROM runledger.nodes n WHERE n.tenant_id = r.tenant_id AND n.run_id = r.run_id
     AND ((n.node_id = r.root_span_id AND n.start_time = r.root_start_time)
       OR (n.node_id = r.input_node_id AND n.start_time = r.input_start_time))
   ORDER BY n.node_id = r.root_span_id AND n.start_time = r.root_start_time DESC LIMIT 1)`;
