"""``accord records release/receive/inbox/sent/open``: releases out of and into this node.

``release`` decides and, when allowed, seals the record for the first node of the route
(``--keys``: that node's ``node.json``; without it, the pinned peer's keys, and the
release waits in the outbox for ``accord export`` or delivery) and writes the message
to ``--out``; a denial exits 1 with the reasons. ``receive`` checks a message file against the sender's
``node.json`` (``--from``; ``--originator`` when another node originated the record)
and stores it; a refusal is one opaque error whose reason is in the audit log.
``open`` shows a received release to a person whose nationality, clearance and
need-to-know allow it (exit 1 when refused), saving file portions into ``--out DIR``;
every attempt is audited. A file portion's encrypted file travels beside the message
file ``M`` as ``M.parts/<portion>.enc``, written by ``release --out`` and read by
``receive``. Locally the operator states the reader's details on the command line.
All but ``inbox`` and ``sent`` need ``$ACCORD_KEY_PASSPHRASE``. With ``--server URL``
(or ``$ACCORD_SERVER``) all but ``receive`` run on a node's HTTP API as the holder of
the API token, and need nothing local (``cli/commands/_server.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from accord.cli.commands._server import CaCertOption, ServerOption, TokenFileOption, record_desk
from accord.cli.commands._shared import (
    EXIT_DENIED,
    JsonOption,
    OnOption,
    WorldOption,
    new_table,
    open_cli_world,
    print_json,
    settings,
    stdout,
    unlock,
)
from accord.errors import ValidationError
from accord.services.decisions import parse_date
from accord.services.node import read_identity_file
from accord.services.record_desk import RecordDesk
from accord.services.releases import (
    ReleaseRequest,
    Releases,
    parts_directory,
    person_from_options,
    read_message_file,
)

__all__ = ["inbox", "open_release", "receive", "release", "sent"]


def _releases() -> Releases:
    current = settings()
    return Releases.open(database_url=current.resolved_database_url, home=current.home)


def _passphrase() -> str | None:
    secret = settings().key_passphrase
    return secret.get_secret_value() if secret else None


def release(
    record_id: Annotated[str, typer.Argument(metavar="RECORD_ID")],
    to: Annotated[str, typer.Option("--to", metavar="PARTY", help="The party to release to.")],
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys",
            metavar="NODE_JSON",
            help="node.json of the route's first node (recipient or hub); default: the pinned peers' keys, "
            "and the release is queued for the next `accord export` or delivery.",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE", help="Write the sealed message to FILE.")] = None,
    on: OnOption = None,
    world: WorldOption = None,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    ca_cert: CaCertOption = None,
    json_output: JsonOption = False,
) -> None:
    """Release a record of this node: decide, seal for the next node, store and audit.

    With --server the token's holder releases it (a disclosure officer: release.approve).
    """
    date = parse_date(on, field="--on")
    next_hop = read_identity_file(keys) if keys is not None else None
    request = ReleaseRequest(record_id=record_id, recipient=to.upper(), on=date)
    with record_desk(server=server, token_file=token_file, ca_cert=ca_cert, world=world) as desk:
        outcome = desk.release(request, next_hop=next_hop, out=out)
    if json_output:
        print_json(outcome.to_dict())
    else:
        _print_release(outcome.data, record_id=record_id, out=outcome.out)
    if not outcome.allowed:
        raise typer.Exit(EXIT_DENIED)


def _print_release(data: dict[str, Any], *, record_id: str, out: Path | None) -> None:
    """A release's outcome (``ReleaseOutcome.to_dict``) as lines."""
    console = stdout()
    decision = data["decision"]
    if data.get("release") is None:
        console.print(
            Text(f"DENIED: {record_id} may not go to {decision['recipient']} on {decision['on']}"), soft_wrap=True
        )
        for reason in decision["reasons"]:
            console.print(Text(f"  - {reason}"), soft_wrap=True)
        return
    console.print(Text(f"Sealed release {data['release']['id']} via {' > '.join(decision['route'])}"), soft_wrap=True)
    if decision.get("recipient_label") is not None:
        console.print(Text(f"  marked: {decision['recipient_label']['text']}"), soft_wrap=True)
    console.print(
        Text(
            f"  portions released {', '.join(decision['released_portions'])}; "
            f"withheld {', '.join(decision['withheld_portions']) or 'none'}"
        ),
        soft_wrap=True,
    )
    if out is not None:
        console.print(Text(f"  message written to {out}"), soft_wrap=True)


def receive(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A release message file.")],
    sender: Annotated[Path, typer.Option("--from", metavar="NODE_JSON", help="node.json of the sending node.")],
    originator: Annotated[
        Path | None,
        typer.Option("--originator", metavar="NODE_JSON", help="node.json of the originator, if not the sender."),
    ] = None,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check a release message addressed to this node and store it in the inbox."""
    data = read_message_file(file)
    parts = parts_directory(file)
    sender_identity = read_identity_file(sender)
    originator_identity = read_identity_file(originator) if originator else None
    loaded = open_cli_world(world)
    node = unlock(settings().home, _passphrase())
    with _releases() as service:
        received = service.receive(
            data,
            world=loaded.world,
            node=node,
            sender=sender_identity,
            originator=originator_identity,
            attachments=parts if parts.is_dir() else None,
        )
    if json_output:
        print_json(received.to_dict())
        return
    verb = "Received" if received.new else "Already received"
    stdout().print(
        Text(f"{verb} release {received.release.id} of {received.release.record_id} from {received.release.sender}"),
        soft_wrap=True,
    )


def _list(*, received: bool, after: str | None, limit: int, json_output: bool, desk: RecordDesk) -> None:
    with desk:
        rows = [r.to_dict() for r in desk.releases(received=received, after=after, limit=limit)]
    if json_output:
        print_json({"releases": rows})
        return
    table = new_table("Inbox" if received else "Sent", ("id", "record", "from", "to", "route", "on", "state"))
    for row in rows:
        table.add_row(*(str(row[k]) for k in ("id", "record_id", "sender", "recipient", "route", "on", "state")))
    stdout().print(table)


AfterOption = Annotated[str | None, typer.Option("--after", metavar="ID", help="Start after this release.")]
LimitOption = Annotated[int, typer.Option("--limit", help="At most this many releases.")]


def inbox(
    after: AfterOption = None,
    limit: LimitOption = 50,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    ca_cert: CaCertOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the releases received here (no passphrase needed; no content shown).

    With --server: those the token's holder may open.
    """
    desk = record_desk(server=server, token_file=token_file, ca_cert=ca_cert)
    _list(received=True, after=after, limit=limit, json_output=json_output, desk=desk)


def sent(
    after: AfterOption = None,
    limit: LimitOption = 50,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    ca_cert: CaCertOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the releases sent from here.

    With --server: those of records the token's holder may see.
    """
    desk = record_desk(server=server, token_file=token_file, ca_cert=ca_cert)
    _list(received=False, after=after, limit=limit, json_output=json_output, desk=desk)


def open_release(
    release_id: Annotated[str, typer.Argument(metavar="RELEASE_ID")],
    person: Annotated[
        str | None, typer.Option("--person", metavar="ID", help="Who is reading (not with --server).")
    ] = None,
    nationality: Annotated[
        str | None, typer.Option("--nationality", metavar="PARTY", help="Their nationality (not with --server).")
    ] = None,
    clearance: Annotated[
        str | None, typer.Option("--clearance", metavar="LEVEL", help="Their clearance, a level of their scheme.")
    ] = None,
    need_to_know: Annotated[
        list[str] | None, typer.Option("--need-to-know", metavar="TOPIC", help="A topic they need (repeatable).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Save the file portions into DIR.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files of the same name in DIR.")] = False,
    world: WorldOption = None,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    ca_cert: CaCertOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a received release to a person, if nationality, clearance and need-to-know allow.

    Locally the operator says who reads (--person and --nationality, with --clearance and
    --need-to-know); with --server the reader is the token's holder, and a release they
    may not open answers like one that does not exist.
    """
    who = None
    if any(v is not None for v in (person, nationality, clearance, need_to_know)):
        if person is None or nationality is None:
            msg = "--person and --nationality go together: they say who is reading"
            raise ValidationError(msg)
        who = person_from_options(
            person_id=person, nationality=nationality, clearance=clearance, need_to_know=need_to_know or ()
        )
    with record_desk(server=server, token_file=token_file, ca_cert=ca_cert, world=world) as desk:
        opened = desk.open(release_id, person=who, out=out, force=force)
    if json_output:
        print_json(opened.data)
    else:
        console = stdout()
        if not opened.allowed:
            console.print(Text(f"REFUSED: {opened.data['person']} may not open release {release_id}"), soft_wrap=True)
            for reason in opened.data["reasons"]:
                console.print(Text(f"  - {reason}"), soft_wrap=True)
        else:
            console.print(Text(opened.banner()), soft_wrap=True)
            console.print(Text(opened.heading()), soft_wrap=True)
            table = new_table("Portions", ("id", "originator level", "text"), wrap=("text",))
            for row in opened.portion_rows():
                table.add_row(*row)
            console.print(table)
    if not opened.allowed:
        raise typer.Exit(EXIT_DENIED)
