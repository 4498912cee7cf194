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

/**
 * Run `write` (this version's writer) against a schema migrated only up to before sql/029, leaving the rows an
 * earlier gateway left: the writer stores runs.run_input and reads runledger.run_input_of, so stand-ins for both
 * exist while it writes and are dropped after.
 */
export async function writeBefore029(pool: { query(sql: string): Promise<unknown> }, write: () => Promise<unknown>): Promise<void> {
  await pool.query(`ALTER TABLE runledger.runs ADD COLUMN run_input jsonb;
    CREATE FUNCTION runledger.run_input_of(text, uuid, text, timestamptz, text, timestamptz) RETURNS TABLE (input jsonb)
    LANGUAGE sql AS 'SELECT NULL::jsonb WHERE false'`);
  try {
    await write();
  } finally {
    await pool.query(`ALTER TABLE runledger.runs DROP COLUMN run_input;
      DROP FUNCTION runledger.run_input_of(text, uuid, text, timestamptz, text, timestamptz)`);
  }
}
