"""``accord records``: create, list and show the node's records.

A portion is ``--portion LEVEL:REL_TO,REL_TO:TEXT`` (repeat it for each portion; REL TO
may be empty, TEXT may hold colons), or ``--portion-file LEVEL:REL_TO,REL_TO:PATH`` to
take the text from a UTF-8 file. Creating and showing bodies need
``$ACCORD_KEY_PASSPHRASE``; listing and showing markings do not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from accord.cli.commands._shared import JsonOption, WorldOption, new_table, open_cli_world, print_json, settings, stdout
from accord.errors import ValidationError
from accord.services.records import PortionDraft, RecordDraft, Records, parse_portion

__all__ = ["app"]

app = typer.Typer(help="The node's records.", no_args_is_help=True)


def _records() -> Records:
    current = settings()
    return Records.open(database_url=current.resolved_database_url, home=current.home)


def _passphrase() -> str | None:
    secret = settings().key_passphrase
    return secret.get_secret_value() if secret else None


def _file_portion(spec: str) -> PortionDraft:
    draft = parse_portion(spec)
    path = Path(draft.text)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        msg = f"cannot read the portion body {path}: {e}"
        raise ValidationError(msg) from e
    return PortionDraft(level=draft.level, rel_to=draft.rel_to, text=text)


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
        typer.Option("--portion-file", metavar="LEVEL:REL_TO,...:PATH", help="A portion whose text is a file."),
    ] = None,
    purpose: Annotated[str, typer.Option("--purpose", help="The record's purpose.")] = "",
    precedence: Annotated[str, typer.Option("--precedence", help="FLASH, IMMEDIATE, PRIORITY or ROUTINE.")] = "ROUTINE",
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a record originated by this node, its bodies encrypted at rest."""
    portions = tuple(parse_portion(p) for p in portion or ()) + tuple(_file_portion(p) for p in portion_file or ())
    draft = RecordDraft(title=title, topics=tuple(topic), portions=portions, purpose=purpose, precedence=precedence)
    loaded = open_cli_world(world)
    records = _records()
    try:
        record = records.create(draft, world=loaded.world, passphrase=_passphrase())
    finally:
        records.close()
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
    records = _records()
    try:
        page = records.list(after=after, limit=limit)
    finally:
        records.close()
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
    json_output: JsonOption = False,
) -> None:
    """Show a record's markings, and with --bodies its decrypted text."""
    records = _records()
    try:
        view = records.show(record_id, passphrase=_passphrase() if bodies else None)
        if bodies and view.bodies is None:
            msg = "no passphrase for the node's private keys"
            raise ValidationError(msg, hint="set ACCORD_KEY_PASSPHRASE to read the bodies")
    finally:
        records.close()
    data = view.to_dict()
    if json_output:
        print_json(data)
        return
    console = stdout()
    console.print(Text(f"{data['id']}: {data['title']}"), soft_wrap=True)
    console.print(Text(f"  originator {data['originator']}, precedence {data['precedence']}, added {data['added_at']}"))
    console.print(Text(f"  topics {', '.join(view.stored.record.topics)}"), soft_wrap=True)
    table = new_table("Portions", ("id", "level", "REL TO", "text"), wrap=("text",))
    texts = view.bodies or {}
    for p in view.stored.record.portions:
        table.add_row(p.id, p.level, ", ".join(sorted(p.rel_to)), texts.get(p.id, "(encrypted)"))
    console.print(table)
