"""Import benchmark: `almanac import mlflow` from an MLflow SQLite store of
RUNS runs x 10 metrics x 1,000 steps, in runs per second, next to
mlflow-export-import (export-experiment + import-experiment into a fresh
MLflow SQLite store) on a subset when it is installed.

    python crates/bench/import_bench.py --almanac target/release/almanac [--runs 1000] [--mei-runs 20]

The source's schema is made by mlflow itself; its rows are bulk-inserted
with sqlite3, because logging 10M points through mlflow would take longer
than the benchmark."""

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def make_source(path, runs, metrics=10, steps=1000):
    import mlflow

    uri = f"sqlite:///{path}"
    mlflow.set_tracking_uri(uri)
    exp = mlflow.set_experiment("bench")
    with mlflow.start_run():
        pass  # creates the schema and one run we then delete
    db = sqlite3.connect(path)
    db.execute("DELETE FROM tags")
    db.execute("DELETE FROM runs")
    t0 = 1_700_000_000_000
    for r in range(runs):
        rid = uuid.uuid4().hex
        db.execute(
            "INSERT INTO runs(run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time,"
            " end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)"
            " VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', ?, ?, '', 'active', '', ?)",
            (rid, f"run-{r}", t0 + r, t0 + r + 1000, int(exp.experiment_id)),
        )
        db.executemany("INSERT INTO params(key, value, run_uuid) VALUES (?, ?, ?)",
                       [(f"p{i}", str(i * r), rid) for i in range(20)])
        db.executemany("INSERT INTO tags(key, value, run_uuid) VALUES (?, ?, ?)",
                       [(f"t{i}", f"v{i}", rid) for i in range(10)] + [("mlflow.runName", f"run-{r}", rid)])
        rows = [(f"m{k}", 1.0 / (s + 1 + k), t0 + s, rid, s, 0) for k in range(metrics) for s in range(steps)]
        db.executemany("INSERT INTO metrics(key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.executemany(
            "INSERT INTO latest_metrics(key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, 0, ?)",
            [(f"m{k}", 1.0 / (steps + k), t0 + steps - 1, steps - 1, rid) for k in range(metrics)],
        )
    db.commit()
    db.close()
    return uri


def timed(cmd, env=None, may_fail=False):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        if may_fail:
            last = [line for line in out.stderr.splitlines() if "Error" in line and not line.startswith(" ")][-1:]
            print(f"{cmd[0]} failed: {last}", file=sys.stderr)
            return None
        sys.exit(f"{cmd[0]} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--almanac", required=True)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--mei-runs", type=int, default=20, help="runs for mlflow-export-import (0 to skip)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="import-bench-")
    try:
        print(f"generating {args.runs} runs x 10 metrics x 1000 steps...", file=sys.stderr)
        src = make_source(os.path.join(work, "src.db"), args.runs)
        store = os.path.join(work, "almanac")
        first = timed([args.almanac, "--store", store, "import", "mlflow", src])
        again = timed([args.almanac, "--store", store, "import", "mlflow", src])
        rows = [
            (f"almanac import, {args.runs} runs ({args.runs * 10_000:,} points)", first, args.runs / first),
            ("almanac re-import, nothing new", again, args.runs / again),
        ]
        mei = shutil.which("export-experiment")
        if args.mei_runs and mei:
            small = make_source(os.path.join(work, "small.db"), args.mei_runs)
            dest = f"sqlite:///{os.path.join(work, 'dest.db')}"
            env_src = {**os.environ, "MLFLOW_TRACKING_URI": small}
            env_dst = {**os.environ, "MLFLOW_TRACKING_URI": dest}
            out_dir = os.path.join(work, "exported")
            export_s = timed(["export-experiment", "--experiment", "bench", "--output-dir", out_dir], env_src)
            import_s = timed(["import-experiment", "--experiment-name", "bench", "--input-dir", out_dir], env_dst, True)
            rows.append((f"mlflow-export-import export-experiment, {args.mei_runs} runs", export_s, args.mei_runs / export_s))
            if import_s is None:
                # 1.2.0, the newest on PyPI, re-creates the experiment on MLflow
                # 3 and fails: compare against its export step alone, which
                # flatters it.
                rows.append(("mlflow-export-import import-experiment", None, float("nan")))
                total = export_s
            else:
                total = export_s + import_s
                rows.append((f"mlflow-export-import import-experiment, {args.mei_runs} runs", import_s, args.mei_runs / import_s))
            rows.append(("ratio (runs/s, almanac / mlflow-export-import)", None, (args.runs / first) / (args.mei_runs / total)))
        elif args.mei_runs:
            print("mlflow-export-import not installed: pip install mlflow-export-import", file=sys.stderr)
        print("\n| measure | seconds | runs/s |\n|---|---|---|")
        for name, secs, rate in rows:
            print(f"| {name} | {'' if secs is None else f'{secs:.2f}'} | {rate:,.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
