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
``receive``. Accounts come
later: until then the operator states the person's details on the command line.
All but ``inbox`` and ``sent`` need ``$ACCORD_KEY_PASSPHRASE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

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
from accord.services.peers import Peers
from accord.services.releases import (
    ReleaseRequest,
    Releases,
    parts_directory,
    person_from_options,
    read_message_file,
    write_message_file,
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
    json_output: JsonOption = False,
) -> None:
    """Release a record of this node: decide, seal for the next node, store and audit."""
    date = parse_date(on, field="--on")
    next_hops = {(hop := read_identity_file(keys)).party: hop.public} if keys is not None else None
    if out is not None and out.exists():
        msg = f"{out} exists; refusing to overwrite it"
        raise ValidationError(msg, hint="choose another --out path")
    loaded = open_cli_world(world)
    current = settings()
    node = unlock(current.home, _passphrase())
    if next_hops is None:
        with Peers.open(database_url=current.resolved_database_url, home=current.home) as peers:
            next_hops = peers.next_hops()
    request = ReleaseRequest(record_id=record_id, recipient=to.upper(), on=date)
    with _releases() as service:
        (outcome,) = service.release_many([request], world=loaded.world, node=node, next_hops=next_hops)
    if outcome.message is not None and out is not None:
        write_message_file(out, outcome.message, outcome.attachments)
    if json_output:
        print_json(outcome.to_dict() | {"out": str(out) if out else None})
    else:
        console = stdout()
        decision = outcome.decision
        if outcome.release is None:
            console.print(Text(f"DENIED: {record_id} may not go to {decision.recipient} on {date}"), soft_wrap=True)
            for reason in decision.reasons:
                console.print(Text(f"  - {reason}"), soft_wrap=True)
        else:
            console.print(Text(f"Sealed release {outcome.release.id} via {' > '.join(decision.route)}"), soft_wrap=True)
            if decision.label is not None:
                console.print(Text(f"  marked: {decision.label.text()}"), soft_wrap=True)
            console.print(
                Text(
                    f"  portions released {', '.join(decision.released_portions)}; "
                    f"withheld {', '.join(decision.withheld_portions) or 'none'}"
                ),
                soft_wrap=True,
            )
            if out is not None:
                console.print(Text(f"  message written to {out}"), soft_wrap=True)
    if outcome.release is None:
        raise typer.Exit(EXIT_DENIED)


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


def _list(*, received: bool, after: str | None, limit: int, json_output: bool) -> None:
    with _releases() as service:
        items = service.list(received=received, after=after, limit=limit)
    rows = [
        {
            "id": r.id,
            "record_id": r.record_id,
            "sender": r.sender,
            "recipient": r.recipient,
            "route": ">".join(r.route),
            "on": r.on.isoformat(),
            "state": r.state.value,
        }
        for r in items
    ]
    if json_output:
        print_json({"releases": rows})
        return
    table = new_table("Inbox" if received else "Sent", ("id", "record", "from", "to", "route", "on", "state"))
    for row in rows:
        table.add_row(*(str(row[k]) for k in ("id", "record_id", "sender", "recipient", "route", "on", "state")))
    stdout().print(table)


AfterOption = Annotated[str | None, typer.Option("--after", metavar="ID", help="Start after this release.")]
LimitOption = Annotated[int, typer.Option("--limit", help="At most this many releases.")]


def inbox(after: AfterOption = None, limit: LimitOption = 50, json_output: JsonOption = False) -> None:
    """List the releases received here (no passphrase needed; no content shown)."""
    _list(received=True, after=after, limit=limit, json_output=json_output)


def sent(after: AfterOption = None, limit: LimitOption = 50, json_output: JsonOption = False) -> None:
    """List the releases sent from here."""
    _list(received=False, after=after, limit=limit, json_output=json_output)


def open_release(
    release_id: Annotated[str, typer.Argument(metavar="RELEASE_ID")],
    person: Annotated[str, typer.Option("--person", metavar="ID", help="Who is reading.")],
    nationality: Annotated[str, typer.Option("--nationality", metavar="PARTY", help="Their nationality.")],
    clearance: Annotated[
        str | None, typer.Option("--clearance", metavar="LEVEL", help="Their clearance, a level of their scheme.")
    ] = None,
    need_to_know: Annotated[
        list[str] | None, typer.Option("--need-to-know", metavar="TOPIC", help="A topic they need (repeatable).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Save the file portions into DIR.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files of the same name in DIR.")] = False,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a received release to a person, if nationality, clearance and need-to-know allow."""
    who = person_from_options(
        person_id=person, nationality=nationality, clearance=clearance, need_to_know=need_to_know or ()
    )
    loaded = open_cli_world(world)
    node = unlock(settings().home, _passphrase())
    with _releases() as service:
        opened = service.read(release_id, person=who, world=loaded.world, node=node, out=out, force=force)
    data = opened.to_dict()
    if json_output:
        print_json(data)
    else:
        console = stdout()
        if not opened.access:
            console.print(Text(f"REFUSED: {who.id} may not open release {release_id}"), soft_wrap=True)
            for reason in opened.access.reasons:
                console.print(Text(f"  - {reason}"), soft_wrap=True)
        else:
            console.print(Text(opened.banner()), soft_wrap=True)
            console.print(Text(opened.heading()), soft_wrap=True)
            table = new_table("Portions", ("id", "originator level", "text"), wrap=("text",))
            for row in opened.portion_rows():
                table.add_row(*row)
            console.print(table)
    if not opened.access:
        raise typer.Exit(EXIT_DENIED)
