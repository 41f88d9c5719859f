"""``--server URL``: the record and release commands on the local node or on a node's HTTP API.

:func:`record_desk` picks once, per command, between the node in ``ACCORD_HOME`` and
the API at ``--server`` (or ``$ACCORD_SERVER``), which the command then uses through
``services.record_desk``. The API token comes from ``$ACCORD_TOKEN`` or
``--token-file FILE``, never from an option's value (other users could read it in the
process list); ``--ca-cert FILE`` trusts a private CA or a self-signed certificate
for https. Against a server nothing local is read: no home, passphrase or database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from accord.cli.commands._shared import settings
from accord.config import Settings
from accord.errors import ValidationError
from accord.services.record_desk import LocalRecordDesk, RecordDesk, RemoteRecordDesk

__all__ = ["CaCertOption", "ServerOption", "TokenFileOption", "record_desk"]

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Work on the node's HTTP API at URL (default $ACCORD_SERVER) as the holder of the API token.",
        show_default=False,
    ),
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        metavar="FILE",
        help="With --server: read the API token from FILE instead of $ACCORD_TOKEN.",
        show_default=False,
        dir_okay=False,
    ),
]
CaCertOption = Annotated[
    Path | None,
    typer.Option(
        "--ca-cert",
        metavar="FILE",
        help="With --server over https: trust this PEM CA (or self-signed) certificate.",
        show_default=False,
        dir_okay=False,
    ),
]


class _Remote(Settings):
    """``$ACCORD_SERVER`` and ``$ACCORD_TOKEN``, read when a command runs."""

    server: str | None = None
    token: SecretStr | None = None


def record_desk(
    *, server: str | None, token_file: Path | None, ca_cert: Path | None, world: Path | None = None
) -> RecordDesk:
    """The local node, or the node's API when ``server`` (or ``$ACCORD_SERVER``) is set.

    Raises:
        ValidationError: ``--token-file`` or ``--ca-cert`` without a server, no token,
            a bad address or token file, or ``--world`` with a server.
    """
    remote = _Remote()
    url = server or remote.server
    if not url:
        if token_file is not None or ca_cert is not None:
            msg = "--token-file and --ca-cert apply only with --server URL (or $ACCORD_SERVER)"
            raise ValidationError(msg)
        current = settings()
        secret = current.key_passphrase
        return LocalRecordDesk(
            database_url=current.resolved_database_url,
            home=current.home,
            passphrase=secret.get_secret_value() if secret else None,
            world_path=world,
            env_world=current.world,
            unsafe_fast_kdf=current.unsafe_fast_kdf,  # the key store warns when it opens such a file
        )
    if world is not None:
        msg = "--world is not available with --server: the node decides with its own world"
        raise ValidationError(msg, hint="leave out --world, or run the command on the node itself")
    # httpx loads only when a command goes to a server.
    from accord.services.node_client import NodeClient, ServerConnection, read_token_file  # noqa: PLC0415

    if token_file is not None:
        token = read_token_file(token_file)
    elif remote.token is not None:
        token = remote.token.get_secret_value()
    else:
        msg = f"no API token for the node at {url}: set ACCORD_TOKEN or pass --token-file FILE"
        raise ValidationError(msg, hint="`accord tokens issue --person ID` on the node makes one")
    connection = ServerConnection(url=url, token=token, ca_cert=ca_cert)
    return RemoteRecordDesk(NodeClient(connection))
