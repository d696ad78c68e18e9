"""The review UI in a real browser (Debian's chromium, headless, driven by
playwright-core) against a real `almanac serve`, seeded through the real
mlflow client. tests/browser/ui.mjs drives the UI; this file seeds the
store, says what the UI must show, and checks the UI's edits through the
client's get_run afterwards."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import requests
from mlflow import MlflowClient

from conftest import Server
from traced_agent import log_agent_traces

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
NOTE = "**LR** dropped here, see `lr_schedule`"


def node_ready():
    return shutil.which("node") and Path("/usr/bin/chromium").exists() and (BROWSER_DIR / "node_modules" / "playwright-core").exists()


@pytest.fixture
def ui_server(tmp_path):
    if not node_ready():
        pytest.fail("the browser tests need node, /usr/bin/chromium and `npm ci` in tests/browser (.ci/run installs them)")
    server = Server(tmp_path / "store").start()
    yield server
    server.stop()


def seed(uri):
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    exp = client.create_experiment("ui-review")
    client.create_experiment("ui-empty")
    runs = {}
    for i in range(12):
        with mlflow.start_run(experiment_id=exp, run_name=f"r{i:02d}") as run:
            mlflow.log_params({"optimizer": ["adam", "sgd"][i % 2], "lr": 0.01 * (i + 1)})
            mlflow.log_metric("acc", i / 12)
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            mlflow.log_text("epoch,loss\n1,0.5\n2,0.25\n", "eval/metrics.csv")
            if i == 0:
                with mlflow.start_run(experiment_id=exp, run_name="r00-child", nested=True):
                    mlflow.log_metric("loss", 0.3)
            runs[f"r{i:02d}"] = run.info.run_id
    client.create_registered_model("ui-model")
    client.create_model_version("ui-model", f"runs:/{runs['r03']}/model", run_id=runs["r03"])
    client.set_registered_model_alias("ui-model", "champion", "1")
    mlflow.genai.register_prompt(name="ui-greeting", template="Hello {{name}}.")
    mlflow.genai.register_prompt(name="ui-greeting", template="Hello {{name}}, politely.")

    mlflow.set_experiment(experiment_id=exp)

    log_agent_traces(["hello", "world"], prefix="ui-")
    return client, exp, runs


def printed_link(uri):
    """Runs a training script in a subprocess and returns the run link the
    mlflow client printed, exactly as a user would copy it."""
    script = (
        "import mlflow\n"
        "mlflow.set_experiment('ui-printed')\n"
        "with mlflow.start_run(run_name='printed-run'):\n"
        "    mlflow.log_metric('x', 1)\n"
    )
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    match = re.search(r"View run printed-run at: (\S+)", out.stdout + out.stderr)
    assert match, out.stdout + out.stderr
    return match.group(1)


def test_review_ui_in_a_real_browser(ui_server):
    client, exp, runs = seed(ui_server.uri)
    link = printed_link(ui_server.uri)
    assert link.startswith(ui_server.uri + "/#/experiments/")
    scenario = {
        "base": ui_server.uri,
        "experiment_id": exp,
        "experiment_name": "ui-review",
        "empty_experiment_id": client.get_experiment_by_name("ui-empty").experiment_id,
        "total_runs": 13,
        "traces": 2,
        "top_level_runs": 12,
        "parent_name": "r00",
        "child_name": "r00-child",
        "filter": "metrics.acc > 0.5",
        "filter_matches": 5,
        "best_acc_run": "r11",
        "worst_acc_run": "r00",
        "group_count": 3,
        "groups": [{"value": "adam", "count": 6}, {"value": "sgd", "count": 6}],
        "run_name": "r05",
        "run_id": runs["r05"],
        "annotation": "LR dropped here",
        "note": NOTE,
        "printed_link": link,
        "printed_run_name": "printed-run",
        "model_name": "ui-model",
        "model_run_id": runs["r03"],
        "prompt_name": "ui-greeting",
        "chart_runs": [runs["r01"], runs["r02"], runs["r03"]],
    }
    result = subprocess.run(
        ["node", str(BROWSER_DIR / "ui.mjs")],
        env=dict(os.environ, SCENARIO=json.dumps(scenario)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr

    # What the UI wrote, as the mlflow client sees it.
    edited = client.get_run(runs["r05"]).data.tags
    assert edited["reviewed"] == "yes"
    assert edited["mlflow.note.content"] == NOTE
    for name in ["r00", "r01", "r02"]:
        assert client.get_run(runs[name]).data.tags.get("batch") == "b1", name
    assert "batch" not in client.get_run(runs["r03"]).data.tags
    notes = requests.post(
        f"{ui_server.uri}/api/2.0/almanac/annotations/list", json={"run_ids": [runs["r05"]]}, timeout=10
    ).json()["annotations"]
    assert [(n["metric_key"], n["step"], n["text"], n["author"]) for n in notes] == [("loss", 3, "LR dropped here", "ana")]
    # The chart click annotated one of the charted runs, on the charted metric.
    chart_notes = requests.post(
        f"{ui_server.uri}/api/2.0/almanac/annotations/list",
        json={"run_ids": [runs["r01"], runs["r02"], runs["r03"]]},
        timeout=10,
    ).json()["annotations"]
    assert [(n["metric_key"], n["text"]) for n in chart_notes] == [("loss", "warmup ends")]
    assert 0 <= chart_notes[0]["step"] <= 4
    views = requests.get(f"{ui_server.uri}/api/2.0/almanac/views/list", params={"experiment_id": exp}, timeout=10).json()["views"]
    assert [v["name"] for v in views] == ["smoothed loss"]
    spec = json.loads(views[0]["spec"])
    assert spec["runs"] == [runs["r01"], runs["r02"], runs["r03"]] and spec["charts"]["smoothing"] == "twema"
