"""Remote tokens in a real OS keyring: a Secret Service (gnome-keyring in its
own D-Bus session), used by `almanac sync` against a git server that demands
the token, and never written anywhere else."""

import subprocess

import mlflow
from conftest import Server, almanac_bin
from git_http import serve_git

TOKEN = "glpat-s3cr3t-Xy9"

def in_keyring_session(home, script):
    """Runs `script` in bash inside a fresh D-Bus session with an unlocked
    gnome-keyring; HOME persists the keyring between sessions."""
    wrapped = (
        "echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n"
        f"ALMANAC={almanac_bin()}\n" + script
    )
    return subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", wrapped],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_login_stores_the_token_in_the_keyring_and_sync_uses_it(tmp_path):
    repos = tmp_path / "repos"
    repos.mkdir()
    subprocess.run(["git", "init", "--bare", "-q", str(repos / "team.git")], check=True)
    httpd, base, seen = serve_git(repos, TOKEN)
    url = f"{base}/team.git"
    home = tmp_path / "home"
    home.mkdir()
    alice = tmp_path / "alice"
    try:
        server = Server(alice).start()
        mlflow.set_tracking_uri(server.uri)
        mlflow.set_experiment("keyring")
        with mlflow.start_run(run_name="over-https") as run:
            mlflow.log_metric("loss", 0.5)
        server.stop()

        # Without a token the server refuses, and the error says what to do.
        r = in_keyring_session(home, f'$ALMANAC --store {alice} remote add team {url} && $ALMANAC --store {alice} sync team')
        assert r.returncode != 0
        assert "almanac remote login" in r.stderr, r.stderr

        r = in_keyring_session(
            home,
            f"echo {TOKEN} | $ALMANAC --store {alice} remote login team\n"
            f"secret-tool lookup service almanac username {url}\n"
            f"$ALMANAC --store {alice} sync team",
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert TOKEN in r.stdout, "the token is in the Secret Service"
        assert "ops out (pushed)" in r.stdout, r.stdout

        # A second store logs in to the same remote and gets the run.
        bob = tmp_path / "bob"
        r = in_keyring_session(
            home,
            f"$ALMANAC --store {bob} remote add team {url}\n"
            f"echo {TOKEN} | $ALMANAC --store {bob} remote login team\n"
            f"$ALMANAC --store {bob} sync team",
        )
        assert r.returncode == 0, r.stdout + r.stderr
        server = Server(bob).start()
        assert mlflow.MlflowClient(server.uri).get_run(run.info.run_id).data.metrics == {"loss": 0.5}
        server.stop()

        # Logout forgets it: the next sync is refused again.
        r = in_keyring_session(home, f"$ALMANAC --store {bob} remote logout team && $ALMANAC --store {bob} sync team")
        assert "forgot the token" in r.stdout and r.returncode != 0, r.stdout + r.stderr
    finally:
        httpd.shutdown()

    assert any(a and a.startswith("Basic ") for a in seen), "the token travelled as HTTP Basic auth"
    # The token is nowhere on disk outside the keyring's own file.
    for root in (alice, bob, repos, home / ".gitconfig"):
        if root.exists():
            found = subprocess.run(["grep", "-rl", TOKEN, str(root)], capture_output=True, text=True).stdout
            assert found == "", f"token leaked into {found}"


def test_login_without_a_keyring_fails_clearly_and_saves_nothing(tmp_path):
    store = tmp_path / "s"
    subprocess.run([almanac_bin(), "--store", str(store), "remote", "add", "team", "https://example.invalid/x.git"], check=True)
    r = subprocess.run(
        [almanac_bin(), "--store", str(store), "remote", "login", "team"],
        input=TOKEN + "\n",
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    assert "keyring" in r.stderr.lower(), r.stderr
    assert TOKEN not in r.stderr + r.stdout
    r = subprocess.run([almanac_bin(), "--store", str(store), "remote", "login", "nope"], input="x\n", capture_output=True, text=True)
    assert r.returncode != 0 and "No remote named 'nope'" in r.stderr, r.stderr
