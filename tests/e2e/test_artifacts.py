"""Artifacts through the mlflow client and the mlflow-artifacts proxy:
every logging helper, listing, download with checksums, hostile paths,
cut-off uploads and garbage collection."""

import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests

from conftest import almanac_bin


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def walk(root):
    root = Path(root)
    return {str(p.relative_to(root)): sha256(p) for p in root.rglob("*") if p.is_file()}


# (A "#" cannot appear: the mlflow client puts names into URLs unescaped, so "#" starts a fragment.)
ODD_NAMES = ["with space.txt", "ünïcödé.txt", "100% sure.txt", "plus+sign.txt", "semi;colon.txt", "quote's.txt"]


def test_log_and_download_every_kind(client, experiment, tmp_path):
    src = tmp_path / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    (src / "empty.txt").write_bytes(b"")
    (src / "nested" / "deeper" / "data.bin").write_bytes(os.urandom(4096))
    for name in ODD_NAMES:
        (src / "nested" / name).write_text(name)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), artifact_path="tree")
        mlflow.log_artifact(str(src / "empty.txt"))
        mlflow.log_text("hello text", "notes/hello.txt")
        mlflow.log_dict({"lr": 0.1, "layers": [1, 2]}, "config/params.json")
        mlflow.log_image(np.full((8, 8, 3), 200, dtype=np.uint8), "images/square.png")
        fig = plt.figure()
        plt.plot([1, 3, 2])
        mlflow.log_figure(fig, "figures/curve.png")
        mlflow.log_table({"x": [1, 2], "y": ["a", "b"]}, "tables/t.json")
    run_id = run.info.run_id

    top = {f.path: f.is_dir for f in client.list_artifacts(run_id)}
    assert top == {
        "config": True, "empty.txt": False, "figures": True, "images": True,
        "notes": True, "tables": True, "tree": True,
    }
    nested = {f.path: f.file_size for f in client.list_artifacts(run_id, "tree/nested")}
    assert nested["tree/nested/deeper"] is None
    for name in ODD_NAMES:
        assert nested[f"tree/nested/{name}"] == len(name.encode())

    out = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="tree", dst_path=str(tmp_path / "out"))
    assert walk(out) == walk(src)
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello text"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config/params.json") == {"lr": 0.1, "layers": [1, 2]}
    image = mlflow.artifacts.load_image(f"runs:/{run_id}/images/square.png")
    assert image.size == (8, 8)
    table = json.loads(Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/tables/t.json")).read_text())
    assert table["columns"] == ["x", "y"]


def test_large_file_round_trip(client, experiment, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        block = os.urandom(1 << 20)
        for i in range(110):
            f.write(block[i:] + block[:i])
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), "blobs")
    [info] = client.list_artifacts(run.info.run_id, "blobs")
    assert info.file_size == big.stat().st_size
    got = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="blobs/big.bin", dst_path=str(tmp_path / "d"))
    assert sha256(got) == sha256(big)


def proxy(server, path=""):
    return f"{server.uri}/api/2.0/mlflow-artifacts/artifacts{path}"


def raw_request(server, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(request)
        chunks = []
        try:
            while data := s.recv(65536):
                chunks.append(data)
        except socket.timeout:
            pass
    return b"".join(chunks)


@pytest.mark.parametrize(
    "path",
    ["/../escape.txt", "/a/../../escape.txt", "/%2e%2e/escape.txt", "/a/%2E%2E/%2e%2e/escape.txt", "/..%2fescape.txt",
     "/%252e%252e/escape.txt", "/a/..%5c..%5cescape.txt", "/C:/escape.txt", "/%2fetc/escape.txt"],
)
def test_traversal_is_refused_and_writes_nothing(server, path):
    before = sorted(p for p in server.store.rglob("*"))
    response = raw_request(
        server,
        f"PUT /api/2.0/mlflow-artifacts/artifacts{path} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nevil".encode(),
    )
    status = int(response.split(b" ", 2)[1])
    assert 400 <= status < 500, response[:200]
    if status == 400:
        assert json.loads(response.split(b"\r\n\r\n", 1)[1])["error_code"] == "INVALID_PARAMETER_VALUE"
    assert not (server.store.parent / "escape.txt").exists()
    assert not Path("/escape.txt").exists()
    after = sorted(p for p in server.store.rglob("*") if "tmp" not in p.parts)
    assert [p for p in after if p not in before and p.name == "escape.txt"] == []


def test_multipart_upload_request_falls_back_to_one_put(server, client, experiment, tmp_path, monkeypatch):
    """Asked for a multipart upload, the client hears "not supported" in
    MLflow's words and sends the file in one PUT, as against MLflow's server."""
    answer = requests.post(f"{server.uri}/api/2.0/mlflow-artifacts/mpu/create/x/y.bin", json={"path": "y.bin"})
    assert answer.status_code == 501
    assert answer.json()["error_code"] == "NOT_IMPLEMENTED"
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1024")
    big = tmp_path / "parts.bin"
    big.write_bytes(os.urandom(300_000))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big))
    got = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="parts.bin", dst_path=str(tmp_path / "d"))
    assert sha256(got) == sha256(big)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


class PeakRss:
    """Samples a process's resident memory every 10 ms while in the block."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def __enter__(self):
        def sample():
            while not self.done.is_set():
                self.peak = max(self.peak, rss_mb(self.pid))
                time.sleep(0.01)

        self.thread = threading.Thread(target=sample)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def test_two_gib_stream_both_ways_in_bounded_memory(fresh_server):
    """Neither direction holds the file: 2 GiB up and down keep the server
    under 100 MB resident, and the bytes come back intact."""
    size, block = 2 << 30, os.urandom(1 << 20)
    sent = hashlib.sha256()
    with PeakRss(fresh_server.proc.pid) as up:
        conn = http.client.HTTPConnection("127.0.0.1", fresh_server.port, timeout=120)
        conn.putrequest("PUT", "/api/2.0/mlflow-artifacts/artifacts/stream/two-gib.bin")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        for i in range(size >> 20):
            # Each MiB differs, so the content is not one repeated block.
            chunk = i.to_bytes(8, "little") + block[8:]
            sent.update(chunk)
            conn.send(chunk)
        assert conn.getresponse().status == 200
        conn.close()
    received, length = hashlib.sha256(), 0
    with PeakRss(fresh_server.proc.pid) as down:
        with requests.get(proxy(fresh_server, "/stream/two-gib.bin"), stream=True, timeout=120) as r:
            assert r.status_code == 200
            for chunk in r.iter_content(1 << 20):
                received.update(chunk)
                length += len(chunk)
    assert (length, received.hexdigest()) == (size, sent.hexdigest())
    assert up.peak < 100, f"upload peak RSS {up.peak:.0f} MB"
    assert down.peak < 100, f"download peak RSS {down.peak:.0f} MB"


def test_cut_off_upload_leaves_nothing_visible(server):
    name = f"cutoff-{os.getpid()}.bin"
    raw_request(
        server,
        f"PUT /api/2.0/mlflow-artifacts/artifacts/partial/{name} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".encode()
        + b"x" * 1000,
    )
    listed = requests.get(proxy(server), params={"path": "partial"}).json()
    assert name not in [f["path"] for f in listed.get("files", [])]
    assert requests.get(proxy(server, f"/partial/{name}")).status_code == 404
    assert list((server.store / "blobs" / "tmp").iterdir()) == []


def test_proxy_list_download_delete(server):
    assert requests.put(proxy(server, "/p/q/a.txt"), data=b"A").status_code == 200
    assert requests.put(proxy(server, "/p/q/r/b.txt"), data=b"BB").status_code == 200
    listing = requests.get(proxy(server), params={"path": "p/q"}).json()
    assert listing == {"files": [{"path": "a.txt", "is_dir": False, "file_size": 1}, {"path": "r", "is_dir": True}]}
    assert requests.get(proxy(server, "/p/q/r/b.txt")).content == b"BB"
    assert requests.delete(proxy(server, "/p/q/r")).status_code == 200
    assert requests.get(proxy(server, "/p/q/r/b.txt")).status_code == 404
    assert requests.get(proxy(server), params={"path": "nothing/here"}).json() == {}


def test_a_file_and_a_folder_cannot_share_a_name(server, tmp_path):
    base = f"/clash-{os.getpid()}"
    assert requests.put(proxy(server, f"{base}/model"), data=b"file").status_code == 200
    assert requests.put(proxy(server, f"{base}/dir/inner.txt"), data=b"in").status_code == 200
    for path in (f"{base}/model/weights.bin", f"{base}/dir"):
        r = requests.put(proxy(server, path), data=b"x")
        assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), path
    listing = requests.get(proxy(server), params={"path": base.strip("/")}).json()["files"]
    assert [(f["path"], f["is_dir"]) for f in listing] == [("dir", True), ("model", False)]
    # Replacing a file with a file of the same name stays allowed.
    assert requests.put(proxy(server, f"{base}/model"), data=b"file v2").status_code == 200
    assert requests.get(proxy(server, f"{base}/model")).content == b"file v2"


def test_mlflow_ui_download_endpoints(server, client, experiment):
    """`/get-artifact` and `/model-versions/get-artifact`, which MLflow's own
    UI and some tools download through."""
    with mlflow.start_run() as run:
        mlflow.log_text("hello", "notes/readme.txt")
    r = requests.get(f"{server.uri}/get-artifact", params={"run_id": run.info.run_id, "path": "notes/readme.txt"})
    assert (r.status_code, r.content) == (200, b"hello")
    name = f"ui-download-{os.getpid()}"
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run.info.run_id}/notes", run_id=run.info.run_id)
    r = requests.get(f"{server.uri}/model-versions/get-artifact", params={"name": name, "version": "1", "path": "readme.txt"})
    assert (r.status_code, r.content) == (200, b"hello")
    for params in ({"run_id": run.info.run_id, "path": "../../etc/passwd"}, {"run_id": run.info.run_id}):
        r = requests.get(f"{server.uri}/get-artifact", params=params)
        assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), params
    r = requests.get(f"{server.uri}/get-artifact", params={"run_id": "0" * 32, "path": "x"})
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_planted_symlink_is_never_followed(fresh_server, tmp_path):
    assert requests.put(proxy(fresh_server, "/s/file.txt"), data=b"inside").status_code == 200
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the store")
    blob = next(p for p in (fresh_server.store / "blobs" / "sha256").rglob("*") if p.is_file())
    blob.unlink()
    blob.symlink_to(secret)
    response = requests.get(proxy(fresh_server, "/s/file.txt"))
    assert response.status_code != 200 and b"outside the store" not in response.content


def test_gc_after_delete_with_a_dry_run_first(fresh_server):
    client = mlflow.MlflowClient(fresh_server.uri)
    mlflow.set_tracking_uri(fresh_server.uri)
    exp = client.create_experiment("gc")
    keep = client.create_run(exp).info.run_id
    drop = client.create_run(exp).info.run_id
    client.log_text(keep, "shared content", "shared.txt")
    client.log_text(drop, "shared content", "shared.txt")
    client.log_text(drop, "x" * 5000, "own.txt")
    client.delete_run(drop)

    def gc(*flags):
        return subprocess.run(
            [almanac_bin(), "--store", str(fresh_server.store), "gc", *flags], capture_output=True, text=True, timeout=60
        )

    dry = gc("--dry-run")
    assert dry.returncode == 0 and "would remove 1 of 2 blobs" in dry.stdout, dry.stdout + dry.stderr
    assert mlflow.artifacts.load_text(f"runs:/{drop}/own.txt") == "x" * 5000, "a dry run changes nothing"
    real = gc()
    assert real.returncode == 0 and "removed 1 of 2 blobs" in real.stdout, real.stdout
    assert mlflow.artifacts.load_text(f"runs:/{keep}/shared.txt") == "shared content"
    assert requests.get(proxy(fresh_server, f"/{exp}/{drop}/artifacts/own.txt")).status_code == 404
    assert "would remove 0 of 1 blobs" in gc("--dry-run").stdout
