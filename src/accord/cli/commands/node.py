"""``accord init``, ``accord node show`` and ``accord node rotate-keys``: the node's home and identity.

The home is ``$ACCORD_HOME`` (default ``~/.accord``) and the database a SQLite file
there unless ``$ACCORD_DATABASE_URL`` names another. ``accord init`` alone sets up the
home and database (safe to repeat); ``--party CODE`` also gives the node its identity:
keys encrypted under ``$ACCORD_KEY_PASSPHRASE`` and a public ``node.json``.
``rotate-keys`` replaces the signing and KEM keys, keeping the retired ones for old
signatures and envelopes. ``$ACCORD_UNSAFE_FAST_KDF=1`` (tests only) makes key files
with a scrypt cost below the floor, and says so on stderr.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from accord.cli.commands._shared import (
    JsonOption,
    new_table,
    open_cli_world,
    passphrase,
    print_json,
    settings,
    stdout,
    unsafe_fast_kdf,
)
from accord.services.node import (
    NODE_FILE_NAME,
    check_new_identity,
    identity_exists,
    new_identity,
    read_identity,
    rotate_keys_now,
)
from accord.services.world import init_node, redact_url

__all__ = ["app", "init", "rotate", "show"]

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
    secret = passphrase(current)
    if party is not None:
        # Refuse bad input before touching anything: nothing is written.
        world = open_cli_world(None).world
        check_new_identity(home=current.home, party=party, passphrase=secret, world=world)
    url = current.resolved_database_url
    init_node(home=current.home, database_url=url)
    console = stdout()
    console.print(Text(f"Node initialised at {current.home}"), soft_wrap=True)
    console.print(Text(f"  database {redact_url(url)}"), soft_wrap=True)
    if party is not None:
        unsafe = unsafe_fast_kdf(current)
        identity = new_identity(home=current.home, party=party, passphrase=secret, unsafe_fast_kdf=unsafe)
        console.print(Text(f"  identity {identity.party}, fingerprint {identity.public.fingerprint}"), soft_wrap=True)
        console.print(Text(f"  public descriptor {current.home / NODE_FILE_NAME}"), soft_wrap=True)
    elif not identity_exists(current.home):
        console.print(Text("  no identity yet: run `accord init --party CODE` to create the node's keys"))
    console.print(Text("Next: accord world load [PATH]"), soft_wrap=True)


@app.command("show")
def show(json_output: JsonOption = False) -> None:
    """Show the node's party, key fingerprints and key history (no passphrase needed)."""
    identity = read_identity(settings().home)
    if json_output:
        print_json(
            {
                "party": identity.party,
                "created_at": identity.created_at,
                "fingerprint": identity.public.fingerprint,
                "keys": identity.key_rows(),
                "key_history": identity.history_rows(),
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
    if identity.retired:
        history = new_table("Key history (retired keys verify what they signed in their window)", _HISTORY_COLUMNS)
        for generation in identity.history_rows():
            until = generation["valid_until"]
            history.add_row(
                str(generation["valid_from"]),
                "current" if until is None else str(until),
                str(generation["fingerprint"]),
            )
        console.print(history)


_HISTORY_COLUMNS = ("valid from", "valid until", "descriptor fingerprint")


@app.command("rotate-keys")
def rotate(json_output: JsonOption = False) -> None:
    """Make new signing and KEM keys current (needs $ACCORD_KEY_PASSPHRASE).

    The retired public keys stay in node.json with their validity window, so signatures
    made before still verify; the retired KEM private keys stay in the key file, so
    envelopes sealed to them still open; record bodies stay readable. Give peers the
    new node.json afterwards.
    """
    current = settings()
    unsafe = unsafe_fast_kdf(current)
    rotation = rotate_keys_now(current.home, passphrase(current), unsafe_fast_kdf=unsafe)
    identity, retired = rotation.identity, rotation.retired
    rotated_at = identity.history[-1].valid_from.isoformat()
    if json_output:
        print_json(
            {
                "party": identity.party,
                "rotated_at": rotated_at,
                "fingerprint": identity.public.fingerprint,
                "keys": identity.key_rows(),
                "retired": identity.history_rows()[-2],
                "generations": len(identity.history),
            }
        )
        return
    console = stdout()
    console.print(Text(f"Keys of {identity.party} rotated at {rotated_at}"), soft_wrap=True)
    console.print(Text(f"  new descriptor fingerprint {identity.public.fingerprint}"), soft_wrap=True)
    console.print(
        Text(f"  retired {retired.public.fingerprint} (valid {retired.valid_from.isoformat()} to {rotated_at})"),
        soft_wrap=True,
    )
    console.print(
        Text("  retired keys still verify old signatures and open old envelopes; record bodies are unchanged"),
        soft_wrap=True,
    )
    console.print(Text(f"Next: give peers the new {current.home / NODE_FILE_NAME}"), soft_wrap=True)
