"""``accord audit``: checkpoint, verify and prove the node's audit log, check proofs offline, witness.

``verify`` exits 0 when every entry and checkpoint verifies and 2 naming the first bad
entry otherwise; ``prove SEQ`` prints a proof bundle (JSON) that ``verify-proof``
checks with nothing but the node's public ``node.json``. ``witness`` shows checkpoint
witnessing per peer and exits 3 while an alarm is open; ``witness --send`` queues a
signed checkpoint to the peers, ``witness --resolve ID --note TEXT`` closes an alarm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from accord.cli.commands._shared import EXIT_ALARM, JsonOption, new_table, print_json, settings, stdout
from accord.cli.commands.peers import unlocked
from accord.errors import ValidationError
from accord.services.audit import AuditLog, verify_proof_file
from accord.services.witness import Witness, WitnessReport, alarm_dict

__all__ = ["app"]

app = typer.Typer(help="The node's tamper-evident audit log.", no_args_is_help=True)


def _log() -> AuditLog:
    current = settings()
    return AuditLog.open(
        database_url=current.resolved_database_url, home=current.home, unsafe_fast_kdf=current.unsafe_fast_kdf
    )


@app.command("checkpoint")
def checkpoint(json_output: JsonOption = False) -> None:
    """Sign a checkpoint of the log as it is now (needs $ACCORD_KEY_PASSPHRASE)."""
    current = settings()
    passphrase = current.key_passphrase.get_secret_value() if current.key_passphrase else None
    with _log() as log:
        made = log.checkpoint(passphrase=passphrase)
    if json_output:
        print_json(made.to_dict())
        return
    stdout().print(Text(f"Checkpoint signed by {made.origin}: {made.size} entries, root {made.root}"), soft_wrap=True)


@app.command("verify")
def verify(json_output: JsonOption = False) -> None:
    """Verify every entry and checkpoint; exit 2 naming the first bad entry."""
    with _log() as log:
        report = log.verify()
    if json_output:
        print_json(report.to_dict())
        return
    text = f"Audit log verified: {report.entries} entries, {len(report.checkpoints)} signed checkpoints"
    stdout().print(Text(f"{text}, root {report.root}"), soft_wrap=True)


@app.command("prove")
def prove(seq: Annotated[int, typer.Argument(metavar="SEQ", help="The entry's sequence number.")]) -> None:
    """Print a proof bundle (JSON) that entry SEQ is in the latest signed checkpoint."""
    with _log() as log:
        bundle = log.prove(seq)
    print_json(bundle.to_dict())


@app.command("verify-proof")
def verify_proof(
    proof: Annotated[Path, typer.Argument(metavar="PROOF", help="A proof bundle from `accord audit prove`.")],
    node: Annotated[Path, typer.Option("--node", metavar="NODE_JSON", help="The node's public node.json.")],
) -> None:
    """Check a proof bundle offline against the node's public descriptor only."""
    entry, checkpoint = verify_proof_file(proof, node)
    message = (
        f"Proof verified: entry {entry.seq} ({entry.kind.value}, {entry.at}) is in "
        f"{checkpoint.origin}'s log of {checkpoint.size} entries signed {checkpoint.at}"
    )
    stdout().print(Text(message), soft_wrap=True)


def _witness() -> Witness:
    current = settings()
    return Witness.open(database_url=current.resolved_database_url, home=current.home)


def _say(line: str) -> None:
    stdout().print(Text(line), soft_wrap=True)


@app.command("witness")
def witness(
    send: Annotated[
        bool, typer.Option("--send", help="Queue a signed checkpoint of this log to the peers (needs the passphrase).")
    ] = False,
    to: Annotated[
        str, typer.Option("--to", metavar="PARTY|all", help="With --send: one pinned peer, or all of them.")
    ] = "all",
    resolve: Annotated[
        int | None, typer.Option("--resolve", metavar="ALARM_ID", help="Close an open alarm (with --note).")
    ] = None,
    note: Annotated[str, typer.Option("--note", metavar="TEXT", help="With --resolve: what was done about it.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Checkpoint witnessing per peer; exit 3 while an alarm is open (a peer's log was rewritten)."""
    if send and resolve is not None:
        msg = "--send and --resolve are separate actions: run them one at a time"
        raise ValidationError(msg)
    if send:
        node = unlocked()
        with _witness() as service:
            sent = service.send(node, to=to)
        if json_output:
            print_json(sent.to_dict())
            return
        made = "signed" if sent.new else "reused"
        _say(
            f"Checkpoint of {sent.checkpoint.size} entries ({made}, root {sent.checkpoint.root[:16]}) "
            f"queued for {', '.join(sent.peers)}: it travels with the next export or delivery"
        )
        return
    if resolve is not None:
        with _witness() as service:
            alarm = service.resolve(resolve, note=note)
        if json_output:
            print_json(alarm_dict(alarm))
            return
        _say(f"Alarm {alarm.id} on {alarm.peer} resolved: {alarm.resolution}")
        return
    with _witness() as service:
        report = service.status()
    if json_output:
        print_json(report.to_dict())
    else:
        _show(report)
    if report.open_alarms:
        raise typer.Exit(EXIT_ALARM)


def _show(report: WitnessReport) -> None:
    table = new_table("Witnessing", ("peer", "its log seen here", "our log co-signed", "alarms"))
    for peer in report.peers:
        seen = "-" if peer.seen is None else f"{peer.seen.size} entries, {peer.seen.checkpoint_at}"
        cosigned = "-" if peer.cosigned is None else f"{peer.cosigned.size} entries, {peer.cosigned.cosigned_at}"
        alarms = f"ALARM ({len(peer.open_alarms)} open)" if peer.open_alarms else "none"
        table.add_row(peer.peer, seen, cosigned, alarms)
    stdout().print(table)
    for alarm in report.open_alarms:
        _say(
            f"ALARM {alarm.id}: {alarm.peer}'s log {alarm.kind.value} ({alarm.reason}), raised {alarm.raised_at}; "
            f"close with `accord audit witness --resolve {alarm.id} --note TEXT`"
        )
