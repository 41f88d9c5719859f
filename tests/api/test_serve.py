"""``accord serve`` as a real process: HTTP, TLS with a certificate made here, and its refusals.

The node is set up through the services (as ``accord init`` would), then the real
``accord`` entry point serves it and httpx calls it over the loopback interface.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.api.conftest import PASSPHRASE, make_home, seed_people

SCRIPT = Path(sys.executable).with_name("accord")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_env(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update(
        ACCORD_HOME=str(home),
        ACCORD_DATABASE_URL=url,
        ACCORD_KEY_PASSPHRASE=PASSPHRASE,
        ACCORD_UNSAFE_FAST_KDF="1",
        PYTHONIOENCODING="utf-8",
    )
    return env


class Server:
    """``accord serve ARGS`` in a subprocess, stopped on exit; waits until /health answers."""

    def __init__(self, env: dict[str, str], *args: str, scheme: str = "http", verify: object = True) -> None:
        self.port = free_port()
        self.base = f"{scheme}://127.0.0.1:{self.port}"
        self.log = Path(env["ACCORD_HOME"]).parent / f"serve-{self.port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own entry point
                [str(SCRIPT), "serve", "--port", str(self.port), *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.client = httpx.Client(base_url=self.base, verify=verify, timeout=30)  # type: ignore[arg-type]
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client.get("/api/v1/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"accord serve did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def stop(self) -> str:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text()


@pytest.fixture(scope="module")
def sqlite_node(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    home, url = make_home(root, "KOR")
    return node_env(home, url), seed_people(home, url)


def test_http_serves_the_api_on_loopback(sqlite_node):
    env, tokens = sqlite_node
    server = Server(env)
    try:
        assert server.client.get("/api/v1/health").json() == {"status": "ok", "party": "KOR"}
        assert server.client.get("/api/v1/records").status_code == 401
        auth = {"Authorization": f"Bearer {tokens['analyst']}"}
        assert server.client.get("/api/v1/records", headers=auth).json() == {"items": [], "next_cursor": None}
        assert server.client.get("/openapi.json").json()["info"]["title"] == "Accord node API"
        assert "server" not in server.client.get("/api/v1/health").headers
    finally:
        log = server.stop()
    assert "127.0.0.1" in log


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_tls_serves_https_with_the_given_certificate(sqlite_node, tmp_path):
    env, tokens = sqlite_node
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(cafile=str(cert))
    server = Server(env, "--tls-cert", str(cert), "--tls-key", str(key), scheme="https", verify=context)
    try:
        auth = {"Authorization": f"Bearer {tokens['security']}"}
        assert server.client.get("/api/v1/people", headers=auth).status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{server.port}/api/v1/health", timeout=5)
        with pytest.raises(httpx.ConnectError):  # an unknown certificate is not trusted by default
            httpx.get(f"{server.base}/api/v1/health", timeout=5)
    finally:
        server.stop()


def run(env, *args):
    return subprocess.run(  # noqa: S603 - our own entry point
        [str(SCRIPT), "serve", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_tls_file_errors_are_clear(sqlite_node, tmp_path):
    env, _ = sqlite_node
    cert, key = self_signed(tmp_path)
    only_cert = run(env, "--tls-cert", str(cert))
    assert only_cert.returncode == 2
    assert "both --tls-cert and --tls-key" in only_cert.stderr
    missing = run(env, "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(key))
    assert missing.returncode == 2
    assert "cannot read the TLS certificate" in missing.stderr
    swapped = run(env, "--tls-cert", str(key), "--tls-key", str(cert))
    assert swapped.returncode == 2
    assert "do not load as a pair" in swapped.stderr
    assert "Traceback" not in swapped.stderr


def test_a_wrong_passphrase_or_sqlite_workers_fail_before_serving(sqlite_node):
    env, _ = sqlite_node
    wrong = run({**env, "ACCORD_KEY_PASSPHRASE": "not the passphrase"}, "--port", str(free_port()))
    assert wrong.returncode == 2
    assert "error:" in wrong.stderr
    workers = run(env, "--workers", "2", "--port", str(free_port()))
    assert workers.returncode == 2
    assert "server database" in workers.stderr
