#!/usr/bin/env python
"""Differential probe: model registry, register_model/loading, logged models, prompts.

Usage:  PROBE_ROOT=DIR python registry_probe.py TRACKING_URI OUT.jsonl [NAME_PREFIX]
Run against fresh stores on each server (names are deterministic); run.sh
starts both servers under DIR and runs every probe against each.
Each line of OUT is {"step", "ok": <normalized result>} or {"step", "err", "code", "msg"}.
Comparison ignores "msg".
"""
import os
import sys

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import enum
import json
import re
import tempfile
import traceback
import warnings

warnings.filterwarnings("ignore")

URI = sys.argv[1]
OUT = sys.argv[2]
ROOT = os.environ["PROBE_ROOT"]
P = sys.argv[3] if len(sys.argv) > 3 else "pr"

import logging

logging.getLogger("mlflow").setLevel(logging.ERROR)

import mlflow
import mlflow.genai
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.store.entities.paged_list import PagedList
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(URI)
mlflow.set_registry_uri(URI)
client = MlflowClient(tracking_uri=URI, registry_uri=URI)

# ---------------------------------------------------------------- normalization
KNOWN = {}  # real id -> symbolic name


def known(sym, real):
    if real:
        KNOWN[str(real)] = sym
    return real


TS_KEYS = ("timestamp", "_time", "time_", "user_id")


def scrub_str(s, key=None):
    if s in KNOWN and (len(s) > 2 or (key and "experiment_id" in key)):
        return f"<{KNOWN[s]}>"
    for real, sym in KNOWN.items():
        if sym == "EXP":
            s = s.replace(f"mlflow-artifacts:/{real}/", "mlflow-artifacts:/<EXP>/")
            s = s.replace(f"/experiments/{real}/", "/experiments/<EXP>/")
            if key == "_mlflow_experiment_ids":
                s = s.replace(f",{real},", ",<EXP>,")
    for real, sym in sorted(KNOWN.items(), key=lambda kv: -len(kv[0])):
        if len(real) > 2:
            s = s.replace(real, f"<{sym}>")
    s = re.sub(r"m-[0-9a-f]{32}", "m-<ID?>", s)
    s = re.sub(r"\b[0-9a-f]{32}\b", "<HEX32?>", s)
    s = re.sub(r"(file://)?" + re.escape(ROOT) + r"/[^\s'\"]*?(mlflow-artifacts|almanac-store)(/artifacts)?", "<ARTROOT>", s)
    s = re.sub(r"(file://)?/tmp/tmp[\w]+", "<TMP>", s)
    return s


def norm(o, key=None, depth=0):
    if depth > 12:
        return "<deep>"
    if key is not None and any(t in key for t in TS_KEYS):
        return None if o is None else f"<{type(o).__name__}>"
    if o is None or isinstance(o, (bool, int, float)):
        return o
    if isinstance(o, enum.Enum):
        return str(o.name if hasattr(o, "name") else o)
    if isinstance(o, str):
        return scrub_str(o, key)
    if isinstance(o, PagedList):
        return {"items": [norm(x, None, depth + 1) for x in o], "has_token": bool(o.token)}
    if isinstance(o, dict):
        return {str(k): norm(v, str(k), depth + 1) for k, v in o.items()}
    if isinstance(o, (set, frozenset)):
        return sorted(norm(x, None, depth + 1) for x in o)
    if isinstance(o, (list, tuple)):
        return [norm(x, None, depth + 1) for x in o]
    if isinstance(o, np.ndarray):
        return norm(o.tolist(), None, depth + 1)
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    if isinstance(o, pd.DataFrame):
        return {"df_columns": list(map(str, o.columns)), "n": len(o)}
    if isinstance(o, type):
        return f"<class {o.__name__}>"
    # generic entity: public properties
    out = {"__type__": type(o).__name__}
    for name in sorted(dir(type(o))):
        if name.startswith("_"):
            continue
        attr = getattr(type(o), name, None)
        if isinstance(attr, property):
            try:
                v = getattr(o, name)
            except Exception as e:  # noqa
                v = f"<raises {type(e).__name__}>"
            out[name] = norm(v, name, depth + 1)
    if len(out) == 1:
        return scrub_str(repr(o))[:200]
    return out


RESULTS = []


def step(name, fn):
    rec = {"step": name}
    ret = None
    try:
        ret = fn()
        rec["ok"] = norm(ret)
    except MlflowException as e:
        rec["err"] = type(e).__name__
        rec["code"] = e.error_code
        m5 = re.search(r"too many (\d{3}) error responses", str(e))
        if m5:
            rec["code"] = f"HTTP_{m5.group(1)}"
        rec["msg"] = scrub_str(str(e))[:300]
    except Exception as e:
        rec["err"] = type(e).__name__
        rec["msg"] = scrub_str(str(e))[:300]
    RESULTS.append(rec)
    flag = "OK " if "ok" in rec else f"ERR {rec.get('err')} {rec.get('code', '')}"
    print(f"[{len(RESULTS):3d}] {name}: {flag}", flush=True)
    return ret


def names(items):
    return [getattr(x, "name", None) for x in items]


def mv_short(mv):
    return {"name": mv.name, "version": mv.version, "stage": mv.current_stage,
            "aliases": sorted(mv.aliases or []), "tags": mv.tags, "status": mv.status}


def pages(fetch, key=lambda x: x.name):
    """Collect all pages: fetch(token) -> PagedList. Returns list of pages of keys."""
    out, tok, n = [], None, 0
    while True:
        pl = fetch(tok)
        out.append([key(x) for x in pl])
        tok = pl.token
        n += 1
        if not tok or n > 20:
            break
    return out


# ---------------------------------------------------------------- fixtures
X, y = load_iris(return_X_y=True, as_frame=True)
sk = LogisticRegression(max_iter=300).fit(X, y)
sig = infer_signature(X, sk.predict(X))
XI = X.head(3)
PIP = ["scikit-learn", "pandas"]

exp_id = step("set_experiment", lambda: known("EXP", mlflow.set_experiment(f"{P}-exp").experiment_id))
RESULTS[-1]["ok"] = {"experiment_id": norm(exp_id, "experiment_id")}

RM = lambda s: f"{P}-{s}"  # noqa

# ================================================================= 1. REGISTRY
step("rm.create.a", lambda: client.create_registered_model(RM("a"), tags={"team": "x", "env": "dev"},
                                                           description="desc a"))
step("rm.create.b", lambda: client.create_registered_model(RM("b")))
step("rm.create.c", lambda: client.create_registered_model(RM("c"), tags={"env": "dev"}))
step("rm.create.d", lambda: client.create_registered_model(RM("d"), description="to delete"))
step("rm.create.e", lambda: client.create_registered_model(RM("e"), tags={"env": "prod"}))
step("rm.create.dup", lambda: client.create_registered_model(RM("a")))
step("rm.create.empty_name", lambda: client.create_registered_model(""))
step("rm.create.slash_name", lambda: client.create_registered_model(RM("x/y")))
step("rm.create.colon_name", lambda: client.create_registered_model(RM("x:y")))
step("rm.create.space_name", lambda: client.create_registered_model(RM("with space")))
step("rm.create.none_name", lambda: client.create_registered_model(None))
step("rm.get.a", lambda: client.get_registered_model(RM("a")))
step("rm.get.missing", lambda: client.get_registered_model(RM("nope")))
step("rm.update.desc", lambda: client.update_registered_model(RM("a"), description="new desc a"))
step("rm.update.missing", lambda: client.update_registered_model(RM("nope"), description="x"))
step("rm.get.a_after_update", lambda: client.get_registered_model(RM("a")).description)
step("rm.rename.c", lambda: client.rename_registered_model(RM("c"), RM("c2")))
step("rm.get.c_old", lambda: client.get_registered_model(RM("c")))
step("rm.get.c2", lambda: client.get_registered_model(RM("c2")))
step("rm.rename.to_existing", lambda: client.rename_registered_model(RM("c2"), RM("a")))
step("rm.rename.missing", lambda: client.rename_registered_model(RM("nope"), RM("nope2")))
step("rm.rename.empty", lambda: client.rename_registered_model(RM("c2"), ""))
step("rm.tag.set", lambda: client.set_registered_model_tag(RM("b"), "k1", "v1"))
step("rm.tag.set2", lambda: client.set_registered_model_tag(RM("b"), "k2", "v2"))
step("rm.tag.overwrite", lambda: client.set_registered_model_tag(RM("b"), "k1", "v1b"))
step("rm.tag.delete", lambda: client.delete_registered_model_tag(RM("b"), "k2"))
step("rm.tag.delete_missing_key", lambda: client.delete_registered_model_tag(RM("b"), "zz"))
step("rm.tag.set_missing_model", lambda: client.set_registered_model_tag(RM("nope"), "k", "v"))
step("rm.tag.get_b", lambda: client.get_registered_model(RM("b")).tags)
step("rm.tag.set_empty_key", lambda: client.set_registered_model_tag(RM("b"), "", "v"))
step("rm.tag.set_nonstr", lambda: client.set_registered_model_tag(RM("b"), "num", 5))
step("rm.tag.get_b2", lambda: client.get_registered_model(RM("b")).tags)
step("rm.delete.d", lambda: client.delete_registered_model(RM("d")))
step("rm.get.d_deleted", lambda: client.get_registered_model(RM("d")))
step("rm.delete.d_again", lambda: client.delete_registered_model(RM("d")))

S = client.search_registered_models
step("rm.search.all_prefix", lambda: names(S(f"name LIKE '{P}-%'")))
step("rm.search.no_filter", lambda: names(S()))
step("rm.search.name_eq", lambda: names(S(f"name = '{RM('a')}'")))
step("rm.search.name_like_mid", lambda: names(S("name LIKE '%-c%'")))
step("rm.search.name_ilike", lambda: names(S(f"name ILIKE '{P.upper()}-A%'")))
step("rm.search.name_like_case", lambda: names(S(f"name LIKE '{P.upper()}-A%'")))
step("rm.search.name_neq", lambda: names(S(f"name != '{RM('a')}'")))
step("rm.search.tag_env_dev", lambda: names(S("tags.env = 'dev'")))
step("rm.search.tag_backtick", lambda: names(S("tags.`env` = 'prod'")))
step("rm.search.tag_like", lambda: names(S("tags.env LIKE 'd%'")))
step("rm.search.tag_and_name", lambda: names(S(f"tags.env = 'dev' and name LIKE '{P}-a%'")))
step("rm.search.tag_neq", lambda: names(S("tags.env != 'dev'")))
step("rm.search.order_name_asc", lambda: names(S(order_by=["name ASC"])))
step("rm.search.order_name_desc", lambda: names(S(order_by=["name DESC"])))
step("rm.search.order_ts_desc", lambda: names(S(order_by=["last_updated_timestamp DESC"])))
step("rm.search.order_ts_asc", lambda: names(S(order_by=["last_updated_timestamp ASC", "name ASC"])))
step("rm.search.order_ts_short", lambda: names(S(order_by=["timestamp DESC"])))
step("rm.search.order_bad", lambda: names(S(order_by=["bogus ASC"])))
step("rm.search.filter_bad_attr", lambda: names(S("bogus = 'x'")))
step("rm.search.filter_bad_syntax", lambda: names(S("name = = 'x'")))
step("rm.search.filter_run_id", lambda: names(S("run_id = 'abc'")))
step("rm.search.paging_2", lambda: pages(lambda t: S(max_results=2, order_by=["name ASC"], page_token=t)))
step("rm.search.paging_1_first", lambda: S(max_results=1, order_by=["name DESC"]))
step("rm.search.max_results_0", lambda: names(S(max_results=0)))
step("rm.search.max_results_huge", lambda: names(S(max_results=100000)))
step("rm.search.bad_token", lambda: names(S(page_token="garbage")))

# ---- a training run with a logged sklearn model
run1_id = None
mi1 = None


def _train_run():
    global run1_id, mi1
    with mlflow.start_run(run_name="train1") as r:
        run1_id = known("RUN1", r.info.run_id)
        mlflow.log_param("C", 1.0)
        mi1 = mlflow.sklearn.log_model(sk, name="model", signature=sig, input_example=XI,
                                       pip_requirements=PIP, params={"alpha": "0.1"},
                                       model_type="classifier")
        known("MODEL1", mi1.model_id)
        mlflow.log_metric("acc", 0.93, model_id=mi1.model_id)
    return mi1


step("run1.log_model", _train_run)
run1 = step("run1.get", lambda: client.get_run(run1_id).info.artifact_uri) if run1_id else None

mv_tags = {"stage_note": "first", "owner": "qa"}
step("mv.create.runs_uri", lambda: mv_short(client.create_model_version(
    RM("a"), f"runs:/{run1_id}/model", run_id=run1_id, tags=mv_tags, description="v1 desc")))
step("mv.create.artifact_path", lambda: mv_short(client.create_model_version(
    RM("a"), f"{run1}/model", run_id=run1_id)))
step("mv.create.models_uri_model_id", lambda: mv_short(client.create_model_version(
    RM("a"), mi1.model_uri, model_id=mi1.model_id)))
step("mv.create.runs_uri_again", lambda: mv_short(client.create_model_version(
    RM("a"), f"runs:/{run1_id}/model", run_id=run1_id, description="v4")))
step("mv.create.e_valid", lambda: mv_short(client.create_model_version(
    RM("e"), f"runs:/{run1_id}/model", run_id=run1_id)))
# source-validation probes go to a throwaway model (deleted below) so version numbers elsewhere stay aligned
step("rm.create.z", lambda: client.create_registered_model(RM("z")).name)
Z = RM("z")
step("mv.create.models_uri_with_run_id", lambda: mv_short(client.create_model_version(Z, mi1.model_uri, run_id=run1_id)))
step("mv.create.runs_uri_no_run_id", lambda: mv_short(client.create_model_version(Z, f"runs:/{run1_id}/model")))
step("mv.create.models_uri_no_ids", lambda: mv_short(client.create_model_version(Z, mi1.model_uri)))
step("mv.create.artifact_path_no_run_id", lambda: mv_short(client.create_model_version(Z, f"{run1}/model")))
step("mv.create.local_path_norun", lambda: mv_short(client.create_model_version(Z, "/tmp/somewhere/model")))
step("mv.create.file_uri_norun", lambda: mv_short(client.create_model_version(Z, "file:///tmp/somewhere/model")))
step("mv.create.s3_uri", lambda: mv_short(client.create_model_version(Z, "s3://bucket/path/model")))
step("mv.create.relative_path", lambda: mv_short(client.create_model_version(Z, "relative/model")))
step("mv.create.dotdot", lambda: mv_short(client.create_model_version(Z, f"runs:/{run1_id}/../../etc")))
step("mv.create.bad_run_id", lambda: mv_short(client.create_model_version(Z, "runs:/deadbeef/model", run_id="deadbeef")))
step("mv.create.z_versions", lambda: [(m.version, m.source) for m in client.search_model_versions(
    f"name = '{Z}'", order_by=["version_number ASC"])])
step("rm.delete.z", lambda: client.delete_registered_model(Z))
step("mv.create.missing_model", lambda: client.create_model_version(RM("nope"), f"runs:/{run1_id}/model", run_id=run1_id))
step("mv.create.missing_model_no_run", lambda: client.create_model_version(RM("nope"), "s3://b/m"))
step("mv.get.full_v1", lambda: client.get_model_version(RM("a"), "1"))
step("mv.get.full_v2", lambda: client.get_model_version(RM("a"), "2"))
step("mv.get.v2_source", lambda: client.get_model_version(RM("a"), "2").source)
step("mv.get.v3_full", lambda: client.get_model_version(RM("a"), "3"))
step("mv.get.v4_model_id", lambda: client.get_model_version(RM("a"), "4").model_id)
step("mv.get.int_version", lambda: mv_short(client.get_model_version(RM("a"), 1)))
step("mv.get.missing_version", lambda: client.get_model_version(RM("a"), "99"))
step("mv.get.bad_version", lambda: client.get_model_version(RM("a"), "abc"))
step("mv.get.missing_model", lambda: client.get_model_version(RM("nope"), "1"))
step("rm.get.a_with_versions", lambda: client.get_registered_model(RM("a")))
step("mv.update.desc", lambda: client.update_model_version(RM("a"), "2", description="v2 desc").description)
step("mv.update.missing", lambda: client.update_model_version(RM("a"), "99", description="x"))
step("mv.tag.set", lambda: client.set_model_version_tag(RM("a"), "2", "k", "v"))
step("mv.tag.set_stage_kw", lambda: client.set_model_version_tag(RM("a"), stage="None", key="sk", value="sv"))
step("mv.tag.get", lambda: client.get_model_version(RM("a"), "2").tags)
step("mv.tag.delete", lambda: client.delete_model_version_tag(RM("a"), "2", "k"))
step("mv.tag.delete_missing_key", lambda: client.delete_model_version_tag(RM("a"), "2", "nokey"))
step("mv.tag.set_missing_version", lambda: client.set_model_version_tag(RM("a"), "99", "k", "v"))
step("mv.tag.get_after_delete", lambda: client.get_model_version(RM("a"), "2").tags)

GL = client.get_latest_versions
step("mv.latest.nostage", lambda: [mv_short(m) for m in GL(RM("a"))])
step("mv.latest.none_stage", lambda: [mv_short(m) for m in GL(RM("a"), stages=["None"])])
step("mv.latest.prod_empty", lambda: [mv_short(m) for m in GL(RM("a"), stages=["Production"])])
step("mv.latest.bad_stage", lambda: GL(RM("a"), stages=["Bogus"]))
step("mv.latest.missing_model", lambda: GL(RM("nope")))
step("mv.latest.no_versions", lambda: GL(RM("b")))
T = client.transition_model_version_stage
step("mv.stage.v1_staging", lambda: mv_short(T(RM("a"), "1", "Staging")))
step("mv.stage.v2_prod", lambda: mv_short(T(RM("a"), "2", "Production")))
step("mv.stage.v3_prod_archive", lambda: mv_short(T(RM("a"), "3", "Production", archive_existing_versions=True)))
step("mv.stage.v2_after_archive", lambda: mv_short(client.get_model_version(RM("a"), "2")))
step("mv.stage.lowercase", lambda: mv_short(T(RM("a"), "4", "staging")))
step("mv.stage.bad", lambda: T(RM("a"), "4", "Bogus"))
step("mv.stage.archive_to_staging", lambda: T(RM("a"), "4", "None", archive_existing_versions=True))
step("mv.stage.missing_version", lambda: T(RM("a"), "99", "Staging"))
step("mv.latest.after_stages", lambda: sorted([mv_short(m)["version"] + ":" + mv_short(m)["stage"] for m in GL(RM("a"))]))
step("mv.latest.staging_prod", lambda: sorted([m.version for m in GL(RM("a"), stages=["Staging", "Production"])]))
step("mv.latest.case_insensitive", lambda: sorted([m.version for m in GL(RM("a"), stages=["production"])]))
step("rm.get.a_latest_versions", lambda: [mv_short(m) for m in client.get_registered_model(RM("a")).latest_versions])

step("alias.set.champion", lambda: client.set_registered_model_alias(RM("a"), "champion", "1"))
step("alias.set.challenger", lambda: client.set_registered_model_alias(RM("a"), "challenger", 2))
step("alias.set.move_champion", lambda: client.set_registered_model_alias(RM("a"), "champion", "3"))
step("alias.get.champion", lambda: mv_short(client.get_model_version_by_alias(RM("a"), "champion")))
step("alias.get.challenger", lambda: client.get_model_version_by_alias(RM("a"), "challenger").version)
step("alias.get.missing_alias", lambda: client.get_model_version_by_alias(RM("a"), "nobody"))
step("alias.get.missing_model", lambda: client.get_model_version_by_alias(RM("nope"), "champion"))
step("alias.set.missing_version", lambda: client.set_registered_model_alias(RM("a"), "x", "99"))
step("alias.set.missing_model", lambda: client.set_registered_model_alias(RM("nope"), "x", "1"))
step("alias.set.reserved_latest", lambda: client.set_registered_model_alias(RM("a"), "latest", "1"))
step("alias.set.reserved_v1", lambda: client.set_registered_model_alias(RM("a"), "v1", "1"))
step("alias.set.bad_chars", lambda: client.set_registered_model_alias(RM("a"), "bad alias!", "1"))
step("alias.set.uppercase", lambda: client.set_registered_model_alias(RM("a"), "UpperCase", "1"))
step("alias.get.uppercase_lower", lambda: client.get_model_version_by_alias(RM("a"), "uppercase").version)
step("alias.rm_aliases", lambda: client.get_registered_model(RM("a")).aliases)
step("alias.mv_aliases_v3", lambda: sorted(client.get_model_version(RM("a"), "3").aliases))
step("alias.delete.challenger", lambda: client.delete_registered_model_alias(RM("a"), "challenger"))
step("alias.delete.again", lambda: client.delete_registered_model_alias(RM("a"), "challenger"))
step("alias.get.deleted", lambda: client.get_model_version_by_alias(RM("a"), "challenger"))
step("alias.rm_aliases_after", lambda: client.get_registered_model(RM("a")).aliases)

SV = client.search_model_versions
vkey = lambda m: f"{m.name}/{m.version}"  # noqa
step("mv.search.name", lambda: [vkey(m) for m in SV(f"name = '{RM('a')}'")])
step("mv.search.name_full", lambda: SV(f"name = '{RM('a')}'", order_by=["version_number ASC"]))
step("mv.search.name_like", lambda: [vkey(m) for m in SV(f"name LIKE '{P}-%'")])
step("mv.search.name_ilike", lambda: [vkey(m) for m in SV(f"name ILIKE '{P.upper()}-%'")])
step("mv.search.run_id", lambda: [vkey(m) for m in SV(f"run_id = '{run1_id}'")])
step("mv.search.run_id_in", lambda: [vkey(m) for m in SV(f"run_id IN ('{run1_id}', 'abc')")])
step("mv.search.tag", lambda: [vkey(m) for m in SV("tags.owner = 'qa'")])
step("mv.search.tag_like", lambda: [vkey(m) for m in SV("tags.owner LIKE 'q%'")])
step("mv.search.version_number", lambda: [vkey(m) for m in SV(f"name = '{RM('a')}' and version_number = 2")])
step("mv.search.version_number_gt", lambda: [vkey(m) for m in SV(f"name = '{RM('a')}' and version_number > 2")])
step("mv.search.source_path", lambda: [vkey(m) for m in SV(f"source_path = 'runs:/{run1_id}/model'")])
step("mv.search.source_path_like", lambda: [vkey(m) for m in SV("source_path LIKE 'models:/%'")])
step("mv.search.order_version_desc", lambda: [vkey(m) for m in SV(f"name = '{RM('a')}'", order_by=["version_number DESC"])])
step("mv.search.order_creation", lambda: [vkey(m) for m in SV(f"name = '{RM('a')}'", order_by=["creation_timestamp DESC"])])
step("mv.search.order_name_version", lambda: [vkey(m) for m in SV(order_by=["name ASC", "version_number ASC"])])
step("mv.search.paging_1", lambda: pages(lambda t: SV(f"name = '{RM('a')}'", max_results=1,
                                                      order_by=["version_number ASC"], page_token=t), vkey))
step("mv.search.paging_3", lambda: pages(lambda t: SV(max_results=3, order_by=["name ASC", "version_number ASC"],
                                                      page_token=t), vkey))
step("mv.search.bad_filter", lambda: SV("bogus = 1"))
step("mv.search.bad_order", lambda: SV(order_by=["bogus DESC"]))
step("mv.search.bad_version_number", lambda: SV("version_number = 'abc'"))
step("mv.search.default_order", lambda: [vkey(m) for m in SV()])
step("mv.download_uri.v1", lambda: client.get_model_version_download_uri(RM("a"), "1"))
step("mv.download_uri.v2", lambda: client.get_model_version_download_uri(RM("a"), "2"))
step("mv.download_uri.v3", lambda: client.get_model_version_download_uri(RM("a"), "3"))
step("mv.download_uri.missing", lambda: client.get_model_version_download_uri(RM("a"), "99"))
step("mv.copy.to_b", lambda: mv_short(client.copy_model_version(f"models:/{RM('a')}/1", RM("b"))))
step("mv.copy.to_new", lambda: mv_short(client.copy_model_version(f"models:/{RM('a')}@champion", RM("copied"))))
step("mv.copy.get_source", lambda: client.get_model_version(RM("copied"), "1").source)
step("mv.copy.missing_src", lambda: client.copy_model_version(f"models:/{RM('a')}/99", RM("b")))
step("mv.delete.v4", lambda: client.delete_model_version(RM("a"), "4"))
step("mv.delete.v4_get", lambda: client.get_model_version(RM("a"), "4"))
step("mv.delete.v4_again", lambda: client.delete_model_version(RM("a"), "4"))
step("mv.create.after_delete_numbering", lambda: mv_short(client.create_model_version(
    RM("a"), f"runs:/{run1_id}/model", run_id=run1_id)))
step("mv.search.after_delete", lambda: [vkey(m) for m in SV(f"name = '{RM('a')}'", order_by=["version_number ASC"])])
step("alias.on_deleted_version", lambda: client.set_registered_model_alias(RM("a"), "gone", "4"))
step("rm.rename.with_versions", lambda: client.rename_registered_model(RM("copied"), RM("copied2")))
step("rm.rename.versions_follow", lambda: mv_short(client.get_model_version(RM("copied2"), "1")))
step("rm.rename.old_versions_gone", lambda: [vkey(m) for m in SV(f"name = '{RM('copied')}'")])
step("rm.rename.alias_follow_set", lambda: client.set_registered_model_alias(RM("copied2"), "keep", "1"))
step("rm.rename.again_alias_survives", lambda: (client.rename_registered_model(RM("copied2"), RM("copied3")),
                                                client.get_registered_model(RM("copied3")).aliases)[1])
step("rm.rename.alias_lookup", lambda: client.get_model_version_by_alias(RM("copied3"), "keep").version)
step("alias.delete.missing_model", lambda: client.delete_registered_model_alias(RM("nope"), "keep"))
step("fluent.search_registered_models", lambda: names(mlflow.search_registered_models(
    filter_string=f"name LIKE '{P}-c%'", order_by=["name ASC"])))
step("fluent.search_model_versions", lambda: [vkey(m) for m in mlflow.search_model_versions(
    filter_string=f"name = '{RM('a')}'", order_by=["version_number DESC"], max_results=2)])
step("rm.delete.e_with_versions", lambda: client.delete_registered_model(RM("e")))
step("mv.search.e_after_delete", lambda: [vkey(m) for m in SV(f"name = '{RM('e')}'")])
step("rm.search.after_all", lambda: names(S(f"name LIKE '{P}-%'", order_by=["name ASC"])))

# ================================================================= 2. register_model & loading
REG = RM("reg")
step("register.runs_uri", lambda: mv_short(mlflow.register_model(f"runs:/{run1_id}/model", REG, tags={"via": "runs"})))
step("register.models_uri", lambda: mv_short(mlflow.register_model(mi1.model_uri, REG)))
step("register.v2_model_id", lambda: client.get_model_version(REG, "2").model_id)
step("register.v1_source", lambda: client.get_model_version(REG, "1").source)
step("register.v1_run_id", lambda: client.get_model_version(REG, "1").run_id)
step("register.bad_run", lambda: mlflow.register_model("runs:/00000000000000000000000000000000/model", REG))
step("register.bad_model_id", lambda: mlflow.register_model("models:/m-00000000000000000000000000000000", REG))
step("register.alias", lambda: client.set_registered_model_alias(REG, "prod", "1"))
step("register.logged_model_registrations", lambda: client.get_logged_model(mi1.model_id).tags.get("mlflow.modelVersions"))


def _load_predict(uri):
    m = mlflow.pyfunc.load_model(uri)
    return {"pred": list(map(int, m.predict(XI))), "model_id": m.model_id if hasattr(m, "model_id") else None,
            "flavor": m.metadata.flavors.get("python_function", {}).get("loader_module")}


step("load.models_v1", lambda: _load_predict(f"models:/{REG}/1"))
step("load.models_v2", lambda: _load_predict(f"models:/{REG}/2"))
step("load.models_alias", lambda: _load_predict(f"models:/{REG}@prod"))
step("load.models_latest", lambda: _load_predict(f"models:/{REG}/latest"))
step("load.models_stage_none", lambda: _load_predict(f"models:/{REG}/None"))
step("load.models_a_production", lambda: _load_predict(f"models:/{RM('a')}/Production"))
step("load.models_a_champion", lambda: _load_predict(f"models:/{RM('a')}@champion"))
step("load.models_missing_version", lambda: _load_predict(f"models:/{REG}/42"))
step("load.models_missing_alias", lambda: _load_predict(f"models:/{REG}@nobody"))
step("load.models_missing_name", lambda: _load_predict(f"models:/{RM('nope')}/1"))


def _log_and_register():
    with mlflow.start_run(run_name="train-reg") as r:
        known("RUN2", r.info.run_id)
        mi = mlflow.sklearn.log_model(sk, name="m2", registered_model_name=REG, pip_requirements=PIP)
        known("MODEL2", mi.model_id)
        return {"registered_model_version": mi.registered_model_version, "model_uri": mi.model_uri,
                "artifact_path": mi.artifact_path, "name": mi.name, "flavors": sorted(mi.flavors)}


step("register.via_log_model", _log_and_register)
step("register.search_reg", lambda: [mv_short(m) for m in SV(f"name = '{REG}'", order_by=["version_number ASC"])])
step("load.models_latest_after3", lambda: _load_predict(f"models:/{REG}/latest"))
step("load.download_artifacts_models", lambda: sorted(os.listdir(mlflow.artifacts.download_artifacts(
    f"models:/{REG}/1", dst_path=tempfile.mkdtemp()))))

# ================================================================= 3. LOGGED MODELS
lm = {}


def _lm_train():
    with mlflow.start_run(run_name="lm-run") as r:
        known("RUN3", r.info.run_id)
        lm["run"] = r.info.run_id
        ds = mlflow.data.from_pandas(X.assign(target=y), name="iris_ds", targets="target")
        mlflow.log_input(ds, context="training")
        lm["digest"] = ds.digest
        mi = mlflow.sklearn.log_model(sk, name="lm1", params={"alpha": "0.5", "solver": "lbfgs"},
                                      model_type="clf", input_example=XI, signature=sig,
                                      pip_requirements=PIP, tags={"t1": "a"})
        lm["id1"] = known("LM1", mi.model_id)
        mlflow.log_metric("acc", 0.91, model_id=mi.model_id, dataset=ds, step=1)
        mlflow.log_metric("loss", 0.2, model_id=mi.model_id)
        mi2 = mlflow.sklearn.log_model(sk, name="lm2", params={"alpha": "0.9"}, pip_requirements=PIP)
        lm["id2"] = known("LM2", mi2.model_id)
        mlflow.log_metric("acc", 0.5, model_id=mi2.model_id)
        lm["last"] = mlflow.last_logged_model()
        return {"model_uri": mi.model_uri, "sig": str(mi.signature), "input_example": mi.saved_input_example_info}


step("lm.log_model", _lm_train)
step("lm.last_logged_model_is_lm2", lambda: lm["last"].model_id == lm["id2"])
step("lm.get.lm1", lambda: client.get_logged_model(lm["id1"]))
step("lm.get.lm2", lambda: client.get_logged_model(lm["id2"]))
step("lm.get.metrics_lm1", lambda: sorted([(m.key, m.value, m.step, m.dataset_name, m.dataset_digest is not None,
                                            m.run_id == lm["run"]) for m in client.get_logged_model(lm["id1"]).metrics]))
step("lm.get.missing", lambda: client.get_logged_model("m-00000000000000000000000000000000"))
step("lm.get.garbage_id", lambda: client.get_logged_model("not-an-id"))
step("lm.run_outputs", lambda: sorted(norm(o.model_id) for o in client.get_run(lm["run"]).outputs.model_outputs))  # tie order varies
step("lm.run_inputs_models", lambda: client.get_run(lm["run"]).inputs.model_inputs)
step("lm.init", lambda: known("EXT1", mlflow.initialize_logged_model(name="ext1", tags={"k": "v"}, params={"p": "1"},
                                                                      model_type="agent").model_id))
ext1 = RESULTS[-1].get("ok") and [k for k, v in KNOWN.items() if v == "EXT1"][0]
step("lm.get.ext1_pending", lambda: client.get_logged_model(ext1))
step("lm.finalize.ready", lambda: mlflow.finalize_logged_model(ext1, "READY").status)
step("lm.finalize.again_failed", lambda: mlflow.finalize_logged_model(ext1, "FAILED").status)
step("lm.finalize.missing", lambda: mlflow.finalize_logged_model("m-00000000000000000000000000000000", "READY"))
step("lm.finalize.bad_status", lambda: mlflow.finalize_logged_model(ext1, "BOGUS"))
step("lm.create_external", lambda: known("EXT2", mlflow.create_external_model(name="ext2", params={"x": "y"}).model_id))
ext2 = [k for k, v in KNOWN.items() if v == "EXT2"]
ext2 = ext2[0] if ext2 else None
step("lm.get.ext2", lambda: client.get_logged_model(ext2))
def _noname():
    m = mlflow.initialize_logged_model()  # server/client picks a random name
    ok = bool(m.name) and m.status.name == "PENDING"
    client.delete_logged_model(m.model_id)  # random names would make name-ordered searches nondeterministic
    return ok


step("lm.init_noname", _noname)
step("lm.set_tags", lambda: mlflow.set_logged_model_tags(lm["id1"], {"t2": "b", "t3": "c", "num": 3}))
step("lm.delete_tag", lambda: mlflow.delete_logged_model_tag(lm["id1"], "t3"))
step("lm.delete_tag_missing", lambda: mlflow.delete_logged_model_tag(lm["id1"], "zz"))
step("lm.set_tags_missing_model", lambda: mlflow.set_logged_model_tags("m-00000000000000000000000000000000", {"a": "b"}))
step("lm.tags_after", lambda: {k: v for k, v in client.get_logged_model(lm["id1"]).tags.items()
                               if not k.startswith("mlflow.")})
step("lm.system_tag_keys", lambda: sorted(k for k in client.get_logged_model(lm["id1"]).tags if k.startswith("mlflow.")))
step("lm.log_params", lambda: mlflow.log_model_params({"extra": "1", "alpha2": "3"}, model_id=lm["id2"]))
step("lm.params_after", lambda: client.get_logged_model(lm["id2"]).params)
step("lm.log_params_overwrite", lambda: mlflow.log_model_params({"alpha": "0.99"}, model_id=lm["id2"]))
step("lm.params_after_overwrite", lambda: client.get_logged_model(lm["id2"]).params)
def _active_model_metric():
    with mlflow.start_run(run_name="am-run"):
        mlflow.set_active_model(model_id=lm["id2"])
        got = mlflow.get_active_model_id() == lm["id2"]
        mlflow.log_metric("f1", 0.7)  # picks up the active model
        mlflow.clear_active_model()
    return got


step("lm.log_metric_active_model", _active_model_metric)
step("lm.metrics_lm2", lambda: sorted((m.key, m.value) for m in client.get_logged_model(lm["id2"]).metrics))

SL = client.search_logged_models
E = [exp_id] if exp_id else []
lmn = lambda pl: sorted(m.name for m in pl)  # noqa
step("lm.search.all", lambda: lmn(SL(E)))
step("lm.search.all_full_first", lambda: [m for m in SL(E, filter_string="name = 'lm1'")])
step("lm.search.name_eq", lambda: lmn(SL(E, filter_string="name = 'lm1'")))
step("lm.search.name_like", lambda: lmn(SL(E, filter_string="name LIKE 'lm%'")))
step("lm.search.name_ilike", lambda: lmn(SL(E, filter_string="name ILIKE 'LM%'")))
step("lm.search.name_neq", lambda: lmn(SL(E, filter_string="name != 'lm1'")))
step("lm.search.param", lambda: lmn(SL(E, filter_string="params.alpha = '0.5'")))
step("lm.search.param_backtick", lambda: lmn(SL(E, filter_string="params.`solver` = 'lbfgs'")))
step("lm.search.metric_gt", lambda: lmn(SL(E, filter_string="metrics.acc > 0.6")))
step("lm.search.metric_le", lambda: lmn(SL(E, filter_string="metrics.acc <= 0.6")))
step("lm.search.metric_and_param", lambda: lmn(SL(E, filter_string="metrics.acc > 0.1 AND params.alpha = '0.9'")))
step("lm.search.tag", lambda: lmn(SL(E, filter_string="tags.t2 = 'b'")))
step("lm.search.tag_system", lambda: lmn(SL(E, filter_string="tags.`mlflow.source.name` LIKE '%'")))
step("lm.search.status", lambda: lmn(SL(E, filter_string="status = 'READY'")))
step("lm.search.status_failed", lambda: lmn(SL(E, filter_string="status = 'FAILED'")))
step("lm.search.model_type", lambda: lmn(SL(E, filter_string="model_type = 'clf'")))
step("lm.search.source_run_id", lambda: lmn(SL(E, filter_string=f"source_run_id = '{lm.get('run')}'")))
step("lm.search.model_id", lambda: lmn(SL(E, filter_string=f"model_id = '{lm.get('id1')}'")))
step("lm.search.creation_time", lambda: lmn(SL(E, filter_string="creation_time > 0")))
step("lm.search.order_name_asc", lambda: [m.name for m in SL(E, order_by=[{"field_name": "name", "ascending": True}])])
step("lm.search.order_name_desc", lambda: [m.name for m in SL(E, order_by=[{"field_name": "name", "ascending": False}])])
step("lm.search.order_metric", lambda: [m.name for m in SL(E, filter_string="metrics.acc > 0",
                                                           order_by=[{"field_name": "metrics.acc", "ascending": False}])])
step("lm.search.order_metric_asc", lambda: [m.name for m in SL(E, filter_string="name LIKE 'lm%'",
                                                               order_by=[{"field_name": "metrics.acc", "ascending": True}])])
step("lm.search.order_default", lambda: [m.name for m in SL(E)])
step("lm.search.order_creation_asc", lambda: [m.name for m in SL(E, order_by=[{"field_name": "creation_time", "ascending": True}])])
step("lm.search.order_bad", lambda: [m.name for m in SL(E, order_by=[{"field_name": "bogus", "ascending": True}])])
step("lm.search.datasets", lambda: lmn(SL(E, filter_string="metrics.acc > 0", datasets=[{"dataset_name": "iris_ds"}])))
step("lm.search.datasets_nomatch", lambda: lmn(SL(E, filter_string="metrics.acc > 0", datasets=[{"dataset_name": "zzz"}])))
step("lm.search.datasets_nofilter", lambda: lmn(SL(E, datasets=[{"dataset_name": "iris_ds"}])))
step("lm.search.datasets_digest", lambda: lmn(SL(E, filter_string="metrics.acc > 0", datasets=[
    {"dataset_name": "iris_ds", "dataset_digest": lm["digest"]}])))
step("lm.search.datasets_digest_nofilter", lambda: lmn(SL(E, datasets=[
    {"dataset_name": "iris_ds", "dataset_digest": lm["digest"]}])))
step("lm.search.datasets_order_metric", lambda: [m.name for m in SL(E, datasets=[
    {"dataset_name": "iris_ds", "dataset_digest": lm["digest"]}],
    order_by=[{"field_name": "metrics.acc", "ascending": False, "dataset_name": "iris_ds",
               "dataset_digest": lm["digest"]}])])
step("lm.search.metric_eq", lambda: lmn(SL(E, filter_string="metrics.loss = 0.2")))
step("lm.search.metric_backtick", lambda: lmn(SL(E, filter_string="metrics.`acc` > 0.6")))
step("lm.search.paging_2", lambda: pages(lambda t: SL(E, max_results=2, order_by=[{"field_name": "name", "ascending": True}],
                                                      page_token=t)))
step("lm.search.bad_filter", lambda: SL(E, filter_string="bogus = 'x'"))
step("lm.search.bad_syntax", lambda: SL(E, filter_string="name = "))
step("lm.search.other_experiment", lambda: lmn(SL(["0"])))
step("lm.search.missing_experiment", lambda: lmn(SL(["999999"])))
step("lm.search.fluent_list", lambda: sorted(m.name for m in mlflow.search_logged_models(
    experiment_ids=E, filter_string="name LIKE 'lm%'", output_format="list")))
step("lm.search.fluent_df", lambda: sorted(mlflow.search_logged_models(experiment_ids=E).columns.tolist()))
step("lm.list_artifacts", lambda: sorted(f.path for f in client.list_logged_model_artifacts(lm["id1"])))
step("lm.load.models_id", lambda: _load_predict(f"models:/{lm['id1']}"))
step("lm.load.runs_name", lambda: _load_predict(f"runs:/{lm['run']}/lm1"))
step("lm.load.runs_name_lm2", lambda: _load_predict(f"runs:/{lm['run']}/lm2"))
step("lm.load.sklearn_models_id", lambda: list(map(int, mlflow.sklearn.load_model(f"models:/{lm['id2']}").predict(XI))))
step("lm.load.missing", lambda: _load_predict("models:/m-00000000000000000000000000000000"))
step("lm.delete", lambda: client.delete_logged_model(lm["id2"]))
step("lm.get.deleted", lambda: client.get_logged_model(lm["id2"]).name)
step("lm.search.after_delete", lambda: lmn(SL(E)))
step("lm.delete.again", lambda: client.delete_logged_model(lm["id2"]))
step("lm.delete.missing", lambda: client.delete_logged_model("m-00000000000000000000000000000000"))

# ================================================================= 4. PROMPTS
G = mlflow.genai
PN = f"{P}_prompt"
PC = f"{P}_chat"
step("prompt.register.text_v1", lambda: G.register_prompt(PN, "Hello {{name}}, you are {{ age }}.",
                                                          commit_message="first", tags={"team": "nlp"}))
step("prompt.register.text_v2", lambda: G.register_prompt(
    PN, "Hi {{name}}!", commit_message="second", tags={"v2tag": "x"},
    response_format={"type": "object", "properties": {"answer": {"type": "string"}}},
    model_config={"model_name": "gpt-x", "temperature": 0.2, "max_tokens": 50}))
step("prompt.register.chat", lambda: G.register_prompt(
    PC, [{"role": "system", "content": "You are {{style}}."}, {"role": "user", "content": "{{question}}"}],
    commit_message="chat v1"))
step("prompt.register.bad_name", lambda: G.register_prompt("bad name!", "x"))
step("prompt.register.empty_template", lambda: G.register_prompt(f"{P}_empty", ""))
L = lambda *a, **k: G.load_prompt(*a, cache_ttl_seconds=0, **k)  # noqa
step("prompt.load.name_only", lambda: L(PN))
step("prompt.load.version1", lambda: L(PN, version=1))
step("prompt.load.uri_v1", lambda: L(f"prompts:/{PN}/1"))
step("prompt.load.uri_v2", lambda: L(f"prompts:/{PN}/2"))
step("prompt.load.uri_latest", lambda: L(f"prompts:/{PN}@latest").version)
step("prompt.load.chat", lambda: L(f"prompts:/{PC}/1"))
step("prompt.load.uri_no_version", lambda: L(f"prompts:/{PN}").version)
step("prompt.load.name_version_str", lambda: L(PN, version="2").template)
step("prompt.load.uri_and_version", lambda: L(f"prompts:/{PN}/1", version=2))
step("prompt.load.missing_version", lambda: L(f"prompts:/{PN}/9"))
step("prompt.load.missing_name", lambda: L(f"prompts:/{P}_nope/1"))
step("prompt.load.allow_missing", lambda: L(f"prompts:/{P}_nope/1", allow_missing=True))
step("prompt.alias.set", lambda: G.set_prompt_alias(PN, "production", 1))
step("prompt.alias.set2", lambda: G.set_prompt_alias(PN, "staging", 2))
step("prompt.load.alias", lambda: L(f"prompts:/{PN}@production").version)
step("prompt.load.alias_obj_aliases", lambda: sorted(L(f"prompts:/{PN}/1").aliases))
step("prompt.alias.move", lambda: G.set_prompt_alias(PN, "production", 2))
step("prompt.load.alias_moved", lambda: L(f"prompts:/{PN}@production").version)
step("prompt.alias.delete", lambda: G.delete_prompt_alias(PN, "staging"))
step("prompt.load.alias_deleted", lambda: L(f"prompts:/{PN}@staging"))
step("prompt.alias.missing_version", lambda: G.set_prompt_alias(PN, "x", 9))
step("prompt.alias.client_get", lambda: client.get_prompt_version_by_alias(PN, "production").version)
step("prompt.format.text_v1", lambda: L(PN, version=1).format(name="Ann", age=3))
step("prompt.format.partial", lambda: L(PN, version=1).format(allow_partial=True, name="Ann"))
step("prompt.format.missing_var", lambda: L(PN, version=1).format(name="Ann"))
step("prompt.format.chat", lambda: L(PC, version=1).format(style="terse", question="why?"))
step("prompt.variables", lambda: sorted(L(PN, version=1).variables))
step("prompt.single_brace", lambda: L(PN, version=1).to_single_brace_format())
step("prompt.v2.response_format", lambda: L(PN, version=2).response_format)
step("prompt.v2.model_config", lambda: L(PN, version=2).model_config)
step("prompt.model_config.set", lambda: G.set_prompt_model_config(PN, 1, {"model_name": "m1", "top_p": 0.5}))
step("prompt.model_config.get_v1", lambda: L(PN, version=1).model_config)
step("prompt.model_config.delete", lambda: G.delete_prompt_model_config(PN, 1))
step("prompt.model_config.after_delete", lambda: L(PN, version=1).model_config)
step("prompt.vtag.set", lambda: G.set_prompt_version_tag(PN, 1, "quality", "good"))
step("prompt.vtag.get", lambda: L(PN, version=1).tags)
step("prompt.vtag.delete", lambda: G.delete_prompt_version_tag(PN, 1, "quality"))
step("prompt.vtag.after_delete", lambda: L(PN, version=1).tags)
step("prompt.vtag.delete_missing", lambda: G.delete_prompt_version_tag(PN, 1, "nokey"))
step("prompt.tag.set", lambda: G.set_prompt_tag(PN, "owner", "me"))
step("prompt.tag.get", lambda: G.get_prompt_tags(PN))
step("prompt.tag.delete", lambda: G.delete_prompt_tag(PN, "owner"))
step("prompt.tag.after_delete", lambda: G.get_prompt_tags(PN))
step("prompt.client.get_prompt", lambda: client.get_prompt(PN))
step("prompt.client.get_prompt_missing", lambda: client.get_prompt(f"{P}_nope"))
step("prompt.client.get_version", lambda: client.get_prompt_version(PN, 2))
step("prompt.client.search_versions", lambda: [v.version for v in client.search_prompt_versions(PN)])
step("prompt.search.all", lambda: sorted(p.name for p in G.search_prompts()))
step("prompt.search.full", lambda: G.search_prompts(f"name = '{PN}'"))
step("prompt.search.like", lambda: sorted(p.name for p in G.search_prompts(f"name LIKE '{P}_c%'")))
step("prompt.search.tag", lambda: sorted(p.name for p in G.search_prompts("tags.team = 'nlp'")))
step("prompt.search.paging", lambda: pages(lambda t: client.search_prompts(max_results=1, page_token=t)))
step("prompt.search.bad_filter", lambda: G.search_prompts("bogus = 'x'"))
step("prompt.hidden.search_rm", lambda: sorted(n for n in names(S()) if "prompt" in n or "chat" in n))
step("prompt.hidden.search_mv", lambda: sorted(m.name for m in SV() if "prompt" in m.name or "chat" in m.name))
step("prompt.hidden.get_rm", lambda: client.get_registered_model(PN).name)
step("prompt.hidden.load_as_model", lambda: _load_predict(f"models:/{PN}/1"))
step("prompt.rm_name_conflict", lambda: client.create_registered_model(PN))
step("prompt.conflict_with_model", lambda: G.register_prompt(RM("b"), "x"))


def _link_run():
    with mlflow.start_run(run_name="prompt-run") as r:
        known("RUN4", r.info.run_id)
        client.link_prompt_version_to_run(r.info.run_id, f"prompts:/{PN}/1")
        return r.info.run_id


prun = step("prompt.link_to_run", _link_run)
step("prompt.linked_run_tags", lambda: client.get_run(prun).data.tags.get("mlflow.linkedPrompts"))
step("prompt.list_logged_prompts", lambda: [(p.name, p.version) for p in client.list_logged_prompts(prun)])
step("prompt.link_to_model", lambda: client.link_prompt_version_to_model(PN, "1", lm["id1"]))
step("prompt.linked_model_tags", lambda: client.get_logged_model(lm["id1"]).tags.get("mlflow.linkedPrompts"))
step("prompt.delete_version.v1", lambda: client.delete_prompt_version(PN, "1"))
step("prompt.load.deleted_v1", lambda: L(PN, version=1))
step("prompt.search_versions_after", lambda: [v.version for v in client.search_prompt_versions(PN)])
step("prompt.register.v3_numbering", lambda: G.register_prompt(PN, "Third {{x}}").version)
step("prompt.delete_prompt_with_versions", lambda: client.delete_prompt(PC))
step("prompt.search.after_delete", lambda: sorted(p.name for p in G.search_prompts()))
step("prompt.delete_prompt_missing", lambda: client.delete_prompt(f"{P}_nope"))

# ---------------------------------------------------------------- output
with open(OUT, "w") as f:
    for r in RESULTS:
        f.write(json.dumps(r, sort_keys=True, default=str) + "\n")
print(f"{len(RESULTS)} steps written to {OUT}")
