"""``accord audit``: checkpoint, verify and prove the node's audit log, and check proofs offline.

``verify`` exits 0 when every entry and checkpoint verifies and 2 naming the first bad
entry otherwise; ``prove SEQ`` prints a proof bundle (JSON) that ``verify-proof``
checks with nothing but the node's public ``node.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from accord.cli.commands._shared import JsonOption, print_json, settings, stdout
from accord.services.audit import AuditLog, verify_proof_file

__all__ = ["app"]

app = typer.Typer(help="The node's tamper-evident audit log.", no_args_is_help=True)


def _log() -> AuditLog:
    current = settings()
    return AuditLog.open(database_url=current.resolved_database_url, home=current.home)


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
