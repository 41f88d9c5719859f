"""``accord serve``: run the node's HTTP API (``accord.api``) with uvicorn.

Binds to 127.0.0.1 unless ``--host`` names another address, on ``--port`` (8443).
With ``--tls-cert`` and ``--tls-key`` (both or neither) it serves HTTPS; the files are
checked before the server starts, so a missing, unreadable or mismatched pair is a
clear error, not a stack trace. ``--workers N`` runs N processes on the node's one
database (PostgreSQL for more than one: SQLite serialises every writer). The node's
keys are unlocked here and in each worker. Each worker delivers the outboxes to the
pinned peers in the background (a per-peer lease keeps two workers off one outbox)
unless ``--no-deliver``, and serves ``POST /federation/v1/envelopes`` either way.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from pathlib import Path
from typing import Annotated, Final

import typer
import uvicorn

from accord.cli.commands._shared import passphrase, settings, unlock, unsafe_fast_kdf
from accord.errors import ValidationError
from accord.services.node import read_identity
from accord.services.registry import Registry

__all__ = ["serve"]

APP: Final = "accord.api.app:create_app"
_MAX_WORKERS: Final = 64
_WORKER_STARTUP_S: Final = 120


def _check_tls(cert: Path | None, key: Path | None) -> None:
    if (cert is None) != (key is None):
        msg = "TLS needs both --tls-cert and --tls-key"
        raise ValidationError(msg, hint="give both files, or neither for plain HTTP on a loopback address")
    if cert is None or key is None:
        return
    for path, what in ((cert, "certificate"), (key, "private key")):
        try:
            path.read_bytes()
        except OSError as e:
            msg = f"cannot read the TLS {what} {path}: {e.strerror}"
            raise ValidationError(msg, hint="give a readable PEM file") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as e:
        msg = f"the TLS certificate {cert} and key {key} do not load as a pair: {e}"
        raise ValidationError(msg, hint="give a PEM certificate and its unencrypted PEM private key") from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind; anything but loopback is exposed.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8443,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", metavar="FILE", help="PEM certificate (chain) for HTTPS.")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", metavar="FILE", help="PEM private key for HTTPS.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=_MAX_WORKERS, help="Worker processes (PostgreSQL for more than 1).")
    ] = 1,
    no_deliver: Annotated[
        bool, typer.Option("--no-deliver", help="Do not deliver the outboxes to peers in the background.")
    ] = False,
) -> None:
    """Serve the node's REST API under /api/v1 (OpenAPI at /openapi.json) until interrupted."""
    _check_tls(tls_cert, tls_key)
    current = settings()
    url = current.resolved_database_url
    if workers > 1 and url.startswith("sqlite"):
        msg = "several workers need a server database: SQLite lets one writer in at a time"
        raise ValidationError(msg, hint="set ACCORD_DATABASE_URL to a PostgreSQL URL, or use --workers 1")
    unsafe_fast_kdf(current)  # says so on stderr when the test-only switch is on
    unlock(current.home, passphrase(current))
    party = read_identity(current.home).party
    with Registry(database_url=url) as registry:
        registry.fingerprint()  # the schema is current and the database answers
    if not _loopback(host) and tls_cert is None:
        typer.echo(f"warning: serving plain HTTP on {host}, not a loopback address; use TLS", err=True)
    scheme = "https" if tls_cert else "http"
    typer.echo(f"Serving node {party} on {scheme}://{host}:{port}/api/v1 with {workers} worker(s)", err=True)
    if no_deliver:
        os.environ["ACCORD_DELIVER"] = "0"  # the workers build their settings from the environment
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level="info",
        server_header=False,
        # A worker unlocks the node's keys (scrypt) and imports the app before it answers;
        # on a busy machine that takes longer than uvicorn's 5 s, which would kill it.
        timeout_worker_healthcheck=_WORKER_STARTUP_S,
    )
