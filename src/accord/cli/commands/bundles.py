"""``accord export --to PARTY`` and ``accord import BUNDLE``: air-gapped transfer between nodes.

``export`` queues this node's sealed releases for pinned peers and writes what is
pending for PARTY (or everything queued ``--since`` a time) as a signed bundle to
stdout or ``--out``; items stay pending until the peer's receipt comes back.
``obligations send`` queues a signed obligation held here (a consent, a recall, a
compromise report...) for a pinned peer, to travel in the next bundle or delivery.
``import`` applies a bundle from a pinned peer with the same checks as any message:
releases are received, receipts mark what this node sent DELIVERED or REFUSED, and the
receipts this import produces wait in the outbox for the next bundle back. Importing
a bundle twice changes nothing. Both need ``$ACCORD_KEY_PASSPHRASE``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from accord.cli.commands._shared import JsonOption, WorldOption, open_cli_world, print_json, settings, stdout
from accord.cli.commands.peers import unlocked
from accord.errors import ValidationError
from accord.services.inbound import MAX_ENVELOPE_BYTES, Freshness, Inbound
from accord.services.node import write_atomically
from accord.services.outbox import Outbox

__all__ = ["export", "import_bundle", "send_obligation"]


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        msg = f"--since {value!r} is not an ISO 8601 date or time"
        raise ValidationError(msg, hint="e.g. --since 2026-03-01 or --since 2026-03-01T09:00:00Z") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def export(
    to: Annotated[str, typer.Option("--to", metavar="PARTY", help="The pinned peer to export for.")],
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="TIME", help="Everything queued since TIME (UTC), sent or not."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE", help="Write to FILE instead of stdout.")] = None,
) -> None:
    """Write the messages pending for a peer to a signed bundle."""
    start = _since(since)
    if out is not None and out.exists():
        msg = f"{out} exists; refusing to overwrite it"
        raise ValidationError(msg, hint="choose another --out path")
    current = settings()
    node = unlocked()
    with Outbox.open(database_url=current.resolved_database_url, home=current.home) as outbox:
        data, count = outbox.export_bundle(to, node=node, since=start)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            write_atomically(out, data)
        except OSError as e:
            msg = f"cannot write {out}: {e.strerror or e}"
            raise ValidationError(msg) from e
    typer.echo(f"bundle for {to.upper()}: {count} message(s)", err=True)


def import_bundle(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="A bundle file from a pinned peer.")],
    max_age_hours: Annotated[
        float, typer.Option("--max-age-hours", help="Refuse messages sent longer ago than this.")
    ] = 24 * 7,
    max_envelope_bytes: Annotated[
        int, typer.Option("--max-envelope-bytes", help="Refuse any message larger than this.")
    ] = MAX_ENVELOPE_BYTES,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Apply a bundle from a pinned peer; receipts for it go into the outbox for the way back."""
    if max_age_hours <= 0 or max_envelope_bytes <= 0:
        msg = f"--max-age-hours and --max-envelope-bytes must be positive, not {max_age_hours}, {max_envelope_bytes}"
        raise ValidationError(msg)
    try:
        data = bundle.read_bytes()
    except OSError as e:
        msg = f"cannot read the bundle {bundle}: {e.strerror or e}"
        raise ValidationError(msg) from e
    loaded = open_cli_world(world)
    current = settings()
    node = unlocked()
    with Inbound.open(database_url=current.resolved_database_url, home=current.home) as inbound:
        result = inbound.import_bundle(
            data,
            world=loaded.world,
            node=node,
            freshness=Freshness(max_age=dt.timedelta(hours=max_age_hours)),
            max_envelope_bytes=max_envelope_bytes,
        )
    summary = result.to_dict()
    if json_output:
        print_json(summary)
        return
    stdout().print(
        Text(
            f"Imported bundle from {result.sender}: {summary['new']} new, {summary['duplicates']} already seen, "
            f"{summary['rejected']} refused"
        ),
        soft_wrap=True,
    )


def send_obligation(
    type_: Annotated[str, typer.Argument(metavar="TYPE", help="consent, reclassification, recall, ...")],
    key: Annotated[
        str, typer.Argument(metavar="ID", help="The object's id (a recall's or report's for their answers).")
    ],
    to: Annotated[str, typer.Option("--to", metavar="PARTY", help="The pinned peer it is for.")],
    record: Annotated[
        str | None, typer.Option("--record", metavar="ID", help="The record (for a reclassification notice).")
    ] = None,
    holder: Annotated[
        str | None, typer.Option("--holder", metavar="PARTY", help="Whose acknowledgement (default: this node's).")
    ] = None,
) -> None:
    """Queue a signed obligation held here for a pinned peer (sent with the next bundle or delivery)."""
    current = settings()
    node = unlocked()
    with Outbox.open(database_url=current.resolved_database_url, home=current.home) as outbox:
        envelope = outbox.queue_obligation(type_, key, to=to, node=node, record_id=record, holder=holder)
    stdout().print(
        Text(f"Queued {envelope.type.value} {key} for {envelope.recipient} at {envelope.precedence.value}"),
        soft_wrap=True,
    )
