"""Fixtures that start a real `almanac serve` process and point the real
`mlflow` client at it. Set ALMANAC_BIN to the binary (the test runner does)."""

import os
import shutil
import signal
import sys
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import mlflow
import pytest
import requests

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Fail fast instead of retrying for minutes when a test kills the server.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


def almanac_bin() -> str:
    path = os.environ.get("ALMANAC_BIN")
    if not path:
        root = Path(__file__).resolve().parents[2]
        target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
        path = str(target / "release" / "almanac")
    if not Path(path).exists():
        pytest.exit(f"almanac binary not found at {path}; run `cargo build --release --bin almanac`", 2)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `almanac serve` process on a free port, over its own store."""

    def __init__(self, store: Path):
        self.store = store
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [almanac_bin(), "--store", str(self.store), "serve", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"almanac serve exited: {self.proc.stderr.read()}")
            try:
                if requests.get(self.uri + "/health", timeout=1).text == "OK":
                    return self
            except requests.RequestException:  # not up yet, or too busy to answer
                time.sleep(0.05)
        raise RuntimeError("almanac serve did not become healthy")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode if self.proc else None


@pytest.fixture(autouse=True)
def keep_mlflow_uris():
    """mlflow keeps its tracking and registry URIs in module globals and
    environment variables: a test that points them elsewhere must not leave
    later tests talking to a server it stopped."""
    from mlflow.tracking._model_registry import utils as registry
    from mlflow.tracking._tracking_service import utils as tracking

    saved = (tracking._tracking_uri, registry._registry_uri,
             os.environ.get("MLFLOW_TRACKING_URI"), os.environ.get("MLFLOW_REGISTRY_URI"))
    yield
    tracking._tracking_uri, registry._registry_uri = saved[0], saved[1]
    for name, value in (("MLFLOW_TRACKING_URI", saved[2]), ("MLFLOW_REGISTRY_URI", saved[3])):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def server():
    store = Path(tempfile.mkdtemp(prefix="almanac-e2e-"))
    srv = Server(store).start()
    mlflow.set_tracking_uri(srv.uri)
    yield srv
    srv.stop()
    shutil.rmtree(store, ignore_errors=True)


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own, for tests that kill or stop it."""
    srv = Server(tmp_path / "store").start()
    yield srv
    srv.stop(signal.SIGKILL)


@pytest.fixture
def client(server):
    mlflow.set_tracking_uri(server.uri)
    return mlflow.MlflowClient(server.uri)


@pytest.fixture
def experiment(client, request):
    """A fresh experiment per test, named after it."""
    name = f"{request.node.name}-{time.time_ns()}"
    exp_id = client.create_experiment(name)
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def start_mlflow_server(root):
    """The real `mlflow server` on a SQLite store, proxying artifacts."""
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{root}/server.db",
         "--artifacts-destination", str(root / "server-artifacts"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if requests.get(f"{uri}/health", timeout=1).ok:
                return proc, uri
        except requests.RequestException:  # not up yet, or too busy to answer
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("mlflow server did not start")
