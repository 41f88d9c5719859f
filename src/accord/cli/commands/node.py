"""``accord init`` and ``accord node show``: the node's home, database and identity.

The home is ``$ACCORD_HOME`` (default ``~/.accord``) and the database a SQLite file
there unless ``$ACCORD_DATABASE_URL`` names another. ``accord init`` alone sets up the
home and database (safe to repeat); ``--party CODE`` also gives the node its identity:
keys encrypted under ``$ACCORD_KEY_PASSPHRASE`` and a public ``node.json``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from accord.cli.commands._shared import JsonOption, new_table, open_cli_world, print_json, settings, stdout
from accord.services.node import NODE_FILE_NAME, check_new_identity, identity_exists, new_identity, read_identity
from accord.services.world import init_node, redact_url

__all__ = ["app", "init", "show"]

app = typer.Typer(help="The node's identity.", no_args_is_help=True)

PartyOption = Annotated[
    str | None,
    typer.Option(
        "--party",
        metavar="CODE",
        help="Give the node its identity for this party (e.g. KOR): keys under $ACCORD_KEY_PASSPHRASE.",
        show_default=False,
    ),
]


def init(party: PartyOption = None) -> None:
    """Initialise this node: its home directory and database (safe to repeat), and with --party its identity.

    Then `accord world load` stores the world the node decides with.
    """
    current = settings()
    passphrase = current.key_passphrase.get_secret_value() if current.key_passphrase else None
    if party is not None:
        # Refuse bad input before touching anything: nothing is written.
        world = open_cli_world(None).world
        check_new_identity(home=current.home, party=party, passphrase=passphrase, world=world)
    url = current.resolved_database_url
    init_node(home=current.home, database_url=url)
    console = stdout()
    console.print(Text(f"Node initialised at {current.home}"), soft_wrap=True)
    console.print(Text(f"  database {redact_url(url)}"), soft_wrap=True)
    if party is not None:
        identity = new_identity(home=current.home, party=party, passphrase=passphrase)
        console.print(Text(f"  identity {identity.party}, fingerprint {identity.public.fingerprint}"), soft_wrap=True)
        console.print(Text(f"  public descriptor {current.home / NODE_FILE_NAME}"), soft_wrap=True)
    elif not identity_exists(current.home):
        console.print(Text("  no identity yet: run `accord init --party CODE` to create the node's keys"))
    console.print(Text("Next: accord world load [PATH]"), soft_wrap=True)


@app.command("show")
def show(json_output: JsonOption = False) -> None:
    """Show the node's party and key fingerprints (no passphrase needed)."""
    identity = read_identity(settings().home)
    if json_output:
        print_json(
            {
                "party": identity.party,
                "created_at": identity.created_at,
                "fingerprint": identity.public.fingerprint,
                "keys": identity.key_rows(),
            }
        )
        return
    console = stdout()
    console.print(Text(f"Node of {identity.party}, identity created {identity.created_at}"), soft_wrap=True)
    console.print(Text(f"Descriptor fingerprint {identity.public.fingerprint}"), soft_wrap=True)
    table = new_table("Keys", ("role", "algorithm", "key id"))
    for row in identity.key_rows():
        table.add_row(row["role"], row["algorithm"], row["key_id"])
    console.print(table)
