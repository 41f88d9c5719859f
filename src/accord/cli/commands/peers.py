"""``accord node export-descriptor`` and ``accord peers add|list|show|remove|status|rotate-keys``.

``export-descriptor`` writes this node's self-signed descriptor (party, URL, key
history) to stdout or ``--out``, and its fingerprint to stderr for the operators to
compare out of band. ``peers add FILE`` pins another node's descriptor (``--fingerprint``
makes the comparison part of the command); nothing is accepted from an unpinned party.
``status`` shows delivery per peer: pending by precedence, delivered, refused, attempts,
the next attempt and the last error, and witnessing: the peer's last head co-signed here
and any open alarm on its audit log (``accord audit witness`` has the detail).
``deliver [--peer PARTY]`` runs one delivery over HTTP(S) now (``accord serve`` does it
in the background). ``rotate-keys`` rotates this node's keys and queues the
announcement, signed with the old keys, to every peer. Commands that sign need
``$ACCORD_KEY_PASSPHRASE``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from accord.cli.commands._shared import JsonOption, new_table, print_json, settings, stdout, unlock
from accord.errors import ValidationError
from accord.services.node import UnlockedNode, write_atomically
from accord.services.peers import Peers, PeerView, export_descriptor, read_descriptor_path, status_dict
from accord.services.witness import Witness

__all__ = [
    "add",
    "app",
    "deliver",
    "export_descriptor_command",
    "list_peers",
    "remove",
    "rotate",
    "show",
    "status",
    "unlocked",
]

app = typer.Typer(help="Peer nodes: pinned descriptors and delivery state.", no_args_is_help=True)


def _service() -> Peers:
    current = settings()
    return Peers.open(database_url=current.resolved_database_url, home=current.home)


def _secret() -> str | None:
    current = settings()
    return current.key_passphrase.get_secret_value() if current.key_passphrase else None


def unlocked() -> UnlockedNode:
    """This node's keys, opened with ``$ACCORD_KEY_PASSPHRASE`` (the test-only fast KDF if set)."""
    return unlock(settings().home, _secret())


def _say(line: str) -> None:
    stdout().print(Text(line), soft_wrap=True)


def export_descriptor_command(
    url: Annotated[
        str, typer.Option("--url", metavar="URL", help="Where peers reach this node (empty: bundles only).")
    ] = "",
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE", help="Write to FILE instead of stdout.")] = None,
) -> None:
    """Write this node's signed descriptor for its peers to pin."""
    node = unlocked()
    data = export_descriptor(node, url=url)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            write_atomically(out, data)
        except OSError as e:
            msg = f"cannot write {out}: {e.strerror or e}"
            raise ValidationError(msg) from e
    typer.echo(f"{node.identity.party} fingerprint {node.identity.public.fingerprint}", err=True)


def _rows(view: PeerView) -> tuple[str, ...]:
    s = view.status
    pending = "0" if s is None else str(s.pending)
    return (
        view.pinned.party,
        view.pinned.url or "(bundles)",
        view.pinned.fingerprint[:16],
        pending,
        view.pinned.pinned_at,
    )


@app.command("add")
def add(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The peer's descriptor file.")],
    fingerprint: Annotated[
        str | None,
        typer.Option("--fingerprint", metavar="HEX", help="Refuse unless the file's keys have this fingerprint."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Pin a peer from the descriptor file its node exported."""
    with _service() as service:
        view = service.add(read_descriptor_path(file), expect_fingerprint=fingerprint)
    if json_output:
        print_json(view.to_dict())
        return
    _say(f"Pinned {view.pinned.party} ({view.pinned.url or 'bundles only'}) fingerprint {view.pinned.fingerprint}")


@app.command("list")
def list_peers(json_output: JsonOption = False) -> None:
    """List the pinned peers."""
    with _service() as service:
        views = service.list()
    if json_output:
        print_json({"peers": [v.to_dict() for v in views]})
        return
    table = new_table("Peers", ("party", "url", "fingerprint", "pending", "pinned at"))
    for view in views:
        table.add_row(*_rows(view))
    stdout().print(table)


@app.command("show")
def show(party: Annotated[str, typer.Argument(metavar="PARTY")], json_output: JsonOption = False) -> None:
    """Show a pinned peer: URL, key generations and delivery state."""
    with _service() as service:
        view = service.show(party)
    data = view.to_dict()
    if json_output:
        print_json(data)
        return
    _say(f"{view.pinned.party}  {view.pinned.url or '(bundles only)'}")
    _say(f"  fingerprint {view.pinned.fingerprint}; pinned {view.pinned.pinned_at}, updated {view.pinned.updated_at}")
    for generation in data["key_generations"]:
        until = generation["valid_until"] or "now"
        _say(f"  keys {generation['fingerprint'][:16]} valid {generation['valid_from']} .. {until}")
    if "status" in data:
        s = data["status"]
        _say(f"  pending {s['pending']}, delivered {s['delivered']}, refused {s['refused']}")


@app.command("remove")
def remove(party: Annotated[str, typer.Argument(metavar="PARTY")]) -> None:
    """Unpin a peer: nothing more is accepted from it (its outbox and receipts stay)."""
    with _service() as service:
        service.remove(party)
    _say(f"Unpinned {party.upper()}")


@app.command("status")
def status(json_output: JsonOption = False) -> None:
    """Delivery and witnessing state per peer (an open witness alarm shows as ALARM)."""
    current = settings()
    with _service() as service:
        statuses = service.status()
    with Witness.open(database_url=current.resolved_database_url, home=current.home) as witness:
        witnessing = {p.peer: p for p in witness.status().peers}
    rows = [status_dict(s) for s in statuses]
    for row in rows:
        peer = witnessing.get(row["peer"])
        row["witness"] = {
            "seen_size": None if peer is None or peer.seen is None else peer.seen.size,
            "cosigned_size": None if peer is None or peer.cosigned is None else peer.cosigned.size,
            "open_alarms": 0 if peer is None else len(peer.open_alarms),
        }
    if json_output:
        print_json({"peers": rows})
        return
    table = new_table(
        "Delivery",
        ("peer", "pending", "F/I/P/R", "delivered", "refused", "attempts", "next attempt", "last error", "witness"),
        wrap=("last error",),
    )
    for row in rows:
        by = "/".join(str(n) for n in row["pending_by_precedence"].values())
        table.add_row(
            row["peer"],
            str(row["pending"]),
            by,
            str(row["delivered"]),
            str(row["refused"]),
            str(row["attempts"]),
            row["next_attempt_at"] or "-",
            row["last_error"] or "",
            _witness_cell(row["witness"]),
        )
    stdout().print(table)


def _witness_cell(witness: dict[str, int | None]) -> str:
    if witness["open_alarms"]:
        return f"ALARM ({witness['open_alarms']} open)"
    return "-" if witness["seen_size"] is None else f"ok, {witness['seen_size']} entries"


@app.command("deliver")
def deliver(
    peer: Annotated[
        str | None, typer.Option("--peer", metavar="PARTY", help="Only this peer (default: every peer with a URL).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Deliver the due outbox items over HTTP(S) now, once (FLASH first; backoff respected)."""
    # The HTTP client loads only here: every other command of this module works offline.
    from accord.services.exchange import DeliveryOptions, Exchange  # noqa: PLC0415

    current = settings()
    options = DeliveryOptions.of(
        ca_file=current.federation_ca_file,
        timeout=current.federation_timeout,
        retry_base_seconds=current.retry_base_seconds,
    )
    node = unlocked()
    with Exchange.open(database_url=current.resolved_database_url, home=current.home) as exchange:
        runs = exchange.deliver(node=node, peer=peer, options=options)
    if json_output:
        print_json({"deliveries": [asdict(run) for run in runs]})
        return
    for run in runs:
        line = f"{run.peer}: sent {run.sent}, delivered {run.delivered}, refused {run.refused}, failed {run.failed}"
        _say(line + (f" ({run.error})" if run.error else ""))
    if not runs:
        _say("Nothing to deliver: no peer with a URL (or another process is delivering)")


@app.command("rotate-keys")
def rotate() -> None:
    """Rotate this node's keys and queue the announcement, signed with the old keys, to every peer."""
    current = settings()
    with _service() as service:
        rotation, count = service.rotate_and_announce(_secret(), unsafe_fast_kdf=current.unsafe_fast_kdf)
    _say(f"New keys {rotation.identity.public.fingerprint}; announcement queued for {count} peer(s)")
