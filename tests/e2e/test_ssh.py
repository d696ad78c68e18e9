"""Sync over ssh against a real OpenSSH server on loopback: the key comes
from ssh-agent, or else from ~/.ssh, as with git; the host must be known."""

import getpass
import os
import subprocess
import time

import mlflow
import pytest

from conftest import Server, almanac_bin, free_port


@pytest.fixture
def sshd(tmp_path):
    """An sshd on a free loopback port that accepts one client key, and a
    HOME whose ~/.ssh knows the host."""
    d = tmp_path / "sshd"
    d.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "client_key")], check=True)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    port = free_port()
    config = d / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nStrictModes no\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nUsePAM no\nPidFile {d / 'sshd.pid'}\nPermitRootLogin prohibit-password\n"
    )
    os.makedirs("/run/sshd", exist_ok=True)
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        if subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    host_pub = (d / "host_key.pub").read_text().split()
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    yield {"port": port, "home": home, "client_key": d / "client_key"}
    proc.terminate()
    proc.wait(timeout=10)


def almanac(store, home, *args, env=None):
    return subprocess.run(
        [almanac_bin(), "--store", str(store), *args],
        env={"HOME": str(home), "PATH": os.environ["PATH"], **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sync_over_ssh_with_a_key_in_dot_ssh_then_from_the_agent(sshd, tmp_path):
    remote = tmp_path / "team.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    url = f"ssh://{getpass.getuser()}@127.0.0.1:{sshd['port']}{remote}"
    home = sshd["home"]

    alice = tmp_path / "alice"
    server = Server(alice).start()
    mlflow.set_tracking_uri(server.uri)
    mlflow.set_experiment("over-ssh")
    with mlflow.start_run() as run:
        mlflow.log_param("via", "ssh")
    server.stop()

    assert almanac(alice, home, "remote", "add", "team", url).returncode == 0
    # No key anywhere: a clear failure that says what to do.
    r = almanac(alice, home, "sync", "team")
    assert r.returncode != 0 and "ssh-agent" in r.stderr, r.stderr

    # A key in ~/.ssh.
    (home / ".ssh" / "id_ed25519").write_bytes(sshd["client_key"].read_bytes())
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    r = almanac(alice, home, "sync", "team")
    assert r.returncode == 0 and "(pushed)" in r.stdout, r.stdout + r.stderr
    assert subprocess.run(["git", "--git-dir", str(remote), "rev-parse", "refs/almanac/data"]).returncode == 0

    # Bob has no key file, only an agent holding the key.
    bob_home = tmp_path / "bob-home"
    (bob_home / ".ssh").mkdir(parents=True)
    (bob_home / ".ssh" / "known_hosts").write_text((home / ".ssh" / "known_hosts").read_text())
    agent = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
    agent_env = dict(
        part.split("=", 1) for line in agent.splitlines() for part in line.split(";")[:1] if "=" in part
    )
    try:
        subprocess.run(["ssh-add", "-q", str(sshd["client_key"])], env={**os.environ, **agent_env}, check=True)
        bob = tmp_path / "bob"
        assert almanac(bob, bob_home, "remote", "add", "team", url).returncode == 0
        r = almanac(bob, bob_home, "sync", "team", env=agent_env)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        subprocess.run(["kill", agent_env["SSH_AGENT_PID"]])
    server = Server(bob).start()
    assert mlflow.MlflowClient(server.uri).get_run(run.info.run_id).data.params == {"via": "ssh"}
    server.stop()


def test_an_unknown_host_key_is_refused(sshd, tmp_path):
    remote = tmp_path / "team.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    home = sshd["home"]
    (home / ".ssh" / "known_hosts").unlink()
    (home / ".ssh" / "id_ed25519").write_bytes(sshd["client_key"].read_bytes())
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    store = tmp_path / "s"
    url = f"ssh://{getpass.getuser()}@127.0.0.1:{sshd['port']}{remote}"
    assert almanac(store, home, "remote", "add", "team", url).returncode == 0
    r = almanac(store, home, "sync", "team")
    assert r.returncode != 0, r.stdout
    assert "known_hosts" in r.stderr, r.stderr
