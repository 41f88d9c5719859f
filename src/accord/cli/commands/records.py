"""``accord records``: create, list and show the node's records; find orphan body files.

A portion is ``--portion LEVEL:REL_TO,REL_TO:TEXT`` (repeat it for each portion; REL TO
may be empty, TEXT may hold colons), or ``--portion-file LEVEL:REL_TO,REL_TO:PATH``: a
file of any bytes and any size, streamed encrypted under the node home and kept with
its name. ``show --out DIR`` streams each file portion back, decrypted and checked, to
``DIR/<name>``. Creating and opening bodies need ``$ACCORD_KEY_PASSPHRASE``; listing and
showing markings do not. ``--server URL`` (or ``$ACCORD_SERVER``) runs ``create``,
``list`` and ``show`` on a node's HTTP API instead, as the holder of the API token
(``cli/commands/_server.py``; docs/api.md, "The CLI against a server").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from accord.cli.commands._server import CaCertOption, ServerOption, TokenFileOption, record_desk
from accord.cli.commands._shared import JsonOption, WorldOption, new_table, print_json, settings, stdout
from accord.cli.commands.disclosures import record_author
from accord.errors import ValidationError
from accord.services.record_desk import LocalRecordDesk
from accord.services.records import ORPHAN_AGE, RecordDraft, Records, parse_portion, parse_portion_file

__all__ = ["app"]

app = typer.Typer(help="The node's records.", no_args_is_help=True)


def _records() -> Records:
    current = settings()
    return Records.open(
        database_url=current.resolved_database_url, home=current.home, unsafe_fast_kdf=current.unsafe_fast_kdf
    )


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
            help="A portion whose body is a file: any bytes, any size, kept with its name (repeatable; not with "
            "--server).",
        ),
    ] = None,
    purpose: Annotated[str, typer.Option("--purpose", help="The record's purpose.")] = "",
    precedence: Annotated[str, typer.Option("--precedence", help="FLASH, IMMEDIATE, PRIORITY or ROUTINE.")] = "ROUTINE",
    world: WorldOption = None,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    ca_cert: CaCertOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a record originated by this node, its bodies encrypted at rest.

    With ``$ACCORD_TOKEN`` set, the record is written by that person (who needs
    record.create) and remembers them as its author; with --server, always.
    """
    portions = tuple(parse_portion(p) for p in portion or ()) + tuple(parse_portion_file(p) for p in portion_file or ())
    draft = RecordDraft(title=title, topics=tuple(topic), portions=portions, purpose=purpose, precedence=precedence)
    with record_desk(server=server, token_file=token_file, ca_cert=ca_cert, world=world) as desk:
        author = record_author() if isinstance(desk, LocalRecordDesk) else None
        record = desk.create(draft, author=author)
    if json_output:
        print_json(record.to_dict())
        return
    stdout().print(Text(f"Created record {record.id} ({record.portions} portions)"), soft_wrap=True)


@app.command("list")
def list_records(
    after: Annotated[str | None, typer.Option("--after", metavar="ID", help="Start after this record.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many records.")] = 50,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    ca_cert: CaCertOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the node's records in the order they were added (no passphrase needed).

    With --server: the records the token's holder may see.
    """
    with record_desk(server=server, token_file=token_file, ca_cert=ca_cert) as desk:
        page = desk.list(after=after, limit=limit)
    if json_output:
        items = [{"id": r.id, "title": r.title, "added_at": r.added_at} for r in page.items]
        print_json({"records": items, "next": page.next_cursor})
        return
    table = new_table("Records", ("id", "precedence", "added", "title"), wrap=("title",))
    for r in page.items:
        table.add_row(r.id, r.precedence, r.added_at, r.title)
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
            help="Write each file portion, decrypted and checked, to DIR/<name> (implies --bodies; not with --server).",
            file_okay=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="With --out, overwrite files already there.")] = False,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    ca_cert: CaCertOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a record's markings; with --bodies its text, with --out DIR also its files.

    Files are written all or nothing: each is decrypted to a temporary file in DIR and
    checked (every chunk, size and SHA-256) before any is renamed into place. A file
    already in DIR is refused unless --force. Opening bodies is audited. With --server:
    the portions the token's holder is cleared for.
    """
    if force and out is None:
        msg = "--force only applies with --out DIR"
        raise ValidationError(msg)
    with record_desk(server=server, token_file=token_file, ca_cert=ca_cert) as desk:
        view = desk.show(record_id, bodies=bodies, out=out, force=force)
    if json_output:
        print_json(view.data)
        return
    _print_view(view.data)


def _print_view(record: dict[str, Any]) -> None:
    """A record's JSON form (``RecordView.to_dict``) as lines and a table of portions."""
    console = stdout()
    console.print(Text(f"{record['id']}: {record['title']}"), soft_wrap=True)
    console.print(
        Text(f"  originator {record['originator']}, precedence {record['precedence']}, added {record['added_at']}")
    )
    console.print(Text(f"  author {record.get('author') or '- (not recorded)'}"), soft_wrap=True)
    console.print(Text(f"  topics {', '.join(record['topics'])}"), soft_wrap=True)
    table = new_table("Portions", ("id", "level", "REL TO", "body"), wrap=("body",))
    for p in record["portions"]:
        if isinstance(file := p.get("file"), dict):
            body = f"file {file['name']} ({file['size']:,} bytes, SHA-256 {file['sha256'][:16]}…)"
            body += f" written to {file['written']}" if file.get("written") else " (use --out DIR to write it)"
        else:
            body = p.get("text", "(encrypted)")
        table.add_row(p["id"], p["level"], ", ".join(p["rel_to"]), body)
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
