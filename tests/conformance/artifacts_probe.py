#!/usr/bin/env python
"""Differential probe: artifacts, datasets and run edge cases against an MLflow-compatible server.

Usage:  PROBE_ROOT=DIR python artifacts_probe.py http://127.0.0.1:PORT OUT.jsonl
(run.sh starts both servers under DIR and runs every probe against each.)

Expects a FRESH server (experiment names are fixed). Each step is recorded as one JSON line:
{"step": name, "ok": <normalized result>} or {"step": name, "err": {type, code, http}, "msg": ...}.
Normalization drops ids/timestamps/absolute paths/user ids (replaced by stable labels).
"""
import hashlib
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"

import numpy as np
import pandas as pd
import requests

import mlflow
from mlflow import MlflowClient
from mlflow.entities import (
    DatasetInput, InputTag, LoggedModelInput, Metric, Param, RunTag, ViewType,
)
from mlflow.entities._mlflow_object import _MlflowObject
from mlflow.exceptions import MlflowException

URI = sys.argv[1].rstrip("/")
OUT = os.path.abspath(sys.argv[2])
TAG = re.sub(r"\W", "_", URI.split(":")[-1])  # per-target tag for local dirs
# The run folder run.sh made: both servers' stores live under it, so a
# traversal that escaped a store would land here, where the probe looks.
ROOT = os.environ["PROBE_ROOT"]
BASE = f"{ROOT}/work-{TAG}"
shutil.rmtree(BASE, ignore_errors=True)
os.makedirs(BASE)
os.chdir(BASE)  # any stray local files land here
mlflow.set_tracking_uri(URI)
mlflow.set_registry_uri(URI)
client = MlflowClient(URI)

RESULTS = []
LABELS = {}  # raw id -> stable label
_counters = {}


def label(raw, kind, name=None):
    """Register a server-assigned id under a stable, server-independent label."""
    if raw is None:
        return None
    raw = str(raw)
    if raw not in LABELS:
        if name is None:
            _counters[kind] = _counters.get(kind, 0) + 1
            name = str(_counters[kind])
        LABELS[raw] = f"<{kind}:{name}>"
    return LABELS[raw]


HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
MODEL_ID = re.compile(r"\bm-[0-9a-f]{32}\b")
TS_IN_NAME = re.compile(r"\d{13}")
UUIDISH = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
TS_KEYS = {"creation_time", "last_update_time", "start_time", "end_time", "timestamp",
           "creation_timestamp", "last_updated_timestamp", "timestamp_ms", "request_time",
           "last_modified"}


def norm_str(s):
    # longest first so that e.g. run ids embedded in URIs get their labels
    for raw in sorted(LABELS, key=len, reverse=True):
        if raw and raw in s and len(raw) >= 6:
            s = s.replace(raw, LABELS[raw])
    s = re.sub(r"(mlflow-artifacts:/|/mlflow-artifacts/artifacts/)(\d+)(?=/|$)",
               lambda m: m.group(1) + LABELS.get(m.group(2), m.group(2)), s)
    s = s.replace(BASE, "<BASE>")
    s = MODEL_ID.sub("<MODEL?>", s)
    s = HEX32.sub("<HEX32>", s)
    s = UUIDISH.sub("<UUID>", s)
    s = re.sub(r"/tmp/tmp[\w]+", "<TMP>", s)
    return s


def norm(o, key=None, depth=0):
    if depth > 30:
        return "<deep>"
    if key in TS_KEYS and isinstance(o, (int, float)) and o:
        return "<TS>"
    if key in ("user_id", "user") and o:
        return "<USER>"
    if key in ("experiment_id",) and o is not None:
        return LABELS.get(str(o), f"<EXP?{o}>")
    if key in ("run_id", "run_uuid", "source_run_id") and o:
        return LABELS.get(str(o), "<RUN?>")
    if key in ("mlflow.user",) and o:
        return "<USER>"
    if o is None or isinstance(o, bool):
        return o
    if isinstance(o, (np.integer,)):
        o = int(o)
    if isinstance(o, (np.floating,)):
        o = float(o)
    if isinstance(o, float):
        if math.isnan(o):
            return "float:nan"
        if math.isinf(o):
            return "float:inf" if o > 0 else "float:-inf"
        if 1e12 < o < 1e13 and key not in ("value",):
            return "<TS?>"
        return o
    if isinstance(o, int):
        if 1_000_000_000_000 < o < 10_000_000_000_000 and key not in ("value", "step", "file_size"):
            return "<TS?>"
        return o
    if isinstance(o, str):
        return norm_str(o)
    if isinstance(o, bytes):
        return {"bytes_len": len(o), "sha1": hashlib.sha1(o).hexdigest()[:12]}
    if isinstance(o, pd.DataFrame):
        return {"df_columns": [str(c) for c in o.columns], "dtypes": [str(d) for d in o.dtypes],
                "records": norm(json.loads(o.to_json(orient="records", default_handler=str)), depth=depth + 1)}
    if isinstance(o, np.ndarray):
        return {"ndarray": list(o.shape), "dtype": str(o.dtype),
                "sum": float(np.asarray(o, dtype="float64").sum()) if o.size else 0}
    try:
        from PIL import Image as _PI
        if isinstance(o, _PI.Image):
            return {"PIL": list(o.size), "mode": o.mode}
    except Exception:
        pass
    if isinstance(o, dict):
        return {str(k): norm(v, key=str(k), depth=depth + 1) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [norm(v, key=key, depth=depth + 1) for v in o]
    if isinstance(o, _MlflowObject):
        d = {}
        for k, v in o:
            d[k] = v
        return {"__type": type(o).__name__, **norm(d, depth=depth + 1)}
    if hasattr(o, "to_dictionary"):
        return {"__type": type(o).__name__, **norm(o.to_dictionary(), depth=depth + 1)}
    if hasattr(o, "to_dict"):
        try:
            return {"__type": type(o).__name__, **norm(o.to_dict(), depth=depth + 1)}
        except Exception:
            pass
    return {"__repr_type": type(o).__name__}


def err_info(e):
    d = {"type": type(e).__name__}
    if isinstance(e, MlflowException):
        d["code"] = e.error_code
        try:
            d["http"] = e.get_http_status_code()
        except Exception:
            pass
    return d


def record(name, fn):
    t0 = time.time()
    try:
        res = fn()
        rec = {"step": name, "ok": norm(res)}
    except Exception as e:  # noqa
        rec = {"step": name, "err": err_info(e), "msg": norm_str(str(e))[:400]}
        if os.environ.get("PROBE_TRACE"):
            traceback.print_exc()
    rec["secs"] = round(time.time() - t0, 2)
    RESULTS.append(rec)
    print(json.dumps(rec)[:300], flush=True)
    return rec


def step(name):
    def deco(fn):
        record(name, fn)
        return fn
    return deco


def fi(lst):
    return [(f.path, f.is_dir, f.file_size) for f in lst]


def tree(path):
    """Describe a local downloaded file/dir: relative paths, sizes and content hashes."""
    if os.path.isfile(path):
        with open(path, "rb") as f:
            b = f.read()
        return {"file": os.path.basename(path), "size": len(b), "sha1": hashlib.sha1(b).hexdigest()[:12]}
    out = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for fn in sorted(files):
            p = os.path.join(root, fn)
            with open(p, "rb") as f:
                b = f.read()
            rel = TS_IN_NAME.sub("<TS>", UUIDISH.sub("<UUID>", os.path.relpath(p, path)))
            h = "<dated>" if rel.endswith((".pdf", ".svg")) else hashlib.sha1(b).hexdigest()[:12]
            out.append((rel, len(b), h))
        for d in dirs:
            if not os.listdir(os.path.join(root, d)):
                out.append((os.path.relpath(os.path.join(root, d), path) + "/", "emptydir"))
    return {"dir": True, "entries": out}


_dl = [0]


def dst():
    _dl[0] += 1
    p = os.path.join(BASE, "dl", f"{_dl[0]:03d}")
    os.makedirs(p, exist_ok=True)
    return p


def dl_desc(local):
    """download result: where it landed relative to dst, plus content."""
    return {"ret": norm_str(re.sub(r"/dl/\d{3}", "/dl/N", local)), "content": tree(local)}


def rest(method, path, **kw):
    r = requests.request(method, URI + path, timeout=60, **kw)
    body = None
    ctype = r.headers.get("content-type", "").split(";")[0]
    if ctype == "application/json":
        try:
            j = r.json()
            if isinstance(j, dict) and "error_code" in j:
                body = {"error_code": j.get("error_code")}
            else:
                body = j
        except Exception:
            body = "<bad json>"
    else:
        body = {"ctype": ctype, "len": len(r.content)}
    return {"status": r.status_code, "body": body}


def rest_msg(method, path, **kw):
    r = requests.request(method, URI + path, timeout=60, **kw)
    try:
        return r.status_code, r.json()
    except Exception:
        return r.status_code, r.text[:200]


def write(path, content):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
        f.write(content)
    return path


S = {}  # shared state between steps
SRC = os.path.join(BASE, "src")
os.makedirs(SRC)

# ----------------------------------------------------------------------------------------------
# 0. experiments and artifact locations
# ----------------------------------------------------------------------------------------------
S["exp0"] = "0"
label("0", "EXP", "default")


@step("exp.create_default_location")
def _():
    eid = client.create_experiment("probe-art-A")
    S["expA"] = eid
    label(eid, "EXP", "expA")
    return client.get_experiment(eid)


@step("exp.get_by_name")
def _():
    return client.get_experiment_by_name("probe-art-A")


LOC_FORMS = {
    "mlflow_artifacts_custom": "mlflow-artifacts:/custom-loc",
    "mlflow_artifacts_hostport": None,  # filled below
    "abs_local": f"{BASE}/custom-local",
    "file_uri": f"file://{BASE}/custom-file",
    "s3": "s3://some-bucket/some/prefix",
    "relative": "relative/dir",
    "trailing_slash": "mlflow-artifacts:/slashy/",
    "http": "http://example.com/artifacts",
    "dbfs": "dbfs:/foo/bar",
    "empty": "",
}
LOC_FORMS["mlflow_artifacts_hostport"] = "mlflow-artifacts://" + URI.split("//")[1] + "/hostport-loc"

for k, loc in LOC_FORMS.items():
    @step(f"exp.create_artifact_location.{k}")
    def _(k=k, loc=loc):
        eid = client.create_experiment(f"probe-loc-{k}", artifact_location=loc)
        S[f"exp_{k}"] = eid
        label(eid, "EXP", f"loc_{k}")
        e = client.get_experiment(eid)
        return {"artifact_location": norm_str(e.artifact_location.replace(URI.split("//")[1], "<HOSTPORT>"))}

    @step(f"exp.run_artifact_uri.{k}")
    def _(k=k):
        r = client.create_run(S[f"exp_{k}"])
        label(r.info.run_id, "RUN", f"loc_{k}")
        S[f"run_loc_{k}"] = r.info.run_id
        return {"artifact_uri": norm_str(r.info.artifact_uri.replace(URI.split("//")[1], "<HOSTPORT>"))}

for k in ("mlflow_artifacts_custom", "mlflow_artifacts_hostport", "abs_local", "file_uri", "trailing_slash"):
    @step(f"exp.log_and_list_in_custom_location.{k}")
    def _(k=k):
        rid = S[f"run_loc_{k}"]
        p = write(os.path.join(SRC, "loc", f"{k}.txt"), f"loc {k}")
        client.log_artifact(rid, p, "x")
        out = {"root": fi(client.list_artifacts(rid)), "x": fi(client.list_artifacts(rid, "x"))}
        out["dl"] = dl_desc(client.download_artifacts(rid, f"x/{k}.txt", dst()))
        return out


@step("exp.custom_loc_server_side_file_exists")
def _():
    # where the server put mlflow-artifacts:/custom-loc content (only meaningful per server; normalized)
    rid = S["run_loc_mlflow_artifacts_custom"]
    return rest("GET", "/api/2.0/mlflow-artifacts/artifacts",
                params={"path": f"custom-loc/{rid}/artifacts/x"})


@step("exp.duplicate_name")
def _():
    return client.create_experiment("probe-art-A")


# ----------------------------------------------------------------------------------------------
# 1. artifacts
# ----------------------------------------------------------------------------------------------
mlflow.set_experiment(experiment_id=S["expA"])


@step("art.create_run")
def _():
    r = client.create_run(S["expA"], run_name="art-run")
    S["r1"] = r.info.run_id
    label(r.info.run_id, "RUN", "r1")
    return r


R1 = S["r1"]


@step("art.get_artifact_uri_fields")
def _():
    r = client.get_run(R1)
    return {"artifact_uri": r.info.artifact_uri}


@step("art.log_artifact_root")
def _():
    client.log_artifact(R1, write(os.path.join(SRC, "a.txt"), "alpha\n"))
    return fi(client.list_artifacts(R1))


@step("art.log_artifact_with_path")
def _():
    client.log_artifact(R1, write(os.path.join(SRC, "b.txt"), "bravo\n"), artifact_path="sub/dir")
    return fi(client.list_artifacts(R1, "sub/dir"))


@step("art.log_artifact_path_leading_slash")
def _():
    client.log_artifact(R1, os.path.join(SRC, "b.txt"), artifact_path="/lead")
    return fi(client.list_artifacts(R1, "lead"))


@step("art.log_artifact_path_trailing_slash")
def _():
    client.log_artifact(R1, os.path.join(SRC, "b.txt"), artifact_path="trail/")
    return fi(client.list_artifacts(R1, "trail"))


@step("art.log_artifact_path_dotdot")
def _():
    client.log_artifact(R1, os.path.join(SRC, "b.txt"), artifact_path="../escape")
    return fi(client.list_artifacts(R1))


@step("art.log_artifact_path_inner_dotdot")
def _():
    client.log_artifact(R1, os.path.join(SRC, "b.txt"), artifact_path="p/../q")
    return fi(client.list_artifacts(R1))


T = os.path.join(SRC, "tree")
write(os.path.join(T, "top.txt"), "top")
write(os.path.join(T, "l1", "one.txt"), "one")
write(os.path.join(T, "l1", "l2", "two.json"), json.dumps({"a": 1}))
write(os.path.join(T, "l1", "l2", "l3", "three.bin"), bytes(range(256)) * 40)
write(os.path.join(T, "empty.txt"), "")
os.makedirs(os.path.join(T, "emptydir"), exist_ok=True)


@step("art.log_artifacts_nested_root")
def _():
    client.log_artifacts(R1, T)
    return fi(client.list_artifacts(R1))


@step("art.log_artifacts_nested_with_path")
def _():
    client.log_artifacts(R1, T, artifact_path="tree")
    return {"tree": fi(client.list_artifacts(R1, "tree")),
            "l1": fi(client.list_artifacts(R1, "tree/l1")),
            "l2": fi(client.list_artifacts(R1, "tree/l1/l2")),
            "l3": fi(client.list_artifacts(R1, "tree/l1/l2/l3"))}


@step("art.list_emptydir_not_uploaded")
def _():
    return fi(client.list_artifacts(R1, "tree/emptydir"))


@step("art.list_trailing_slash")
def _():
    return fi(client.list_artifacts(R1, "tree/l1/"))


@step("art.list_leading_slash")
def _():
    return fi(client.list_artifacts(R1, "/tree/l1"))


@step("art.list_dot")
def _():
    return fi(client.list_artifacts(R1, "."))


@step("art.list_empty_string")
def _():
    return fi(client.list_artifacts(R1, ""))


@step("art.list_on_file")
def _():
    return fi(client.list_artifacts(R1, "a.txt"))


@step("art.list_on_nested_file")
def _():
    return fi(client.list_artifacts(R1, "tree/l1/one.txt"))


@step("art.list_missing")
def _():
    return fi(client.list_artifacts(R1, "does/not/exist"))


@step("art.list_dotdot")
def _():
    return fi(client.list_artifacts(R1, "../"))


@step("art.list_missing_run")
def _():
    return fi(client.list_artifacts("0" * 32))


with mlflow.start_run(run_id=R1):
    @step("fluent.get_artifact_uri")
    def _():
        return mlflow.get_artifact_uri()

    @step("fluent.get_artifact_uri_path")
    def _():
        return mlflow.get_artifact_uri("some/path.txt")

    @step("fluent.log_text")
    def _():
        mlflow.log_text("hello text", "texts/hello.txt")
        return fi(client.list_artifacts(R1, "texts"))

    @step("fluent.log_text_unicode")
    def _():
        mlflow.log_text("héllo wörld ✓ 日本", "texts/uni.txt")
        return mlflow.artifacts.load_text(f"runs:/{R1}/texts/uni.txt")

    @step("fluent.log_text_root")
    def _():
        mlflow.log_text("root text", "root.txt")
        return fi(client.list_artifacts(R1, "root.txt"))

    @step("fluent.log_dict_json")
    def _():
        mlflow.log_dict({"k": [1, 2, {"z": None}], "s": "é"}, "d/config.json")
        return mlflow.artifacts.load_dict(f"runs:/{R1}/d/config.json")

    @step("fluent.log_dict_yaml")
    def _():
        mlflow.log_dict({"k": [1, 2], "s": "x"}, "d/config.yaml")
        return mlflow.artifacts.load_text(f"runs:/{R1}/d/config.yaml")

    @step("fluent.log_dict_yml")
    def _():
        mlflow.log_dict({"k": 3}, "d/config.yml")
        return mlflow.artifacts.load_text(f"runs:/{R1}/d/config.yml")

    @step("fluent.log_dict_other_ext")
    def _():
        mlflow.log_dict({"k": 4}, "d/config.txt")
        return mlflow.artifacts.load_text(f"runs:/{R1}/d/config.txt")

    @step("fluent.load_dict_on_yaml")
    def _():
        return mlflow.artifacts.load_dict(f"runs:/{R1}/d/config.yaml")

    @step("fluent.list_d")
    def _():
        return fi(client.list_artifacts(R1, "d"))

    @step("fluent.log_image_numpy_uint8")
    def _():
        arr = (np.arange(16 * 16 * 3) % 256).astype(np.uint8).reshape(16, 16, 3)
        mlflow.log_image(arr, "img/np.png")
        return mlflow.artifacts.load_image(f"runs:/{R1}/img/np.png")

    @step("fluent.log_image_numpy_float")
    def _():
        arr = np.linspace(0, 1, 8 * 8).reshape(8, 8)
        mlflow.log_image(arr, "img/float.png")
        return mlflow.artifacts.load_image(f"runs:/{R1}/img/float.png")

    @step("fluent.log_image_pil")
    def _():
        from PIL import Image
        mlflow.log_image(Image.new("RGB", (10, 7), (255, 0, 0)), "img/pil.jpg")
        return mlflow.artifacts.load_image(f"runs:/{R1}/img/pil.jpg")

    @step("fluent.log_image_key_step")
    def _():
        arr = np.zeros((4, 4, 3), dtype=np.uint8)
        mlflow.log_image(arr, key="my/key img", step=3, synchronous=True)
        mlflow.log_image(arr, key="my/key img", step=4, synchronous=True)
        files = client.list_artifacts(R1, "images")
        names = sorted(TS_IN_NAME.sub("<TS>", UUIDISH.sub("<UUID>", f.path)) for f in files)
        return {"n": len(files), "names": names}

    @step("fluent.log_image_key_step_tags")
    def _():
        r = client.get_run(R1)
        return {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.source") and k != "mlflow.user"}

    @step("fluent.log_image_bad_path")
    def _():
        mlflow.log_image(np.zeros((2, 2), dtype=np.uint8), "img/bad.xyz")
        return fi(client.list_artifacts(R1, "img"))

    @step("fluent.log_figure_png")
    def _():
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [3, 1, 2])
        mlflow.log_figure(fig, "fig/plot.png")
        mlflow.log_figure(fig, "fig/plot.svg")
        mlflow.log_figure(fig, "fig/plot.pdf")
        plt.close(fig)
        return [(p, d) for p, d, s in fi(client.list_artifacts(R1, "fig"))]

    @step("fluent.load_image_from_figure")
    def _():
        return mlflow.artifacts.load_image(f"runs:/{R1}/fig/plot.png")

    @step("fluent.log_table_dict")
    def _():
        mlflow.log_table({"a": [1, 2], "b": ["x", "y"]}, "tables/t.json")
        return mlflow.load_table("tables/t.json", run_ids=[R1])

    @step("fluent.log_table_append")
    def _():
        mlflow.log_table(pd.DataFrame({"a": [3], "b": ["z"]}), "tables/t.json")
        return mlflow.load_table("tables/t.json", run_ids=[R1])

    @step("fluent.log_table_bad_ext")
    def _():
        mlflow.log_table({"a": [1]}, "tables/t.csv")
        return "ok"

    @step("fluent.log_table_tags")
    def _():
        r = client.get_run(R1)
        return r.data.tags.get("mlflow.loggedArtifacts")


@step("art.load_table_all_runs_in_exp")
def _():
    return mlflow.load_table("tables/t.json", extra_columns=["run_id"])


@step("art.load_table_extra_columns")
def _():
    return mlflow.load_table("tables/t.json", run_ids=[R1], extra_columns=["run_id"])


@step("art.load_table_missing")
def _():
    return mlflow.load_table("tables/missing.json", run_ids=[R1])


@step("art.list_root_after_fluent")
def _():
    return fi(client.list_artifacts(R1))


# downloads
@step("dl.client_single_file")
def _():
    return dl_desc(client.download_artifacts(R1, "a.txt", dst()))


@step("dl.client_nested_file")
def _():
    return dl_desc(client.download_artifacts(R1, "tree/l1/l2/l3/three.bin", dst()))


@step("dl.client_folder")
def _():
    return dl_desc(client.download_artifacts(R1, "tree", dst()))


@step("dl.client_folder_trailing_slash")
def _():
    return dl_desc(client.download_artifacts(R1, "tree/l1/", dst()))


@step("dl.client_whole_run")
def _():
    return dl_desc(client.download_artifacts(R1, "", dst()))


@step("dl.client_missing_file")
def _():
    return dl_desc(client.download_artifacts(R1, "nope.txt", dst()))


@step("dl.client_missing_run")
def _():
    return dl_desc(client.download_artifacts("f" * 32, "a.txt", dst()))


@step("dl.fluent_run_id_path")
def _():
    return dl_desc(mlflow.artifacts.download_artifacts(run_id=R1, artifact_path="sub/dir/b.txt", dst_path=dst()))


@step("dl.fluent_run_id_folder")
def _():
    return dl_desc(mlflow.artifacts.download_artifacts(run_id=R1, artifact_path="sub", dst_path=dst()))


@step("dl.fluent_run_id_whole")
def _():
    return dl_desc(mlflow.artifacts.download_artifacts(run_id=R1, dst_path=dst()))


@step("dl.fluent_runs_uri_file")
def _():
    return dl_desc(mlflow.artifacts.download_artifacts(f"runs:/{R1}/texts/hello.txt", dst_path=dst()))


@step("dl.fluent_runs_uri_root")
def _():
    return dl_desc(mlflow.artifacts.download_artifacts(f"runs:/{R1}", dst_path=dst()))


@step("dl.fluent_runs_uri_folder")
def _():
    return dl_desc(mlflow.artifacts.download_artifacts(f"runs:/{R1}/d", dst_path=dst()))


@step("dl.fluent_artifact_uri_full")
def _():
    uri = client.get_run(R1).info.artifact_uri + "/d/config.json"
    return dl_desc(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=dst()))


@step("dl.fluent_artifact_uri_folder")
def _():
    uri = client.get_run(R1).info.artifact_uri + "/tree/l1"
    return dl_desc(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=dst()))


@step("dl.fluent_artifact_uri_no_dst")
def _():
    p = mlflow.artifacts.download_artifacts(f"runs:/{R1}/a.txt")
    return {"exists": os.path.exists(p), "content": tree(p)}


@step("dl.fluent_both_uri_and_run_id")
def _():
    return dl_desc(mlflow.artifacts.download_artifacts(f"runs:/{R1}/a.txt", run_id=R1, dst_path=dst()))


@step("dl.fluent_runs_uri_missing")
def _():
    return dl_desc(mlflow.artifacts.download_artifacts(f"runs:/{R1}/missing/thing.txt", dst_path=dst()))


@step("dl.fluent_mlflow_artifacts_uri_missing_run")
def _():
    return dl_desc(mlflow.artifacts.download_artifacts(
        f"mlflow-artifacts:/{S['expA']}/{'e' * 32}/artifacts/a.txt", dst_path=dst()))


@step("dl.load_text_missing")
def _():
    return mlflow.artifacts.load_text(f"runs:/{R1}/nope.txt")


@step("dl.load_dict_non_json")
def _():
    return mlflow.artifacts.load_dict(f"runs:/{R1}/a.txt")


@step("dl.load_image_non_image")
def _():
    return mlflow.artifacts.load_image(f"runs:/{R1}/a.txt")


# empty files / odd names / overwrite
R2 = None


@step("odd.create_run")
def _():
    r = client.create_run(S["expA"], run_name="odd-names")
    S["r2"] = r.info.run_id
    label(r.info.run_id, "RUN", "r2")
    return r.info.run_name


R2 = S["r2"]


@step("odd.empty_file")
def _():
    client.log_artifact(R2, write(os.path.join(SRC, "empty", "zero.txt"), ""))
    return fi(client.list_artifacts(R2))


@step("odd.empty_file_download")
def _():
    return dl_desc(client.download_artifacts(R2, "zero.txt", dst()))


@step("odd.empty_text")
def _():
    client.log_text(R2, "", "empty_text.txt")
    return mlflow.artifacts.load_text(f"runs:/{R2}/empty_text.txt")


ODD = {
    "space": "with space.txt",
    "unicode": "ünïcødé_日本.txt",
    "hash": "hash#tag.txt",
    "percent": "pct%20x.txt",
    "percent_bare": "pct%zz.txt",
    "plus": "plus+sign.txt",
    "question": "q?mark.txt",
    "ampersand": "amp&x=1.txt",
    "semicolon": "semi;colon.txt",
    "quote": "quote'dq\".txt",
    "backslash": "back\\slash.txt",
    "leading_dash": "-dash.txt",
    "dots": "..dots.txt",
    "tilde": "~tilde.txt",
    "colon": "co:lon.txt",
    "long": ("L" * 200) + ".txt",
}
for k, name in ODD.items():
    @step(f"odd.log_artifact.{k}")
    def _(k=k, name=name):
        d = os.path.join(SRC, "odd", k)
        p = write(os.path.join(d, name), f"content {k}")
        client.log_artifact(R2, p, "odd")
        return [x for x in fi(client.list_artifacts(R2, "odd")) if x[0] == f"odd/{name}"]

    @step(f"odd.download.{k}")
    def _(k=k, name=name):
        return dl_desc(client.download_artifacts(R2, f"odd/{name}", dst()))

    @step(f"odd.load_text.{k}")
    def _(k=k, name=name):
        return mlflow.artifacts.load_text(f"runs:/{R2}/odd/{name}")


@step("odd.list_all")
def _():
    return sorted(fi(client.list_artifacts(R2, "odd")))


@step("odd.dir_names")
def _():
    client.log_text(R2, "x", "dir with space/ü#%+/inner.txt")
    return {"a": fi(client.list_artifacts(R2, "dir with space")),
            "b": fi(client.list_artifacts(R2, "dir with space/ü#%+"))}


@step("odd.dir_names_download")
def _():
    return dl_desc(client.download_artifacts(R2, "dir with space", dst()))


@step("odd.question_dir")
def _():
    client.log_text(R2, "q", "qdir?x=1/inner.txt")
    return {"root": sorted(fi(client.list_artifacts(R2))), "q": fi(client.list_artifacts(R2, "qdir?x=1"))}


@step("odd.whole_run_download")
def _():
    return dl_desc(client.download_artifacts(R2, "", dst()))


@step("odd.overwrite_text")
def _():
    client.log_text(R2, "version one, long", "ow/over.txt")
    client.log_text(R2, "v2", "ow/over.txt")
    return {"text": mlflow.artifacts.load_text(f"runs:/{R2}/ow/over.txt"), "ls": fi(client.list_artifacts(R2, "ow"))}


@step("odd.overwrite_file_with_dir")
def _():
    client.log_text(R2, "file", "ow/x")
    client.log_text(R2, "nested", "ow/x/y.txt")
    return fi(client.list_artifacts(R2, "ow"))


@step("odd.overwrite_dir_with_file")
def _():
    client.log_text(R2, "d", "ow/dd/z.txt")
    client.log_text(R2, "now file", "ow/dd")
    return fi(client.list_artifacts(R2, "ow"))


@step("odd.large_file_5mb")
def _():
    p = write(os.path.join(SRC, "big", "big.bin"), os.urandom(5 * 1024 * 1024))
    client.log_artifact(R2, p, "big")
    out = fi(client.list_artifacts(R2, "big"))
    d = client.download_artifacts(R2, "big/big.bin", dst())
    with open(p, "rb") as a, open(d, "rb") as b:
        same = a.read() == b.read()
    return {"ls": out, "roundtrip_equal": same}


# deleted run artifacts
@step("del.delete_run_then_list")
def _():
    client.delete_run(R2)
    return {"ls": fi(client.list_artifacts(R2, "ow")), "stage": client.get_run(R2).info.lifecycle_stage}


@step("del.deleted_run_download")
def _():
    return dl_desc(client.download_artifacts(R2, "zero.txt", dst()))


@step("del.deleted_run_log_artifact")
def _():
    client.log_text(R2, "after delete", "after_delete.txt")
    return fi(client.list_artifacts(R2, "after_delete.txt"))


@step("del.deleted_run_log_param")
def _():
    client.log_param(R2, "p", "1")
    return "ok"


@step("del.restore_run_then_list")
def _():
    client.restore_run(R2)
    return {"ls": fi(client.list_artifacts(R2, "ow")), "stage": client.get_run(R2).info.lifecycle_stage}


# REST level artifact operations
def apath(run, p=""):
    return f"{S['expA']}/{run}/artifacts" + (f"/{p}" if p else "")


@step("rest.proxy_get_file")
def _():
    r = requests.get(f"{URI}/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'a.txt')}", timeout=30)
    return {"status": r.status_code, "body": r.text, "ctype": r.headers.get("content-type", "").split(";")[0]}


@step("rest.proxy_get_file_headers")
def _():
    r = requests.get(f"{URI}/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'd/config.json')}", timeout=30)
    h = {k.lower(): v for k, v in r.headers.items()}
    return {"status": r.status_code, "ctype": h.get("content-type"), "disposition": h.get("content-disposition"),
            "xcto": h.get("x-content-type-options")}


@step("rest.proxy_get_html_ctype")
def _():
    client.log_text(R1, "<html><script>alert(1)</script></html>", "x.html")
    r = requests.get(f"{URI}/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'x.html')}", timeout=30)
    return {"status": r.status_code, "ctype": r.headers.get("content-type")}


@step("rest.proxy_get_dir")
def _():
    return rest("GET", f"/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'tree')}")


@step("rest.proxy_get_missing")
def _():
    return rest("GET", f"/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'missing.txt')}")


@step("rest.proxy_list_root")
def _():
    return rest("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": apath(R1, "tree")})


@step("rest.proxy_list_no_path")
def _():
    r = rest("GET", "/api/2.0/mlflow-artifacts/artifacts")
    if isinstance(r["body"], dict) and "files" in r["body"]:
        r["body"] = {"n_files": len(r["body"]["files"]), "has_files": True}
    return r


@step("rest.proxy_list_missing")
def _():
    return rest("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": apath(R1, "zzz")})


@step("rest.proxy_list_file")
def _():
    return rest("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": apath(R1, "a.txt")})


for k, p in {
    "dotdot": "../etc/passwd",
    "dotdot_nested": "0/../../etc/passwd",
    "enc_dotdot": "%2E%2E/etc/passwd",
    "double_enc": "%252E%252E/x",
    "abs": "/etc/passwd",
    "backslash": "..%5C..%5Cx",
    "mid_dotdot": f"{S['expA']}/{R1}/artifacts/../../../../x",
}.items():
    @step(f"rest.traversal_get.{k}")
    def _(p=p):
        return rest("GET", f"/api/2.0/mlflow-artifacts/artifacts/{p}")

    @step(f"rest.traversal_put.{k}")
    def _(p=p):
        return rest("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{p}", data=b"pwn")

    @step(f"rest.traversal_list.{k}")
    def _(p=p):
        return rest("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": p})


@step("rest.traversal_escaped_file_written")
def _():
    # did any of the PUTs above create a file outside the artifact root?
    return {"pwn_outside": [p for p in (f"{ROOT}/x", "/etc/passwd_x") if os.path.exists(p)]}


@step("rest.put_then_get")
def _():
    a = rest("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'put/raw.bin')}", data=b"\x00\x01raw")
    b = requests.get(f"{URI}/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'put/raw.bin')}", timeout=30)
    return {"put": a, "get_status": b.status_code, "get_body": b.content}


@step("rest.put_empty_body")
def _():
    a = rest("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'put/empty.bin')}", data=b"")
    return {"put": a, "ls": fi(client.list_artifacts(R1, "put"))}


@step("rest.put_on_existing_dir")
def _():
    return rest("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'tree')}", data=b"x")


@step("rest.put_no_path")
def _():
    return rest("PUT", "/api/2.0/mlflow-artifacts/artifacts/", data=b"x")


@step("rest.delete_file")
def _():
    client.log_text(R1, "to delete", "todel/f.txt")
    client.log_text(R1, "keep", "todel/keep.txt")
    a = rest("DELETE", f"/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'todel/f.txt')}")
    return {"delete": a, "ls": fi(client.list_artifacts(R1, "todel"))}


@step("rest.delete_dir")
def _():
    a = rest("DELETE", f"/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'todel')}")
    return {"delete": a, "ls": fi(client.list_artifacts(R1, "todel")), "root_has_todel": any(
        f.path == "todel" for f in client.list_artifacts(R1))}


@step("rest.delete_missing")
def _():
    return rest("DELETE", f"/api/2.0/mlflow-artifacts/artifacts/{apath(R1, 'never/was.txt')}")


@step("rest.delete_traversal")
def _():
    return rest("DELETE", f"/api/2.0/mlflow-artifacts/artifacts/../..{ROOT}/nothing")


@step("rest.mpu_create")
def _():
    return rest("POST", f"/api/2.0/mlflow-artifacts/mpu/create/{apath(R1, 'mpu.bin')}",
                json={"path": apath(R1, "mpu.bin"), "num_parts": 2})


@step("rest.mpu_abort")
def _():
    return rest("POST", f"/api/2.0/mlflow-artifacts/mpu/abort/{apath(R1, 'mpu.bin')}",
                json={"path": apath(R1, "mpu.bin"), "upload_id": "x"})


@step("rest.list_api_ok")
def _():
    return rest("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": R1, "path": "sub"})


@step("rest.list_api_root")
def _():
    r = rest("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": R1})
    if isinstance(r["body"], dict):
        r["body"] = {k: (sorted(f["path"] for f in v) if k == "files" else v) for k, v in r["body"].items()}
    return r


@step("rest.list_api_run_uuid")
def _():
    return rest("GET", "/api/2.0/mlflow/artifacts/list", params={"run_uuid": R1, "path": "sub"})


@step("rest.list_api_no_run")
def _():
    return rest("GET", "/api/2.0/mlflow/artifacts/list")


@step("rest.list_api_bad_run")
def _():
    return rest("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": "nope"})


@step("rest.list_api_missing_run")
def _():
    return rest("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": "a" * 32})


for k, p in {"dotdot": "../", "dotdot2": "../../..", "abs": "/etc", "mid": "sub/../..",
             "enc": "%2E%2E", "dot": ".", "file": "a.txt", "missing": "zzz"}.items():
    @step(f"rest.list_api_path.{k}")
    def _(p=p):
        return rest("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": R1, "path": p})


@step("rest.list_api_page_token")
def _():
    return rest("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": R1, "page_token": "garbage"})


@step("rest.list_api_post")
def _():
    return rest("POST", "/api/2.0/mlflow/artifacts/list", json={"run_id": R1})


@step("rest.get_artifact_ajax")
def _():
    r = requests.get(f"{URI}/get-artifact", params={"run_id": R1, "path": "a.txt"}, timeout=30)
    return {"status": r.status_code, "body": r.text[:50]}


@step("rest.get_artifact_ajax_traversal")
def _():
    r = requests.get(f"{URI}/get-artifact", params={"run_id": R1, "path": "../../../etc/passwd"}, timeout=30)
    return {"status": r.status_code, "is_passwd": "root:" in r.text}


@step("rest.get_artifact_ajax_missing_run")
def _():
    r = requests.get(f"{URI}/get-artifact", params={"run_id": "b" * 32, "path": "a.txt"}, timeout=30)
    return {"status": r.status_code}


@step("rest.ajax_api_get_artifact")
def _():
    r = requests.get(f"{URI}/ajax-api/2.0/mlflow/get-artifact", params={"run_id": R1, "path": "a.txt"}, timeout=30)
    return {"status": r.status_code, "body": r.text[:50]}


# ----------------------------------------------------------------------------------------------
# 2. datasets
# ----------------------------------------------------------------------------------------------
@step("ds.create_exp")
def _():
    eid = client.create_experiment("probe-datasets")
    S["expD"] = eid
    label(eid, "EXP", "expD")
    return "ok"


mlflow.set_experiment(experiment_id=S["expD"])
DF = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1], "pred": [0, 1, 1, 1], "s": list("abcd")})


@step("ds.from_pandas_full")
def _():
    ds = mlflow.data.from_pandas(DF, source="https://example.com/data/iris.csv", targets="y",
                                 name="iris-train", predictions="pred")
    S["ds_pd"] = ds
    return {"name": ds.name, "digest": ds.digest, "source_type": ds.source._get_source_type(),
            "profile": ds.profile, "schema": str(ds.schema)}


@step("ds.from_pandas_nosource")
def _():
    ds = mlflow.data.from_pandas(DF[["x", "y"]], name="nosrc")
    S["ds_nosrc"] = ds
    return {"name": ds.name, "digest": ds.digest, "source_type": ds.source._get_source_type()}


@step("ds.from_numpy")
def _():
    ds = mlflow.data.from_numpy(np.arange(12, dtype="float32").reshape(4, 3), targets=np.array([0, 1, 0, 1]),
                                source="s3://bucket/np.npy", name="np-ds")
    S["ds_np"] = ds
    return {"name": ds.name, "digest": ds.digest, "source_type": ds.source._get_source_type()}


@step("ds.from_numpy_dict")
def _():
    ds = mlflow.data.from_numpy({"a": np.ones((3, 2)), "b": np.zeros(3)}, name="np-dict",
                                source="https://example.com/d.npz")
    S["ds_npd"] = ds
    return {"name": ds.name, "digest": ds.digest, "profile": ds.profile}


@step("ds.log_input_training")
def _():
    with mlflow.start_run(run_name="ds-run-1") as r:
        label(r.info.run_id, "RUN", "d1")
        S["d1"] = r.info.run_id
        mlflow.log_input(S["ds_pd"], context="training", tags={"stage": "v1", "owner": "me"})
    return client.get_run(S["d1"]).inputs


@step("ds.dataset_input_fields")
def _():
    di = client.get_run(S["d1"]).inputs.dataset_inputs[0]
    d = di.dataset
    return {"name": d.name, "digest": d.digest, "source_type": d.source_type, "source": json.loads(d.source),
            "schema": json.loads(d.schema) if d.schema else d.schema,
            "profile": json.loads(d.profile) if d.profile else d.profile,
            "tags": sorted((t.key, t.value) for t in di.tags)}


@step("ds.get_source")
def _():
    src = mlflow.data.get_source(client.get_run(S["d1"]).inputs.dataset_inputs[0])
    return {"type": type(src).__name__, "json": src.to_json()}


@step("ds.log_input_numpy_eval_and_nosrc")
def _():
    with mlflow.start_run(run_name="ds-run-2") as r:
        label(r.info.run_id, "RUN", "d2")
        S["d2"] = r.info.run_id
        mlflow.log_input(S["ds_np"], context="eval")
        mlflow.log_input(S["ds_nosrc"], context="training")
        mlflow.log_input(S["ds_npd"])
    return client.get_run(S["d2"]).inputs


@step("ds.log_same_dataset_twice_same_context")
def _():
    with mlflow.start_run(run_id=S["d1"]):
        mlflow.log_input(S["ds_pd"], context="training", tags={"stage": "v1", "owner": "me"})
    return [(i.dataset.name, sorted((t.key, t.value) for t in i.tags)) for i in client.get_run(S["d1"]).inputs.dataset_inputs]


@step("ds.log_same_dataset_other_context")
def _():
    with mlflow.start_run(run_id=S["d1"]):
        mlflow.log_input(S["ds_pd"], context="validation")
    return [(i.dataset.name, sorted((t.key, t.value) for t in i.tags)) for i in client.get_run(S["d1"]).inputs.dataset_inputs]


@step("ds.log_same_dataset_other_run")
def _():
    with mlflow.start_run(run_name="ds-run-3") as r:
        label(r.info.run_id, "RUN", "d3")
        S["d3"] = r.info.run_id
        mlflow.log_input(S["ds_pd"], context="testing")
    return [(i.dataset.name, sorted((t.key, t.value) for t in i.tags)) for i in client.get_run(S["d3"]).inputs.dataset_inputs]


@step("ds.log_input_no_context")
def _():
    with mlflow.start_run(run_name="ds-run-4") as r:
        label(r.info.run_id, "RUN", "d4")
        S["d4"] = r.info.run_id
        mlflow.log_input(mlflow.data.from_pandas(DF.head(2), name="tiny", source="https://example.com/tiny.csv"))
    return client.get_run(S["d4"]).inputs


@step("ds.log_inputs_fluent_multi")
def _():
    with mlflow.start_run(run_name="ds-run-5") as r:
        label(r.info.run_id, "RUN", "d5")
        S["d5"] = r.info.run_id
        mlflow.log_inputs(datasets=[S["ds_pd"], S["ds_np"]], contexts=["training", "eval"],
                          tags_list=[{"a": "1"}, None])
    return client.get_run(S["d5"]).inputs


@step("ds.client_log_inputs_entity")
def _():
    ent = S["ds_nosrc"]._to_mlflow_entity()
    client.log_inputs(S["d4"], [DatasetInput(ent, [InputTag("mlflow.data.context", "client"), InputTag("k", "v")])])
    return [(i.dataset.name, sorted((t.key, t.value) for t in i.tags)) for i in client.get_run(S["d4"]).inputs.dataset_inputs]


@step("ds.client_log_inputs_empty")
def _():
    client.log_inputs(S["d4"], [])
    return "ok"


@step("ds.client_log_inputs_none")
def _():
    client.log_inputs(S["d4"])
    return "ok"


@step("ds.log_input_long_name")
def _():
    ds = mlflow.data.from_pandas(DF, name="N" * 600, source="https://example.com/x.csv")
    with mlflow.start_run(run_id=S["d4"]):
        mlflow.log_input(ds, context="big")
    return "ok"


@step("ds.log_input_long_tag_value")
def _():
    ds = mlflow.data.from_pandas(DF, name="longtag", source="https://example.com/x.csv")
    with mlflow.start_run(run_id=S["d4"]):
        mlflow.log_input(ds, context="c" * 600)
    return "ok"


@step("ds.rest_log_inputs_missing_digest")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/log-inputs", json={
        "run_id": S["d4"], "datasets": [{"dataset": {"name": "x", "source_type": "code", "source": "{}"}}]})


@step("ds.rest_log_inputs_missing_dataset")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/log-inputs", json={"run_id": S["d4"], "datasets": [{"tags": []}]})


@step("ds.rest_log_inputs_missing_run")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/log-inputs", json={
        "run_id": "c" * 32, "datasets": [{"dataset": {"name": "x", "digest": "d", "source_type": "code", "source": "{}"}}]})


@step("ds.rest_log_inputs_no_run_id")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/log-inputs", json={"datasets": []})


@step("ds.rest_get_run_inputs_shape")
def _():
    s, j = rest_msg("GET", "/api/2.0/mlflow/runs/get", params={"run_id": S["d1"]})
    return {"status": s, "inputs": j.get("run", {}).get("inputs")}


@step("ds.rest_get_run_inputs_shape_empty")
def _():
    s, j = rest_msg("GET", "/api/2.0/mlflow/runs/get", params={"run_id": R1})
    return {"status": s, "inputs": j.get("run", {}).get("inputs"), "outputs": j.get("run", {}).get("outputs"),
            "keys": sorted(j.get("run", {}).keys())}


DS_FILTERS = {
    "name_eq": "datasets.name = 'iris-train'",
    "name_in": "datasets.name IN ('iris-train', 'np-ds')",
    "name_neq": "datasets.name != 'iris-train'",
    "name_like": "datasets.name LIKE 'ir%'",
    "name_ilike": "datasets.name ILIKE 'IR%'",
    "digest_eq": None,
    "digest_in": None,
    "context_eq": "datasets.context = 'training'",
    "context_in": "datasets.context IN ('eval', 'testing')",
    "context_neq": "datasets.context != 'training'",
    "context_like": "datasets.context LIKE '%val%'",
    "name_and_context": "datasets.name = 'iris-train' AND datasets.context = 'testing'",
    "dataset_and_param": "datasets.name = 'np-ds' AND attributes.run_name = 'ds-run-2'",
    "name_missing": "datasets.name = 'nope'",
    "bad_field": "datasets.foo = 'x'",
    "bad_op": "datasets.name > 'a'",
    "name_not_in": "datasets.name NOT IN ('iris-train')",
    "dataset_backtick": "`datasets`.`name` = 'iris-train'",
    "dataset_singular": "dataset.name = 'iris-train'",
}
for k, f in DS_FILTERS.items():
    @step(f"ds.search_runs.{k}")
    def _(k=k, f=f):
        if k == "digest_eq":
            f = f"datasets.digest = '{S['ds_pd'].digest}'"
        if k == "digest_in":
            f = f"datasets.digest IN ('{S['ds_pd'].digest}', '{S['ds_np'].digest}')"
        runs = client.search_runs([S["expD"]], filter_string=f, order_by=["attributes.run_name ASC"])
        return [r.info.run_name for r in runs]


@step("ds.search_runs_pandas_inputs_column")
def _():
    df = mlflow.search_runs([S["expD"]], order_by=["attributes.run_name ASC"])
    return {"columns": sorted(df.columns), "n": len(df)}


# datasets + logged models
@step("ds.log_model_sklearn")
def _():
    from sklearn.linear_model import LogisticRegression
    X = DF[["x"]].values
    m = LogisticRegression().fit(X, DF["y"].values)
    with mlflow.start_run(run_name="model-run") as r:
        label(r.info.run_id, "RUN", "dm")
        S["dm"] = r.info.run_id
        mi = mlflow.sklearn.log_model(m, name="clf", input_example=X[:2])
        label(mi.model_id, "MODEL", "clf")
        S["model_id"] = mi.model_id
        mlflow.log_metric("acc", 0.75, model_id=mi.model_id, dataset=S["ds_pd"])
        mlflow.log_metric("acc", 0.8, step=1, model_id=mi.model_id, dataset=S["ds_pd"])
        mlflow.log_metric("loss", 0.3, dataset=S["ds_np"])
    return {"model_uri": mi.model_uri, "artifact_path": mi.artifact_path, "flavors": sorted(mi.flavors)}


@step("ds.get_logged_model")
def _():
    m = client.get_logged_model(S["model_id"])
    return {"name": m.name, "status": str(m.status), "source_run_id": m.source_run_id,
            "artifact_location": m.artifact_location,
            "metrics": sorted((x.key, x.value, x.step, x.dataset_name, x.dataset_digest, LABELS.get(x.run_id))
                              for x in (m.metrics or [])),
            "params": m.params, "tags": {k: v for k, v in m.tags.items() if k != "mlflow.user"}}


@step("ds.run_with_model_inputs_outputs")
def _():
    r = client.get_run(S["dm"])
    return {"inputs": r.inputs, "outputs": r.outputs,
            "metrics": r.data.metrics}


@step("ds.metric_history_dataset_fields")
def _():
    h = client.get_metric_history(S["dm"], "acc")
    return [(m.key, m.value, m.step, m.dataset_name, m.dataset_digest, LABELS.get(m.model_id or "", m.model_id)) for m in h]


@step("ds.run_metrics_with_dataset_get_run_rest")
def _():
    s, j = rest_msg("GET", "/api/2.0/mlflow/runs/get", params={"run_id": S["dm"]})
    return {"status": s, "metrics": norm(sorted(j["run"]["data"].get("metrics", []), key=lambda m: (m["key"], m.get("step", 0)))),
            "inputs": norm(j["run"].get("inputs")), "outputs": norm(j["run"].get("outputs"))}


@step("ds.log_input_model")
def _():
    with mlflow.start_run(run_name="consumer") as r:
        label(r.info.run_id, "RUN", "dc")
        S["dc"] = r.info.run_id
        mlflow.log_input(model=LoggedModelInput(S["model_id"]))
    return client.get_run(S["dc"]).inputs


@step("ds.client_log_inputs_models")
def _():
    client.log_inputs(S["d2"], models=[LoggedModelInput(S["model_id"])])
    return client.get_run(S["d2"]).inputs.model_inputs


@step("ds.search_logged_models_datasets")
def _():
    ms = client.search_logged_models(experiment_ids=[S["expD"]],
                                     datasets=[{"dataset_name": "iris-train", "dataset_digest": S["ds_pd"].digest}],
                                     order_by=[{"field_name": "metrics.acc", "ascending": False,
                                                "dataset_name": "iris-train"}])
    return [m.name for m in ms]


@step("ds.search_logged_models_filter_metric")
def _():
    ms = client.search_logged_models(experiment_ids=[S["expD"]], filter_string="metrics.acc > 0.7")
    return [m.name for m in ms]


@step("ds.search_logged_models_wrong_dataset")
def _():
    ms = client.search_logged_models(experiment_ids=[S["expD"]], filter_string="metrics.acc > 0.7",
                                     datasets=[{"dataset_name": "np-ds"}])
    return [m.name for m in ms]


@step("ds.logged_model_artifacts_list")
def _():
    return sorted(f.path for f in client.list_logged_model_artifacts(S["model_id"]))


@step("ds.load_model_roundtrip")
def _():
    m = mlflow.pyfunc.load_model(f"models:/{S['model_id']}")
    return m.predict(np.array([[1.0], [4.0]])).tolist()


@step("ds.load_model_runs_uri")
def _():
    m = mlflow.sklearn.load_model(f"runs:/{S['dm']}/clf")
    return type(m).__name__


@step("ds.run_artifacts_after_log_model")
def _():
    return fi(client.list_artifacts(S["dm"]))


# ----------------------------------------------------------------------------------------------
# 3. runs API edge cases
# ----------------------------------------------------------------------------------------------
@step("runs.create_exp")
def _():
    eid = client.create_experiment("probe-runs")
    S["expR"] = eid
    label(eid, "EXP", "expR")
    return "ok"


mlflow.set_experiment(experiment_id=S["expR"])


@step("runs.nested")
def _():
    with mlflow.start_run(run_name="parent") as p:
        label(p.info.run_id, "RUN", "parent")
        S["parent"] = p.info.run_id
        mlflow.log_metric("m", 1.0)
        mlflow.log_param("p", "b")
        with mlflow.start_run(run_name="child-1", nested=True) as c:
            label(c.info.run_id, "RUN", "child1")
            S["child1"] = c.info.run_id
            mlflow.log_metric("m", 3.0)
            mlflow.log_param("p", "a")
        with mlflow.start_run(run_name="child-2", nested=True) as c:
            label(c.info.run_id, "RUN", "child2")
            S["child2"] = c.info.run_id
            mlflow.log_metric("m", 2.0)
            mlflow.log_param("p", "c")
    return "ok"


@step("runs.get_parent")
def _():
    r = client.get_run(S["parent"])
    return {"info": r.info, "params": r.data.params, "metrics": r.data.metrics,
            "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.source")}}


@step("runs.get_child")
def _():
    r = client.get_run(S["child1"])
    return {"info": r.info, "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.source")}}


@step("runs.search_children")
def _():
    rs = client.search_runs([S["expR"]], f"tags.mlflow.parentRunId = '{S['parent']}'",
                            order_by=["attributes.run_name DESC"])
    return [r.info.run_name for r in rs]


ORDERS = {
    "run_name_asc": ["attributes.run_name ASC"],
    "run_name_desc": ["attributes.run_name DESC"],
    "run_name_bare": ["run_name"],
    "run_name_nonattr": ["run_name DESC"],
    "start_time_desc": ["attributes.start_time DESC"],
    "start_time_asc": ["attributes.start_time ASC"],
    "end_time": ["attributes.end_time DESC", "attributes.run_name ASC"],
    "status": ["attributes.status ASC", "attributes.run_name ASC"],
    "metric_desc": ["metrics.m DESC"],
    "metric_asc": ["metrics.m ASC"],
    "param": ["params.p ASC"],
    "param_desc": ["params.p DESC"],
    "tag": ["tags.`mlflow.runName` ASC"],
    "run_id": ["attributes.run_id ASC"],
    "created": ["attributes.created DESC"],
    "duration": ["attributes.duration DESC"],
    "bad_attr": ["attributes.nope ASC"],
    "bad_dir": ["attributes.run_name SIDEWAYS"],
    "multi": ["metrics.m DESC", "params.p ASC"],
    "dataset": ["datasets.name ASC"],
}
for k, ob in ORDERS.items():
    @step(f"runs.search_order_by.{k}")
    def _(k=k, ob=ob):
        rs = client.search_runs([S["expR"]], order_by=ob)
        names = [r.info.run_name for r in rs]
        if k in ("run_id",):  # ids differ per server; check sortedness instead
            return {"n": len(names), "sorted": [r.info.run_id for r in rs] == sorted(r.info.run_id for r in rs)}
        return names


@step("runs.search_run_name_filter")
def _():
    return [r.info.run_name for r in client.search_runs([S["expR"]], "attributes.run_name = 'child-1'")]


@step("runs.search_run_name_like")
def _():
    return [r.info.run_name for r in client.search_runs([S["expR"]], "attributes.run_name LIKE 'child%'",
                                                         order_by=["attributes.run_name"])]


@step("runs.search_run_name_tag_filter")
def _():
    return [r.info.run_name for r in client.search_runs([S["expR"]], "tags.`mlflow.runName` = 'child-2'")]


@step("runs.search_pandas")
def _():
    df = mlflow.search_runs([S["expR"]], order_by=["attributes.run_name ASC"])
    return {"columns": sorted(df.columns), "names": df["tags.mlflow.runName"].tolist(),
            "status": df["status"].tolist(), "m": df["metrics.m"].tolist()}


@step("runs.set_terminated_killed")
def _():
    r = client.create_run(S["expR"], run_name="term")
    label(r.info.run_id, "RUN", "term")
    S["term"] = r.info.run_id
    client.set_terminated(r.info.run_id, status="KILLED", end_time=1700000000000)
    i = client.get_run(r.info.run_id).info
    return {"status": i.status, "end_time_raw": i.end_time, "stage": i.lifecycle_stage}


@step("runs.set_terminated_default")
def _():
    r = client.create_run(S["expR"], run_name="term2")
    label(r.info.run_id, "RUN", "term2")
    client.set_terminated(r.info.run_id)
    i = client.get_run(r.info.run_id).info
    return {"status": i.status, "has_end": i.end_time is not None}


@step("runs.set_terminated_bad_status")
def _():
    client.set_terminated(S["term"], status="EXPLODED")
    return client.get_run(S["term"]).info.status


@step("runs.set_terminated_twice_running")
def _():
    client.set_terminated(S["term"], status="RUNNING")
    i = client.get_run(S["term"]).info
    return {"status": i.status, "end_time_raw": i.end_time}


@step("runs.update_run_name")
def _():
    client.update_run(S["term"], name="renamed")
    r = client.get_run(S["term"])
    return {"run_name": r.info.run_name, "tag": r.data.tags.get("mlflow.runName")}


@step("runs.update_run_status_scheduled")
def _():
    client.update_run(S["term"], status="SCHEDULED")
    return client.get_run(S["term"]).info.status


@step("runs.delete_restore")
def _():
    client.delete_run(S["child2"])
    a = [r.info.run_name for r in client.search_runs([S["expR"]], order_by=["attributes.run_name"])]
    b = [r.info.run_name for r in client.search_runs([S["expR"]], run_view_type=ViewType.DELETED_ONLY)]
    c = len(client.search_runs([S["expR"]], run_view_type=ViewType.ALL))
    client.restore_run(S["child2"])
    d = [r.info.run_name for r in client.search_runs([S["expR"]], order_by=["attributes.run_name"])]
    return {"active": a, "deleted": b, "all": c, "after_restore": d}


@step("runs.delete_twice")
def _():
    client.delete_run(S["child2"])
    client.delete_run(S["child2"])
    return client.get_run(S["child2"]).info.lifecycle_stage


@step("runs.restore_active")
def _():
    client.restore_run(S["child2"])
    client.restore_run(S["child2"])
    return client.get_run(S["child2"]).info.lifecycle_stage


@step("runs.delete_missing")
def _():
    client.delete_run("d" * 32)


@step("runs.get_missing")
def _():
    return client.get_run("d" * 32)


@step("runs.get_bad_id")
def _():
    return client.get_run("not-a-run")


@step("runs.deleted_run_artifacts")
def _():
    client.log_text(S["child1"], "hi", "f/a.txt")
    client.delete_run(S["child1"])
    out = {"ls": fi(client.list_artifacts(S["child1"], "f")),
           "text": mlflow.artifacts.load_text(f"runs:/{S['child1']}/f/a.txt")}
    client.restore_run(S["child1"])
    return out


# log_batch limits
@step("runs.batch_create")
def _():
    r = client.create_run(S["expR"], run_name="batch")
    label(r.info.run_id, "RUN", "b")
    S["b"] = r.info.run_id
    return "ok"


def lb(metrics=(), params=(), tags=()):
    return rest("POST", "/api/2.0/mlflow/runs/log-batch",
                json={"run_id": S["b"], "metrics": list(metrics), "params": list(params), "tags": list(tags)})


TS0 = 1700000000000
MET = lambda n, pre="m": [{"key": f"{pre}{i}", "value": float(i), "timestamp": TS0, "step": 0} for i in range(n)]
PAR = lambda n, pre="p": [{"key": f"{pre}{i}", "value": str(i)} for i in range(n)]
TAGS = lambda n, pre="t": [{"key": f"{pre}{i}", "value": str(i)} for i in range(n)]


@step("batch.rest_1000_metrics")
def _():
    return lb(metrics=MET(1000))


@step("batch.rest_1001_metrics")
def _():
    return lb(metrics=MET(1001, "mm"))


@step("batch.rest_100_params")
def _():
    return lb(params=PAR(100))


@step("batch.rest_101_params")
def _():
    return lb(params=PAR(101, "pp"))


@step("batch.rest_100_tags")
def _():
    return lb(tags=TAGS(100))


@step("batch.rest_101_tags")
def _():
    return lb(tags=TAGS(101, "tt"))


@step("batch.rest_total_over_1000")
def _():
    return lb(metrics=MET(950, "x"), params=PAR(60, "xp"))


@step("batch.rest_total_exactly_1000")
def _():
    return lb(metrics=MET(900, "y"), params=PAR(50, "yp"), tags=TAGS(50, "yt"))


@step("batch.rest_empty")
def _():
    return lb()


@step("batch.rest_no_run_id")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/log-batch", json={"metrics": MET(1)})


@step("batch.rest_missing_run")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/log-batch", json={"run_id": "9" * 32, "metrics": MET(1)})


@step("batch.rest_metric_no_timestamp")
def _():
    return lb(metrics=[{"key": "nots", "value": 1.0}])


@step("batch.rest_metric_no_value")
def _():
    return lb(metrics=[{"key": "noval", "timestamp": TS0}])


@step("batch.rest_metric_string_value")
def _():
    return lb(metrics=[{"key": "strval", "value": "abc", "timestamp": TS0}])


@step("batch.rest_metric_nan_string")
def _():
    return lb(metrics=[{"key": "nanstr", "value": "NaN", "timestamp": TS0},
                       {"key": "infstr", "value": "Infinity", "timestamp": TS0},
                       {"key": "ninfstr", "value": "-Infinity", "timestamp": TS0}])


@step("batch.rest_dup_param_same_batch_same_value")
def _():
    return lb(params=[{"key": "dup", "value": "1"}, {"key": "dup", "value": "1"}])


@step("batch.rest_dup_param_same_batch_diff_value")
def _():
    return lb(params=[{"key": "dup2", "value": "1"}, {"key": "dup2", "value": "2"}])


@step("batch.rest_param_no_value")
def _():
    return lb(params=[{"key": "pnoval"}])


@step("batch.rest_tag_no_key")
def _():
    return lb(tags=[{"value": "x"}])


@step("batch.client_5000_metrics_chunked")
def _():
    client.log_batch(S["b"], metrics=[Metric(f"c{i}", i, TS0, 0) for i in range(2500)],
                     params=[Param(f"cp{i}", "v") for i in range(250)],
                     tags=[RunTag(f"ct{i}", "v") for i in range(250)])
    r = client.get_run(S["b"])
    return {"m": len(r.data.metrics), "p": len(r.data.params), "t": len([t for t in r.data.tags if not t.startswith("mlflow.")])}


@step("batch.final_counts")
def _():
    r = client.get_run(S["b"])
    return {"m": len(r.data.metrics), "p": len(r.data.params),
            "t": len([t for t in r.data.tags if not t.startswith("mlflow.")]),
            "nanstr": r.data.metrics.get("nanstr"), "infstr": r.data.metrics.get("infstr"),
            "ninfstr": r.data.metrics.get("ninfstr"), "dup": r.data.params.get("dup"),
            "dup2": r.data.params.get("dup2"), "nots": r.data.metrics.get("nots"),
            "strval": r.data.metrics.get("strval"), "noval": r.data.metrics.get("noval")}


# param / tag / metric validation
@step("val.create_run")
def _():
    r = client.create_run(S["expR"], run_name="validation")
    label(r.info.run_id, "RUN", "v")
    S["v"] = r.info.run_id
    return "ok"


for n in (250, 500, 6000, 6001, 8000, 8001, 100000):
    @step(f"val.param_len_{n}.client")
    def _(n=n):
        client.log_param(S["v"], f"plen{n}", "x" * n)
        return len(client.get_run(S["v"]).data.params[f"plen{n}"])

    @step(f"val.param_len_{n}.rest")
    def _(n=n):
        a = rest("POST", "/api/2.0/mlflow/runs/log-parameter",
                 json={"run_id": S["v"], "key": f"rplen{n}", "value": "y" * n})
        p = client.get_run(S["v"]).data.params.get(f"rplen{n}")
        return {"resp": a, "stored_len": None if p is None else len(p)}

for n in (5000, 8000, 8001, 100000):
    @step(f"val.tag_len_{n}.rest")
    def _(n=n):
        a = rest("POST", "/api/2.0/mlflow/runs/set-tag", json={"run_id": S["v"], "key": f"tlen{n}", "value": "t" * n})
        t = client.get_run(S["v"]).data.tags.get(f"tlen{n}")
        return {"resp": a, "stored_len": None if t is None else len(t)}

for n in (250, 251, 1000):
    @step(f"val.key_len_{n}.rest_param")
    def _(n=n):
        return rest("POST", "/api/2.0/mlflow/runs/log-parameter", json={"run_id": S["v"], "key": "k" * n, "value": "1"})

    @step(f"val.key_len_{n}.rest_metric")
    def _(n=n):
        return rest("POST", "/api/2.0/mlflow/runs/log-metric",
                    json={"run_id": S["v"], "key": "k" * n, "value": 1.0, "timestamp": TS0})

TAG_KEYS = {
    "space": "a b", "slash": "a/b", "dotdot": "../x", "dot": "./x", "leading_slash": "/x", "dash": "a-b",
    "dot_in": "a.b", "colon": "a:b", "bang": "bad!", "hash": "a#b", "unicode": "ключ", "empty": "",
    "backslash": "a\\b", "double_slash": "a//b", "trailing_slash": "a/", "only_dots": "..", "tab": "a\tb",
    "newline": "a\nb", "mlflow_reserved": "mlflow.custom",
}
for k, key in TAG_KEYS.items():
    @step(f"val.tag_key.{k}")
    def _(key=key):
        client.set_tag(S["v"], key, "v")
        return key in client.get_run(S["v"]).data.tags

    @step(f"val.param_key.{k}")
    def _(key=key):
        client.log_param(S["v"], key, "v")
        return key in client.get_run(S["v"]).data.params

    @step(f"val.metric_key_rest.{k}")
    def _(key=key):
        return rest("POST", "/api/2.0/mlflow/runs/log-metric",
                    json={"run_id": S["v"], "key": key, "value": 1.0, "timestamp": TS0})


@step("val.tag_key_rest_slashdotdot")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/set-tag", json={"run_id": S["v"], "key": "a/../b", "value": "x"})


@step("val.tag_no_value_rest")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/set-tag", json={"run_id": S["v"], "key": "novalue"})


@step("val.delete_tag_missing")
def _():
    client.delete_tag(S["v"], "never-set")


@step("val.delete_tag")
def _():
    client.set_tag(S["v"], "deleteme", "1")
    client.delete_tag(S["v"], "deleteme")
    return "deleteme" in client.get_run(S["v"]).data.tags


for k, v in {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "big": 1e308, "tiny": 5e-324,
             "negzero": -0.0, "int": 7, "bool": True, "huge_int": 2 ** 63}.items():
    @step(f"val.metric_value.{k}")
    def _(k=k, v=v):
        client.log_metric(S["v"], f"mv_{k}", v, timestamp=TS0, step=0)
        h = client.get_metric_history(S["v"], f"mv_{k}")
        return {"latest": client.get_run(S["v"]).data.metrics.get(f"mv_{k}"), "hist": [(m.value, m.step) for m in h]}

for k, body in {
    "nan_json": '{"run_id": "RID", "key": "rnan", "value": NaN, "timestamp": 1700000000000}',
    "inf_json": '{"run_id": "RID", "key": "rinf", "value": Infinity, "timestamp": 1700000000000}',
    "nan_str": '{"run_id": "RID", "key": "rnans", "value": "NaN", "timestamp": 1700000000000}',
    "null_value": '{"run_id": "RID", "key": "rnull", "value": null, "timestamp": 1700000000000}',
    "step_str": '{"run_id": "RID", "key": "rstep", "value": 1, "timestamp": 1700000000000, "step": "3"}',
    "step_float": '{"run_id": "RID", "key": "rstepf", "value": 1, "timestamp": 1700000000000, "step": 3.5}',
    "ts_str": '{"run_id": "RID", "key": "rts", "value": 1, "timestamp": "1700000000000"}',
    "neg_step": '{"run_id": "RID", "key": "rneg", "value": 1, "timestamp": 1700000000000, "step": -5}',
}.items():
    @step(f"val.metric_rest.{k}")
    def _(k=k, body=body):
        return rest("POST", "/api/2.0/mlflow/runs/log-metric", data=body.replace("RID", S["v"]),
                    headers={"Content-Type": "application/json"})


@step("val.metric_rest_readback")
def _():
    s, j = rest_msg("GET", "/api/2.0/mlflow/runs/get", params={"run_id": S["v"]})
    ms = {m["key"]: m.get("value") for m in j["run"]["data"].get("metrics", []) if m["key"].startswith(("r", "mv_"))}
    return {"status": s, "metrics": dict(sorted(ms.items()))}


@step("val.metric_history_rest_nan")
def _():
    r = requests.get(f"{URI}/api/2.0/mlflow/metrics/get-history", params={"run_id": S["v"], "metric_key": "mv_nan"}, timeout=30)
    return {"status": r.status_code, "raw_value_token": re.findall(r'"value":\s*([^,}]+)', r.text)}


@step("val.metric_history_rest_inf")
def _():
    r = requests.get(f"{URI}/api/2.0/mlflow/metrics/get-history", params={"run_id": S["v"], "metric_key": "mv_inf"}, timeout=30)
    return {"status": r.status_code, "raw_value_token": re.findall(r'"value":\s*([^,}]+)', r.text)}


@step("val.search_runs_metric_nan_filter")
def _():
    return [r.info.run_name for r in client.search_runs([S["expR"]], "metrics.mv_inf > 0")]


@step("val.dup_param_same_value")
def _():
    client.log_param(S["v"], "dp", "1")
    client.log_param(S["v"], "dp", "1")
    return client.get_run(S["v"]).data.params["dp"]


@step("val.dup_param_diff_value")
def _():
    client.log_param(S["v"], "dp", "2")
    return client.get_run(S["v"]).data.params["dp"]


@step("val.dup_param_diff_value_batch")
def _():
    client.log_batch(S["v"], params=[Param("dp", "3")])
    return client.get_run(S["v"]).data.params["dp"]


@step("val.dup_param_diff_value_rest")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/log-parameter", json={"run_id": S["v"], "key": "dp", "value": "4"})


@step("val.param_numeric_coerced")
def _():
    client.log_param(S["v"], "pnum", 1.50)
    client.log_param(S["v"], "pnone", None)
    client.log_param(S["v"], "plist", [1, "a"])
    p = client.get_run(S["v"]).data.params
    return {k: p.get(k) for k in ("pnum", "pnone", "plist")}


@step("val.param_empty_value")
def _():
    client.log_param(S["v"], "pempty", "")
    return repr(client.get_run(S["v"]).data.params.get("pempty"))


@step("val.log_param_on_terminated_run")
def _():
    client.log_param(S["term"], "late", "1")
    return client.get_run(S["term"]).data.params


@step("val.create_run_in_deleted_experiment")
def _():
    eid = client.create_experiment("to-delete")
    label(eid, "EXP", "to-delete")
    client.delete_experiment(eid)
    r = client.create_run(eid)
    return r.info.lifecycle_stage


@step("val.log_to_run_in_deleted_experiment")
def _():
    eid = client.create_experiment("to-delete-2")
    label(eid, "EXP", "to-delete-2")
    r = client.create_run(eid)
    label(r.info.run_id, "RUN", "in-deleted-exp")
    client.log_text(r.info.run_id, "x", "pre.txt")
    client.delete_experiment(eid)
    out = {"ls": fi(client.list_artifacts(r.info.run_id)), "stage": client.get_run(r.info.run_id).info.lifecycle_stage}
    try:
        client.log_param(r.info.run_id, "a", "b")
        out["log_param"] = "ok"
    except MlflowException as e:
        out["log_param"] = e.error_code
    return out


@step("val.search_runs_max_results")
def _():
    return len(client.search_runs([S["expR"]], max_results=2))


@step("val.search_runs_max_results_too_big")
def _():
    return len(client.search_runs([S["expR"]], max_results=50001))


@step("val.search_runs_page_token")
def _():
    p1 = client.search_runs([S["expR"]], max_results=3, order_by=["attributes.run_name ASC"])
    p2 = client.search_runs([S["expR"]], max_results=3, order_by=["attributes.run_name ASC"], page_token=p1.token)
    return {"p1": [r.info.run_name for r in p1], "p2": [r.info.run_name for r in p2], "tok2_none": p2.token is None}


@step("val.search_runs_bad_page_token")
def _():
    return len(client.search_runs([S["expR"]], page_token="garbage"))


@step("val.search_runs_bad_filter")
def _():
    return client.search_runs([S["expR"]], "metrics.m >>> 1")


@step("val.search_runs_no_experiments")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/search", json={})


@step("val.search_runs_missing_experiment")
def _():
    return [r.info.run_name for r in client.search_runs(["987654"])]



# extra artifact/dataset steps
@step("extra.fluent_list_artifacts_run_id")
def _():
    return fi(mlflow.artifacts.list_artifacts(run_id=R1, artifact_path="sub"))


@step("extra.fluent_list_artifacts_uri")
def _():
    return fi(mlflow.artifacts.list_artifacts(f"runs:/{R1}/tree/l1"))


@step("extra.fluent_list_artifacts_full_uri")
def _():
    return fi(mlflow.artifacts.list_artifacts(client.get_run(R1).info.artifact_uri + "/d"))


@step("extra.download_to_nonexistent_dst")
def _():
    d = os.path.join(dst(), "does", "not", "exist")
    return dl_desc(client.download_artifacts(R1, "a.txt", d))


@step("extra.fluent_log_artifact_path")
def _():
    with mlflow.start_run(run_id=R1):
        mlflow.log_artifact(os.path.join(SRC, "a.txt"), artifact_path="fluent/dir")
        mlflow.log_artifacts(os.path.join(T, "l1"), artifact_path="fluent/tree")
    return {"a": fi(client.list_artifacts(R1, "fluent")), "b": fi(client.list_artifacts(R1, "fluent/tree"))}


@step("extra.log_table_parquet")
def _():
    with mlflow.start_run(run_id=R1):
        mlflow.log_table(pd.DataFrame({"q": [1.5, 2.5]}), "tables/p.parquet")
    return mlflow.load_table("tables/p.parquet", run_ids=[R1])


@step("extra.load_table_mixed_runs")
def _():
    return mlflow.load_table("tables/t.json", run_ids=[R1, S["d1"]], extra_columns=["run_id"])


@step("extra.log_artifact_missing_local_file")
def _():
    client.log_artifact(R1, os.path.join(SRC, "nope.txt"))


@step("extra.log_artifact_to_missing_run")
def _():
    client.log_artifact("a1" * 16, os.path.join(SRC, "a.txt"))


@step("extra.log_text_to_missing_run")
def _():
    client.log_text("a2" * 16, "x", "x.txt")


@step("extra.metric_history_model_metric")
def _():
    h = client.get_metric_history(S["dm"], "loss")
    return [(m.value, m.step, m.dataset_name, m.dataset_digest, m.model_id) for m in h]


@step("extra.search_runs_datasets_deleted_view")
def _():
    client.delete_run(S["d3"])
    a = [r.info.run_name for r in client.search_runs([S["expD"]], "datasets.context = 'testing'")]
    b = [r.info.run_name for r in client.search_runs([S["expD"]], "datasets.context = 'testing'",
                                                     run_view_type=ViewType.ALL)]
    client.restore_run(S["d3"])
    return {"active": a, "all": b}


@step("extra.search_runs_dataset_digest_and_metric")
def _():
    return [r.info.run_name for r in client.search_runs(
        [S["expD"]], f"datasets.digest = '{S['ds_np'].digest}' AND metrics.loss < 1")]


@step("extra.dataset_source_load_http_json")
def _():
    src = mlflow.data.get_source(client.get_run(S["d2"]).inputs.dataset_inputs[0])
    return {"type": type(src).__name__, "json": json.loads(src.to_json())}


@step("extra.run_inputs_dataset_order")
def _():
    return [(i.dataset.name, [t.value for t in i.tags if t.key == "mlflow.data.context"])
            for i in client.get_run(S["d2"]).inputs.dataset_inputs]


@step("extra.log_input_tags_only_context_limit_ok")
def _():
    ds = mlflow.data.from_pandas(DF.tail(1), name="ctx500", source="https://example.com/c.csv")
    with mlflow.start_run(run_id=S["d4"]):
        mlflow.log_input(ds, context="c" * 500)
    return "ok"


@step("extra.rest_log_inputs_huge_schema")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/log-inputs", json={"run_id": S["d4"], "datasets": [{"dataset": {
        "name": "bigschema", "digest": "dd", "source_type": "code", "source": "{}", "schema": "s" * 1048577}}]})


@step("extra.rest_log_inputs_long_digest")
def _():
    return rest("POST", "/api/2.0/mlflow/runs/log-inputs", json={"run_id": S["d4"], "datasets": [{"dataset": {
        "name": "longdigest", "digest": "d" * 37, "source_type": "code", "source": "{}"}}]})



@step("extra.multipart_upload_env_enabled_fallback")
def _():
    # with MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD the client first calls mpu/create and only falls back
    # to a plain PUT when the server answers with MLflow's "multipart upload not supported" message
    os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"] = "true"
    os.environ["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"] = "1"
    try:
        p = write(os.path.join(SRC, "mpu", "mpu.bin"), b"m" * 2048)
        client.log_artifact(R1, p, "mpu")
        return fi(client.list_artifacts(R1, "mpu"))
    finally:
        del os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"]
        del os.environ["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"]


@step("extra.mpu_create_message")
def _():
    s_, j = rest_msg("POST", f"/api/2.0/mlflow-artifacts/mpu/create/{apath(R1, 'mpu2.bin')}",
                     json={"path": apath(R1, "mpu2.bin"), "num_parts": 1})
    return {"status": s_, "message_prefix": (j.get("message", "")[:60] if isinstance(j, dict) else j[:60])}


# MLflow UI's get-history-bulk (an ajax-api route the client never calls).
@step("ui.history_bulk")
def _():
    run = client.create_run(client.get_run(R1).info.experiment_id)
    rid = run.info.run_id
    label(rid, "bulk_run")
    for step_, v in [(2, 0.5), (0, 1.0), (1, float("nan"))]:
        client.log_metric(rid, "bulk", v, step=step_, timestamp=1000 + step_)
    s_, j = rest_msg("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk",
                     params=[("run_id", rid), ("run_id", R1), ("metric_key", "bulk")])
    # What a client reads: MLflow writes a bare NaN, Almanac the string "NaN".
    points = [(m.get("run_id"), m.get("step"), repr(float(m.get("value")))) for m in j.get("metrics", [])]
    return {"status": s_, "points": points}


@step("ui.history_bulk_errors")
def _():
    out = {}
    for name, params in [("no_run", [("metric_key", "bulk")]), ("no_key", [("run_id", R1)]),
                         ("too_many", [("run_id", f"{i:032x}") for i in range(101)] + [("metric_key", "m")]),
                         ("unknown_run", [("run_id", "0" * 32), ("metric_key", "m")])]:
        s_, j = rest_msg("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", params=params)
        out[name] = (s_, j.get("error_code") if isinstance(j, dict) else None,
                     (j.get("message") if isinstance(j, dict) else None), j.get("metrics") if isinstance(j, dict) else None)
    return out


@step("ui.search_datasets")
def _():
    s_, j = rest_msg("POST", "/ajax-api/2.0/mlflow/experiments/search-datasets", json={"experiment_ids": [S["expD"]]})
    found = j.get("dataset_summaries", []) if isinstance(j, dict) else j
    return {"status": s_, "summaries": sorted((d.get("name"), d.get("digest"), d.get("context")) for d in found)}


@step("ui.search_datasets_errors")
def _():
    out = {}
    for name, body in [("none", {}), ("too_many", {"experiment_ids": [str(i) for i in range(21)]})]:
        s_, j = rest_msg("POST", "/ajax-api/2.0/mlflow/experiments/search-datasets", json=body)
        out[name] = (s_, j.get("error_code"), j.get("message")) if isinstance(j, dict) else (s_, j)
    return out


# final artifact view of R1 (after all the REST writes/deletes above)
@step("final.r1_root_listing")
def _():
    return sorted(fi(client.list_artifacts(R1)))


@step("final.r1_whole_download")
def _():
    return dl_desc(client.download_artifacts(R1, "", dst()))


with open(OUT, "w") as f:
    for r in RESULTS:
        f.write(json.dumps(r, sort_keys=True, default=str) + "\n")
with open(OUT + ".labels.json", "w") as f:
    json.dump(LABELS, f, indent=1)
print(f"wrote {len(RESULTS)} steps to {OUT}")
