"""``accord consent``, ``recall``, ``report-compromise``, ``reclassify`` and ``obligations``.

The obligations after release (GSOMIA Art.5, 6(g), 6(h)/13 and 17) as commands: an
originator grants consent to onward release, reclassifies and recalls its records; a
holder acknowledges recalls and reports a loss or compromise, then closes the report
with the investigation's result. Issuing needs ``$ACCORD_KEY_PASSPHRASE`` (each object
is signed); listing, export and import do not. Objects travel between nodes as signed
files: ``accord obligations export`` on one node, ``accord obligations import FILE
--from SIGNER_NODE_JSON`` on the other (``accord consent export/import`` for consents).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from accord.cli.commands._options import (
    ConsentRecordOption,
    ConsentTopicOption,
    DetailsOption,
    DetectedOption,
    DispositionOption,
    HolderOption,
    KindOption,
    OriginatorOption,
    RecallReasonOption,
    RecordArgument,
    ThirdPartyOption,
    ValidFromOption,
    ValidUntilOption,
)
from accord.cli.commands._shared import (
    JsonOption,
    WorldOption,
    new_table,
    open_cli_world,
    passphrase,
    print_json,
    settings,
    stdout,
)
from accord.errors import ValidationError
from accord.services.obligations import (
    ConsentRequest,
    Imported,
    Obligations,
    ObligationType,
    ReportRequest,
)

__all__ = ["app", "consent_app", "recall_app", "reclassify", "report_app"]

app = typer.Typer(
    help="Signed obligations as files between nodes: export, import, and a record's list.", no_args_is_help=True
)
consent_app = typer.Typer(help="Consent to onward release of this node's records (GSOMIA Art.5).", no_args_is_help=True)
recall_app = typer.Typer(help="Recall records (return or destroy) and acknowledge recalls.", no_args_is_help=True)
report_app = typer.Typer(help="Report a loss or compromise to the originator, then close it.", no_args_is_help=True)

OutOption = Annotated[Path, typer.Option("--out", metavar="FILE", help="Write the signed object file here.")]
SignerOption = Annotated[
    Path, typer.Option("--from", metavar="NODE_JSON", help="The signer's node.json (its public descriptor).")
]
TYPES = ", ".join(t.value for t in ObligationType)


def _service() -> Obligations:
    current = settings()
    return Obligations.open(
        database_url=current.resolved_database_url, home=current.home, unsafe_fast_kdf=current.unsafe_fast_kdf
    )


def _passphrase() -> str | None:
    """The passphrase for the service to unlock the node's keys with."""
    return passphrase(settings())


def _say(line: str) -> None:
    stdout().print(Text(line), soft_wrap=True)


# -- consent -------------------------------------------------------------------------------


@consent_app.command("grant")
def grant(
    holder: HolderOption,
    third_party: ThirdPartyOption,
    valid_from: ValidFromOption,
    valid_until: ValidUntilOption,
    record: ConsentRecordOption = None,
    topic: ConsentTopicOption = None,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Consent, as originator, to HOLDER passing a record (or a topic) on to THIRD_PARTY."""
    if (record is None) == (topic is None):
        msg = "give exactly one of --record ID or --topic TOPIC"
        raise ValidationError(msg)
    request = ConsentRequest(
        holder=holder,
        third_party=third_party,
        valid_from=valid_from,
        valid_until=valid_until,
        record_id=record,
        topic=topic,
    )
    loaded = open_cli_world(world)
    with _service() as service:
        consent = service.grant_consent(request, world=loaded.world, keys=_passphrase())
    if json_output:
        print_json(consent.to_dict())
        return
    what = f"record {consent.record_id}" if consent.record_id else f"records on {consent.topic}"
    _say(f"Granted consent {consent.id}: {consent.holder} may pass {what} to {consent.third_party}")
    _say(f"  valid {consent.valid_from} to {consent.valid_until}")
    _say(f"Next: accord consent export {consent.id} --out FILE")


@consent_app.command("list")
def list_consents(
    holder: Annotated[str | None, typer.Option("--holder", metavar="CODE", help="Only for this holder.")] = None,
    third_party: Annotated[
        str | None, typer.Option("--third-party", metavar="CODE", help="Only to this party.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List the consents this node holds (granted here or imported)."""
    with _service() as service:
        held = service.consents(holder=holder, third_party=third_party)
    if json_output:
        print_json({"consents": [c.value.to_dict() for c in held]})
        return
    table = new_table("Consents", ("id", "originator", "holder", "third party", "record or topic", "from", "until"))
    for signed in held:
        c = signed.value
        what = c.record_id or f"topic {c.topic}"
        table.add_row(c.id, c.originator, c.holder, c.third_party, what, str(c.valid_from), str(c.valid_until))
    stdout().print(table)


@consent_app.command("export")
def export_consent(consent_id: Annotated[str, typer.Argument(metavar="ID")], out: OutOption) -> None:
    """Write a consent as a signed object file for its holder."""
    _export(ObligationType.CONSENT, consent_id, out)


@consent_app.command("import")
def import_consent(
    path: Annotated[Path, typer.Argument(metavar="FILE")],
    signer: SignerOption,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Verify a consent file with the originator's node.json and keep it (once)."""
    _import(path, signer, world, json_output, expect=ObligationType.CONSENT)


# -- recall --------------------------------------------------------------------------------


@recall_app.command("issue")
def issue_recall(
    record: RecordArgument,
    disposition: DispositionOption,
    reason: RecallReasonOption = "",
    json_output: JsonOption = False,
) -> None:
    """Ask every holder of a record of this node to return or destroy it."""
    with _service() as service:
        recall = service.issue_recall(record, disposition=disposition, reason=reason, keys=_passphrase())
    if json_output:
        print_json(recall.to_dict())
        return
    _say(f"Issued recall {recall.id}: {recall.disposition} record {recall.record_id}")
    _say(f"Next: accord obligations export recall {recall.id} --out FILE (for each holder)")


@recall_app.command("acknowledge")
def acknowledge(
    recall_id: Annotated[str, typer.Argument(metavar="RECALL_ID")],
    done: Annotated[
        str | None, typer.Option("--done", help="What was done: return or destroy (default: what is asked).")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="How and by whom.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Acknowledge, as a holder, a recall imported here."""
    with _service() as service:
        ack = service.acknowledge_recall(recall_id, done=done, note=note, keys=_passphrase())
    if json_output:
        print_json(ack.to_dict())
        return
    _say(f"Acknowledged recall {ack.recall_id}: {ack.done} on {ack.on}")
    _say(f"Next: accord obligations export recall-acknowledgement {ack.recall_id} --out FILE")


@recall_app.command("list")
def list_recalls(
    record: Annotated[str | None, typer.Option("--record", metavar="ID", help="Only for this record.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="issued or acknowledged.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List the recalls this node holds, with who acknowledged them."""
    with _service() as service:
        held = service.recalls(record_id=record, state=state)
    if json_output:
        items = [
            {
                "recall": s.recall.value.to_dict(),
                "state": s.state.value,
                "acknowledgements": [a.value.to_dict() for a in s.acknowledgements],
            }
            for s in held
        ]
        print_json({"recalls": items})
        return
    table = new_table("Recalls", ("id", "record", "originator", "disposition", "issued", "state", "acknowledged by"))
    for s in held:
        r = s.recall.value
        by = ", ".join(f"{a.value.holder} ({a.value.on})" for a in s.acknowledgements)
        table.add_row(r.id, r.record_id, r.originator, r.disposition.value, str(r.issued_on), s.state.value, by)
    stdout().print(table)


# -- report-compromise ---------------------------------------------------------------------


@report_app.command("file")
def file_report(
    record: RecordArgument,
    kind: KindOption,
    details: DetailsOption,
    detected: DetectedOption = None,
    originator: OriginatorOption = None,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Report, as a holder, a loss or compromise of a record to its originator (at once)."""
    request = ReportRequest(record_id=record, kind=kind, details=details, detected_on=detected, originator=originator)
    loaded = open_cli_world(world)
    with _service() as service:
        report = service.report_compromise(request, world=loaded.world, keys=_passphrase())
    if json_output:
        print_json(report.to_dict())
        return
    _say(f"Filed report {report.id}: {report.kind} of {report.record_id}, to {report.originator}")
    _say(f"Next: accord obligations export compromise-report {report.id} --out FILE")


@report_app.command("close")
def close_report(
    report_id: Annotated[str, typer.Argument(metavar="REPORT_ID")],
    findings: Annotated[str, typer.Option("--findings", help="What the investigation found.")],
    measures: Annotated[str, typer.Option("--measures", help="What is done so it does not happen again.")],
    json_output: JsonOption = False,
) -> None:
    """Close, as the holder that filed it, a report with the investigation's result."""
    with _service() as service:
        result = service.close_report(report_id, findings=findings, measures=measures, keys=_passphrase())
    if json_output:
        print_json(result.to_dict())
        return
    _say(f"Closed report {result.report_id} on {result.closed_on}")
    _say(f"Next: accord obligations export investigation-result {result.report_id} --out FILE")


@report_app.command("list")
def list_reports(
    record: Annotated[str | None, typer.Option("--record", metavar="ID", help="Only for this record.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="open or closed.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List the compromise reports this node holds (made here or to it)."""
    with _service() as service:
        held = service.reports(record_id=record, state=state)
    if json_output:
        items = [
            {
                "report": s.report.value.to_dict(),
                "state": s.state.value,
                "result": s.result.value.to_dict() if s.result else None,
            }
            for s in held
        ]
        print_json({"reports": items})
        return
    table = new_table("Compromise reports", ("id", "record", "holder", "originator", "kind", "reported", "state"))
    for s in held:
        r = s.report.value
        table.add_row(r.id, r.record_id, r.holder, r.originator, r.kind.value, str(r.reported_on), s.state.value)
    stdout().print(table)


# -- reclassify ----------------------------------------------------------------------------


def _levels(specs: Sequence[str]) -> dict[str, str]:
    levels: dict[str, str] = {}
    for spec in specs:
        portion, sep, level = spec.partition("=")
        if not sep or not portion.strip() or not level.strip():
            msg = f"a portion is ID=LEVEL (e.g. 1=KOR/MIL-III), not {spec!r}"
            raise ValidationError(msg)
        if portion.strip() in levels:
            msg = f"portion {portion.strip()} is named twice"
            raise ValidationError(msg)
        levels[portion.strip()] = level.strip()
    return levels


def reclassify(
    record: RecordArgument,
    portion: Annotated[
        list[str], typer.Option("--portion", metavar="ID=LEVEL", help="A portion's new level (repeatable).")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (sent with the notice).")] = "",
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Re-mark portions of a record this node originated, and sign the notice for its holders."""
    levels = _levels(portion)
    loaded = open_cli_world(world)
    with _service() as service:
        notice = service.issue_reclassification(record, levels, world=loaded.world, reason=reason, keys=_passphrase())
    if json_output:
        print_json(notice.to_dict())
        return
    changes = ", ".join(f"{pid} -> {level}" for pid, level in notice.levels)
    _say(f"Reclassified {notice.record_id} ({changes}): notice {notice.id}")
    _say(f"Next: accord obligations export reclassification {notice.id} --record {notice.record_id} --out FILE")


# -- obligations ---------------------------------------------------------------------------


def _export(kind: str, key: str, out: Path, *, record: str | None = None, holder: str | None = None) -> None:
    with _service() as service:
        signed = service.export(kind, key, out=out, record_id=record, holder=holder)
    _say(f"Wrote {signed.type} {key} signed by {signed.signer} to {out}")


def _import(path: Path, signer: Path, world: Path | None, json_output: bool, *, expect: str | None = None) -> None:
    loaded = open_cli_world(world)
    with _service() as service:
        imported: Imported = service.import_file(path, signer=signer, world=loaded.world, expect=expect)
    if json_output:
        print_json({"type": imported.type.value, "new": imported.new, "value": imported.value.to_dict()})
        return
    if imported.new:
        _say(f"Imported {imported.type} from {path}")
    else:
        _say(f"Already held: {imported.type} from {path} (nothing changed)")


@app.command("export")
def export(
    kind: Annotated[str, typer.Argument(metavar="TYPE", help=f"One of {TYPES}.")],
    key: Annotated[
        str, typer.Argument(metavar="ID", help="Its id (an acknowledgement's recall id, a result's report id).")
    ],
    out: OutOption,
    record: Annotated[
        str | None, typer.Option("--record", metavar="ID", help="The record (for a reclassification).")
    ] = None,
    holder: Annotated[
        str | None, typer.Option("--holder", metavar="CODE", help="Whose acknowledgement (default: this node).")
    ] = None,
) -> None:
    """Write a consent, notice, recall, acknowledgement, report or result as a signed object file."""
    _export(kind, key, out, record=record, holder=holder)


@app.command("import")
def import_any(
    path: Annotated[Path, typer.Argument(metavar="FILE")],
    signer: SignerOption,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Verify a signed object file with its signer's node.json and keep it (once)."""
    _import(path, signer, world, json_output)


@app.command("list")
def list_for_record(record: RecordArgument, json_output: JsonOption = False) -> None:
    """Everything held about one record: consents, reclassifications (and its latest levels), recalls, reports."""
    with _service() as service:
        consents = [c.value for c in service.consents() if c.value.record_id == record]
        notices = [n.value for n in service.reclassifications(record)]
        levels = service.levels(record)
        recalls = service.recalls(record_id=record)
        reports = service.reports(record_id=record)
    if json_output:
        print_json(
            {
                "record": record,
                "consents": [c.to_dict() for c in consents],
                "reclassifications": [n.to_dict() for n in notices],
                "levels": levels,
                "recalls": [{"recall": s.recall.value.to_dict(), "state": s.state.value} for s in recalls],
                "reports": [{"report": s.report.value.to_dict(), "state": s.state.value} for s in reports],
            }
        )
        return
    table = new_table(f"Obligations about {record}", ("type", "id", "from", "what", "state"), wrap=("what",))
    for c in consents:
        table.add_row(
            "consent", c.id, c.originator, f"{c.holder} -> {c.third_party} {c.valid_from}..{c.valid_until}", ""
        )
    for n in notices:
        table.add_row("reclassification", n.id, n.originator, ", ".join(f"{p}={lv}" for p, lv in n.levels), "")
    for r in recalls:
        recall = r.recall.value
        table.add_row("recall", recall.id, recall.originator, recall.disposition.value, r.state.value)
    for p in reports:
        report = p.report.value
        table.add_row("report", report.id, report.holder, report.kind.value, p.state.value)
    stdout().print(table)
    if levels:
        _say("Latest levels: " + ", ".join(f"{p}={lv}" for p, lv in sorted(levels.items())))
