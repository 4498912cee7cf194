/**
 * The node tree walked from the stored spans, as node_tree() computed it before the tree was stored
 * (sql/007): the reference the stored columns (sql/012, 013) are tested against. $1 tenant, $2 run id.
 * Its parent is compat's (node_ancestors, sql/007): the nearest node on the walk up, the node itself when the
 * walk comes back to it with no other node on the way; node_tree()'s depth counts such a node as top-level.
 */
export const WALK_TREE_SQL = `
WITH RECURSIVE
run_nodes AS MATERIALIZED (
  SELECT n.*, row_number() OVER (ORDER BY n.start_time, n.node_id)::integer AS exec_order
  FROM runledger.nodes n WHERE n.tenant_id = $1 AND n.run_id = $2::uuid
),
up (node_id, anc) AS (
  SELECT m.node_id, m.parent_span_id FROM run_nodes m WHERE m.parent_span_id IS NOT NULL
  UNION
  SELECT u.node_id, s.parent_span_id
  FROM up u JOIN runledger.spans s ON s.tenant_id = $1 AND s.trace_id = $2::uuid AND s.span_id = u.anc
  WHERE s.parent_span_id IS NOT NULL AND u.anc <> u.node_id
    AND NOT EXISTS (SELECT 1 FROM run_nodes m WHERE m.node_id = u.anc)
),
links AS (
  SELECT m.node_id,
    (SELECT p.node_id FROM up u JOIN run_nodes p ON p.node_id = u.anc
     WHERE u.node_id = m.node_id AND u.anc <> m.node_id LIMIT 1) AS parent_node_id,
    EXISTS (SELECT 1 FROM up u WHERE u.node_id = m.node_id
      AND NOT EXISTS (SELECT 1 FROM runledger.spans s WHERE s.tenant_id = $1 AND s.trace_id = $2::uuid AND s.span_id = u.anc)
    ) AS parent_missing
  FROM run_nodes m
),
tree (node_id, depth, tree_path) AS (
  SELECT l.node_id, 0, ARRAY[m.exec_order] FROM links l JOIN run_nodes m USING (node_id) WHERE l.parent_node_id IS NULL
  UNION ALL
  SELECT l.node_id, t.depth + 1, t.tree_path || m.exec_order
  FROM tree t JOIN links l ON l.parent_node_id = t.node_id JOIN run_nodes m ON m.node_id = l.node_id
)
SELECT m.node_id,
  (SELECT x.node_id FROM compat.node_ancestors($1, $2::uuid, m.parent_span_id, '-infinity') x ORDER BY x.hops LIMIT 1)
    AS parent_node_id,
  l.parent_missing, t.depth, t.tree_path, m.exec_order - 1 AS step_order,
  (SELECT count(*) FROM run_nodes e WHERE (e.start_time, e.node_id) < (m.start_time, m.node_id)
    AND runledger.step_name(e.node_type, e.name, e.tool_name, e.agent_name)
      = runledger.step_name(m.node_type, m.name, m.tool_name, m.agent_name))::int + 1 AS attempt
FROM run_nodes m JOIN links l USING (node_id) LEFT JOIN tree t USING (node_id)`;
