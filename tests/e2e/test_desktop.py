"""The real desktop app (`almanac-desktop`) under Xvfb, driven through
WebDriver: tauri-driver from crates.io in front of Debian's WebKitWebDriver.
The app runs in its own D-Bus session with an unlocked gnome-keyring, so a
token saved in the window lands in a real Secret Service.

Set ALMANAC_DESKTOP_BIN to the app (the test runner does)."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import pytest
import requests
from conftest import free_port
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support.ui import WebDriverWait

TOKEN = "glpat-desk-t0ken-42"


def desktop_bin() -> str:
    path = os.environ.get("ALMANAC_DESKTOP_BIN")
    if not path or not Path(path).exists():
        pytest.fail(f"ALMANAC_DESKTOP_BIN must name the built almanac-desktop (got {path!r})")
    return path


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def processes_named(fragment: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", fragment], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class Desktop:
    """Xvfb, a D-Bus session with a keyring, tauri-driver, and a WebDriver
    session whose application is the desktop app on a temporary store."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.store = tmp / "store"
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.home = tmp / "home"
        self.home.mkdir()
        self.procs = []

    def __enter__(self):
        display = free_display()
        self.display = f":{display}"
        self.procs.append(subprocess.Popen(["Xvfb", self.display, "-screen", "0", "1400x1000x24", "-nolisten", "tcp"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 10
        while not Path(f"/tmp/.X11-unix/X{display}").exists():
            if time.time() > deadline:
                raise RuntimeError("Xvfb did not start")
            time.sleep(0.05)
        self.driver_port = free_port()
        native_port = free_port()
        # tauri-driver starts WebKitWebDriver, which starts the app: all of
        # them inherit this session's display, D-Bus and HOME.
        script = (
            "echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n"
            f"exec tauri-driver --port {self.driver_port} --native-port {native_port}\n"
        )
        env = {
            "HOME": str(self.home),
            "PATH": os.environ["PATH"],
            "DISPLAY": self.display,
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_DATA_HOME": str(self.home / "data"),
            "ALMANAC_LOG": "info",
            # No accessibility bus or desktop portals: nothing outlives the test.
            "NO_AT_BRIDGE": "1",
            "GTK_USE_PORTAL": "0",
        }
        self.driver_log = open(self.tmp / "tauri-driver.log", "w")
        # Its own process group, so the D-Bus session's services go with it.
        self.session = subprocess.Popen(["dbus-run-session", "--", "bash", "-c", script], env=env,
                                        stdout=self.driver_log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{self.driver_port}/status", timeout=1)
                break
            except requests.RequestException:
                if time.time() > deadline:
                    raise RuntimeError("tauri-driver did not start: " + (self.tmp / "tauri-driver.log").read_text())
                time.sleep(0.1)
        options = ArgOptions()
        options.set_capability("browserName", "wry")
        options.set_capability("tauri:options", {
            "application": desktop_bin(),
            "args": ["--store", str(self.store), "--port", str(self.port)],
        })
        started = time.monotonic()
        self.driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{self.driver_port}", options=options)
        self.find("#desktop-status", timeout=60)
        self.find(".experiment", timeout=60)
        self.first_paint_s = time.monotonic() - started
        return self

    def __exit__(self, *exc):
        try:
            self.driver.quit()
        except Exception:
            pass
        try:
            os.killpg(self.session.pid, signal.SIGTERM)
            self.session.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.session.pid, signal.SIGKILL)
        # WebKit's D-Bus activates the document portal, whose FUSE mount can
        # outlive its daemon: unmount it, or the temp folder cannot be removed.
        if shutil.which("fusermount3"):
            subprocess.run(["fusermount3", "-u", "-q", str(self.home / ".cache" / "doc")],
                           check=False, stderr=subprocess.DEVNULL)
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.driver_log.close()

    def find(self, css, timeout=20, text=None):
        def found(d):
            for e in d.find_elements(By.CSS_SELECTOR, css):
                try:
                    # textContent: WebKit's visible text skips ellipsized spans.
                    if e.is_displayed() and (text is None or text in (e.get_attribute("textContent") or "")):
                        return e
                except WebDriverException:
                    pass
            return False
        try:
            return WebDriverWait(self.driver, timeout).until(found, f"{css} with {text!r}")
        except TimeoutException:
            shot = self.tmp / "failure.png"
            self.driver.save_screenshot(str(shot))
            raise TimeoutException(f"{css} with {text!r} not shown at {self.driver.current_url}; see {shot}")

    def gone(self, css, timeout=10):
        WebDriverWait(self.driver, timeout).until(lambda d: not d.find_elements(By.CSS_SELECTOR, css), css)

    def type_into(self, css, text):
        e = self.find(css)
        e.clear()
        e.send_keys(text)

    def screenshot(self, name) -> Path:
        time.sleep(0.5)  # a shot taken right after a change can be stale
        out = Path(os.environ.get("ALMANAC_E2E_OUT", self.tmp)) / name
        out.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(out))
        return out


def test_desktop_app_serves_logs_edits_and_syncs(tmp_path):
    remote = tmp_path / "team.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    with Desktop(tmp_path) as app:
        print(f"\ndesktop: cold start to first paint (WebDriver session included) {app.first_paint_s:.2f} s")

        # The status bar names the embedded server, on the port asked for.
        assert app.find("#tracking-uri").get_attribute("textContent").strip() == app.uri
        assert requests.get(f"{app.uri}/health", timeout=5).text == "OK"

        # A training script logs into the embedded server; the run shows up.
        mlflow.set_tracking_uri(app.uri)
        exp = mlflow.set_experiment("desktop-e2e")
        with mlflow.start_run(run_name="desk-run") as run:
            mlflow.log_param("lr", "0.01")
            mlflow.log_metric("loss", 0.25)
        app.driver.refresh()
        app.find(".experiment a", text="desktop-e2e").click()
        app.find(".cell.name a", text="desk-run", timeout=30).click()
        app.find("h1.run-name", text="desk-run")

        # A tag edited in the window is what the client reads back.
        app.type_into(".new-tag-key", "reviewed")
        app.type_into(".new-tag-value", "on-desktop")
        app.find(".add-tag-button").click()
        app.find('tr[data-tag="reviewed"]', text="on-desktop")
        assert mlflow.get_run(run.info.run_id).data.tags["reviewed"] == "on-desktop"

        # Connect dialog: the URI and the lines a script needs; Escape closes.
        app.find("#tracking-uri").click()
        assert app.find("#connect-python").get_attribute("textContent").strip().endswith(f'mlflow.set_tracking_uri("{app.uri}")')
        assert app.find("#connect-shell").get_attribute("textContent").strip() == f"export MLFLOW_TRACKING_URI={app.uri}"
        app.find("#connect-dialog").send_keys(Keys.ESCAPE)
        app.gone("#connect-dialog")

        # Remotes: add a bare repo with a token, test it, sync.
        app.find("#open-remotes").click()
        app.find("#no-remotes")
        app.type_into("#remote-name", "team")
        app.type_into("#remote-url", str(remote))
        app.type_into("#remote-token", TOKEN)
        app.find("#remote-save").click()
        app.find("#remotes-message", text="OS keyring")
        app.find("tr.remote", text="token saved")
        assert app.find("#remote-token").get_attribute("value") == "", "the token field is cleared"
        assert TOKEN not in app.driver.page_source, "the token is never shown again"
        app.find("tr.remote button.test").click()
        app.find("tr.remote .check", text="reachable, 0 ops to fetch")
        app.find("#remotes-dialog").send_keys(Keys.ESCAPE)
        app.gone("#remotes-dialog")

        app.find("#sync-now").click()
        app.find("#desktop-notice", text="Synced", timeout=60)
        app.find("#sync-state", text="Synced just now")
        refs = subprocess.run(["git", "--git-dir", str(remote), "for-each-ref"], capture_output=True, text=True)
        assert "refs/almanac/" in refs.stdout, refs.stdout
        shot = app.screenshot("desktop.png")
        assert shot.stat().st_size > 10_000, shot

        # Idle memory: the app process plus WebKit's web and network processes.
        time.sleep(2)
        app_pids = processes_named(f"almanac-desktop --store {app.store}")
        webkit_pids = processes_named("WebKitWebProcess") + processes_named("WebKitNetworkProcess")
        assert app_pids, "the app process is found"
        app_kb = sum(rss_kb(p) for p in app_pids)
        webkit_kb = sum(rss_kb(p) for p in webkit_pids)
        print(f"desktop: idle RSS app {app_kb / 1024:.0f} MiB, WebKit processes {webkit_kb / 1024:.0f} MiB")
        print(f"desktop: screenshot {shot}")

    # Settings remember the store; no secret reaches any file the app wrote.
    settings = (tmp_path / "home" / "config" / "almanac" / "desktop.json").read_text()
    assert str(tmp_path / "store") in settings
    for folder in [tmp_path / "home" / "config", tmp_path / "store"]:
        for path in folder.rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path
    assert shutil.which("tauri-driver")


def test_a_taken_port_moves_the_server_to_the_next_free_one(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        app = Desktop(tmp_path)
        app.port = busy
        with app:
            shown = app.find("#tracking-uri").get_attribute("textContent").strip()
            assert shown != f"http://127.0.0.1:{busy}", shown
            port = int(shown.rsplit(":", 1)[1])
            assert busy < port <= busy + 100
            assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).text == "OK"
