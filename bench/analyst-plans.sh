#!/usr/bin/env bash
# EXPLAIN (ANALYZE, BUFFERS) of the query scripts bench/analyst.ts writes (BENCH_ANALYST_SQL_DIR), with JIT
# on and off, one file per query and setting: the plans behind the benchmark's figures.
#
#   bench/analyst-plans.sh <sql dir> <out dir> [regex on file names] [statement timeout, s (120)]
#   DATABASE_URL=postgres://... bench/analyst-plans.sh /var/tmp/q /var/tmp/plans 'nodes_of_run|child'
set -euo pipefail
sql_dir=$1 out_dir=$2 only=${3:-.} timeout=${4:-120}
: "${DATABASE_URL:?set DATABASE_URL}"
mkdir -p "$out_dir"
for f in "$sql_dir"/*.sql; do
  name=$(basename "$f" .sql)
  [[ $name =~ $only ]] || continue
  # the setup statements (SET ...) as they are, EXPLAIN before the query (the file's last statement)
  setup=$(grep -E '^SET ' "$f" || true)
  query=$(grep -vE '^SET |^--' "$f")
  for jit in on off; do
    {
      echo "SET statement_timeout = '${timeout}s';"
      echo "SET jit = $jit;"
      echo "$setup"
      echo "EXPLAIN (ANALYZE, BUFFERS, SETTINGS) $query"
    } | psql -X -q "$DATABASE_URL" > "$out_dir/$name.jit-$jit.txt" 2>&1 || true
    printf '%-55s jit %-3s %s\n' "$name" "$jit" \
      "$(grep -hE '^ERROR|Execution Time|^ +Timing: Generation' "$out_dir/$name.jit-$jit.txt" | sed 's/^ *//' | tr '\n' ' ')"
  done
done
