#!/usr/bin/env bash
# Differential conformance: the same long scenarios of mlflow-client calls
# (registry, logged models and prompts; artifacts, datasets and run edge
# cases) run against a real `mlflow server` and a real `almanac serve`,
# each on fresh stores, and every step's normalized result is compared.
#
#   tests/conformance/run.sh [ALMANAC_BIN]
#
# Prints the steps that differ and a summary per probe; exits 1 if a step
# differs that `expected-differences.txt` does not explain. Needs the venv
# .ci/run makes (mlflow, scikit-learn, pandas, matplotlib). Takes ~4 min.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$(realpath "${1:-$HERE/../../target/release/almanac}")"
PY="${PYTHON:-$HOME/.cache/almanac/venv/bin/python}"
MLFLOW="$(dirname "$PY")/mlflow"
ROOT="$(mktemp -d /tmp/almanac-conformance-XXXXXX)"
export MLFLOW_DISABLE_TELEMETRY=true
groups=()

stop() {
  # Each server runs in its own process group: MLflow's workers and job
  # runners go with it, and nothing else on the machine is touched.
  for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  sleep 2
  for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
  groups=()
}
trap stop EXIT

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_healthy() {
  for _ in $(seq 120); do
    curl -sf "$1/health" >/dev/null && return 0
    sleep 1
  done
  echo "no answer from $1" >&2
  return 1
}

status=0
for probe in registry artifacts; do
  dir="$ROOT/$probe"
  mkdir -p "$dir"
  a_port=$(free_port)
  m_port=$(free_port)
  setsid "$BIN" --store "$dir/almanac-store" serve --port "$a_port" >"$dir/almanac.log" 2>&1 </dev/null &
  groups+=($!)
  setsid "$MLFLOW" server --backend-store-uri "sqlite:///$dir/mlflow.db" --artifacts-destination "$dir/mlflow-artifacts" \
    --host 127.0.0.1 --port "$m_port" >"$dir/mlflow.log" 2>&1 </dev/null &
  groups+=($!)
  wait_healthy "http://127.0.0.1:$a_port"
  wait_healthy "http://127.0.0.1:$m_port"
  for side in mlflow almanac; do
    port=$m_port
    [ "$side" = almanac ] && port=$a_port
    (cd "$dir" && PROBE_ROOT="$dir" "$PY" "$HERE/${probe}_probe.py" "http://127.0.0.1:$port" "$dir/$side.jsonl" \
      >"$dir/$side-probe.log" 2>&1)
  done
  stop
  echo "== $probe"
  "$PY" "$HERE/diff.py" "$dir/mlflow.jsonl" "$dir/almanac.jsonl" --expected "$HERE/expected-differences.txt" \
    >"$dir/diff.txt" || status=1
  grep -E "\(NEW\)$" "$dir/diff.txt" || true
  tail -n 1 "$dir/diff.txt"
done
echo "outputs and diffs: $ROOT"
exit $status
