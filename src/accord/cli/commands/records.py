"""``accord records``: create, list and show the node's records; find orphan body files.

A portion is ``--portion LEVEL:REL_TO,REL_TO:TEXT`` (repeat it for each portion; REL TO
may be empty, TEXT may hold colons), or ``--portion-file LEVEL:REL_TO,REL_TO:PATH``: a
file of any bytes and any size, streamed encrypted under the node home and kept with
its name. ``show --out DIR`` streams each file portion back, decrypted and checked, to
``DIR/<name>``. Creating and opening bodies need ``$ACCORD_KEY_PASSPHRASE``; listing and
showing markings do not.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from accord.cli.commands._shared import JsonOption, WorldOption, new_table, open_cli_world, print_json, settings, stdout
from accord.cli.commands.disclosures import record_author
from accord.errors import ValidationError
from accord.services.records import ORPHAN_AGE, RecordDraft, Records, RecordView, parse_portion, parse_portion_file

__all__ = ["app"]

app = typer.Typer(help="The node's records.", no_args_is_help=True)


def _records() -> Records:
    current = settings()
    return Records.open(
        database_url=current.resolved_database_url, home=current.home, unsafe_fast_kdf=current.unsafe_fast_kdf
    )


def _passphrase() -> str | None:
    secret = settings().key_passphrase
    return secret.get_secret_value() if secret else None


@app.command("create")
def create(
    title: Annotated[str, typer.Option("--title", help="The record's title.")],
    topic: Annotated[list[str], typer.Option("--topic", help="A topic (repeat for several).")],
    portion: Annotated[
        list[str] | None,
        typer.Option("--portion", metavar="LEVEL:REL_TO,...:TEXT", help="A portion with its text (repeatable)."),
    ] = None,
    portion_file: Annotated[
        list[str] | None,
        typer.Option(
            "--portion-file",
            metavar="LEVEL:REL_TO,...:PATH",
            help="A portion whose body is a file: any bytes, any size, kept with its name (repeatable).",
        ),
    ] = None,
    purpose: Annotated[str, typer.Option("--purpose", help="The record's purpose.")] = "",
    precedence: Annotated[str, typer.Option("--precedence", help="FLASH, IMMEDIATE, PRIORITY or ROUTINE.")] = "ROUTINE",
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a record originated by this node, its bodies encrypted at rest.

    With ``$ACCORD_TOKEN`` set, the record is written by that person (who needs
    record.create) and remembers them as its author.
    """
    portions = tuple(parse_portion(p) for p in portion or ()) + tuple(parse_portion_file(p) for p in portion_file or ())
    draft = RecordDraft(title=title, topics=tuple(topic), portions=portions, purpose=purpose, precedence=precedence)
    loaded = open_cli_world(world)
    author = record_author()
    with _records() as records:
        record = records.create(draft, world=loaded.world, passphrase=_passphrase(), author=author)
    if json_output:
        print_json({"id": record.id, "portions": len(record.portions)})
        return
    stdout().print(Text(f"Created record {record.id} ({len(record.portions)} portions)"), soft_wrap=True)


@app.command("list")
def list_records(
    after: Annotated[str | None, typer.Option("--after", metavar="ID", help="Start after this record.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many records.")] = 50,
    json_output: JsonOption = False,
) -> None:
    """List the node's records in the order they were added (no passphrase needed)."""
    with _records() as records:
        page = records.list(after=after, limit=limit)
    if json_output:
        items = [{"id": s.record.id, "title": s.record.title, "added_at": s.added_at} for s in page.items]
        print_json({"records": items, "next": page.next_cursor})
        return
    table = new_table("Records", ("id", "precedence", "added", "title"), wrap=("title",))
    for stored in page.items:
        r = stored.record
        table.add_row(r.id, r.precedence.value, stored.added_at, r.title)
    console = stdout()
    console.print(table)
    if page.next_cursor:
        console.print(Text(f"More: accord records list --after {page.next_cursor}"), soft_wrap=True)


@app.command("show")
def show(
    record_id: Annotated[str, typer.Argument(metavar="ID")],
    bodies: Annotated[bool, typer.Option("--bodies", help="Decrypt the bodies (needs the passphrase).")] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Write each file portion, decrypted and checked, to DIR/<name> (implies --bodies).",
            file_okay=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="With --out, overwrite files already there.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Show a record's markings; with --bodies its text, with --out DIR also its files.

    Files are written all or nothing: each is decrypted to a temporary file in DIR and
    checked (every chunk, size and SHA-256) before any is renamed into place. A file
    already in DIR is refused unless --force. Opening bodies is audited.
    """
    if force and out is None:
        msg = "--force only applies with --out DIR"
        raise ValidationError(msg)
    with _records() as records:
        opening = bodies or out is not None
        view = records.show(record_id, passphrase=_passphrase() if opening else None, out=out, force=force)
        if opening and view.bodies is None:
            msg = "no passphrase for the node's private keys"
            raise ValidationError(msg, hint="set ACCORD_KEY_PASSPHRASE to read the bodies")
    if json_output:
        print_json(view.to_dict())
        return
    _print_view(view)


def _print_view(view: RecordView) -> None:
    record = view.stored.record
    console = stdout()
    console.print(Text(f"{record.id}: {record.title}"), soft_wrap=True)
    console.print(
        Text(f"  originator {record.originator}, precedence {record.precedence.value}, added {view.stored.added_at}")
    )
    console.print(Text(f"  author {view.stored.author or '- (not recorded)'}"), soft_wrap=True)
    console.print(Text(f"  topics {', '.join(sorted(record.topics))}"), soft_wrap=True)
    table = new_table("Portions", ("id", "level", "REL TO", "body"), wrap=("body",))
    texts = view.bodies or {}
    for p in record.portions:
        if p.id in view.files:
            file = view.files[p.id]
            body = f"file {file.name} ({file.size:,} bytes, SHA-256 {file.sha256[:16]}…)"
            body += f" written to {file.written}" if file.written else " (use --out DIR to write it)"
        else:
            body = texts.get(p.id, "(encrypted)")
        table.add_row(p.id, p.level, ", ".join(sorted(p.rel_to)), body)
    console.print(table)


@app.command("orphans")
def orphans(
    delete: Annotated[bool, typer.Option("--delete", help="Delete the orphan files found.")] = False,
    older_than: Annotated[
        int, typer.Option("--older-than", metavar="MINUTES", help="Only files unchanged for this long.", min=0)
    ] = int(ORPHAN_AGE.total_seconds() // 60),
    json_output: JsonOption = False,
) -> None:
    """List (or --delete) encrypted body files that no record refers to.

    A creation interrupted between writing its files and committing (a crash, a killed
    process) leaves such a file. Its data key was never stored, so it can never be
    decrypted: it only takes space. Younger files are skipped, since a creation may be
    about to commit them.
    """
    with _records() as records:
        age = dt.timedelta(minutes=older_than)
        found = records.remove_orphans(older_than=age) if delete else records.orphans(older_than=age)
    if json_output:
        print_json({"orphans": found, "deleted": delete})
        return
    console = stdout()
    for path in found:
        console.print(Text(path), soft_wrap=True)
    verb = "Deleted" if delete else "Found"
    console.print(Text(f"{verb} {len(found)} orphan body file{'' if len(found) == 1 else 's'}"))
