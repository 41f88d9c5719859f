"""``accord disclosures``: ask for a release, consent, recall or report; approve, reject, withdraw.

Every command acts as the person whose API token is in ``$ACCORD_TOKEN`` (see
``accord tokens issue``). An analyst asks (``request release|consent|recall|report``)
and sees the live decision with its reasons; a disclosure officer who neither asked
nor wrote the record approves (``approve ID``: the release is sealed, or the
obligation signed, which needs ``$ACCORD_KEY_PASSPHRASE``) or rejects it with a
reason; the requester may withdraw it. ``approve`` exits 1 when the release is now
denied (the request stays pending). The direct commands (``records release``,
``consent grant``, ``recall issue``, ``report-compromise file``) stay the operator's path.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
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
    EXIT_DENIED,
    JsonOption,
    OnOption,
    WorldOption,
    new_table,
    open_cli_world,
    passphrase,
    print_json,
    settings,
    stdout,
    unlock,
)
from accord.config import Settings
from accord.errors import ValidationError
from accord.services.decisions import parse_date
from accord.services.disclosures import DisclosureDeniedError, Disclosures, DisclosureView
from accord.services.node import UnlockedNode, read_identity_file
from accord.services.people import Action, People, Person, Principal
from accord.services.releases import write_message_file

__all__ = ["app", "record_author", "request_app"]

app = typer.Typer(
    help="Disclosure requests: an analyst asks, another officer approves or rejects.", no_args_is_help=True
)
request_app = typer.Typer(help="Ask for a release, consent, recall or compromise report.", no_args_is_help=True)
app.add_typer(request_app, name="request")

IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The request's id (dr-...).")]


class _Token(Settings):
    """Who is acting: ``$ACCORD_TOKEN``, read from the environment, never from an option."""

    token: SecretStr | None = None


def _people() -> People:
    current = settings()
    return People.open(database_url=current.resolved_database_url, home=current.home)


def _service() -> Disclosures:
    current = settings()
    return Disclosures.open(database_url=current.resolved_database_url, home=current.home)


def _acting() -> Principal:
    token = _Token().token
    if token is None:
        msg = "no API token: disclosure commands act as the person whose token is in ACCORD_TOKEN"
        raise ValidationError(msg, hint="issue one with `accord tokens issue --person ID` and export it")
    with _people() as people:
        return people.authenticate_token(token.get_secret_value())


def _keys() -> UnlockedNode | None:
    """The node's keys when ``$ACCORD_KEY_PASSPHRASE`` is set: requests about received records then show."""
    current = settings()
    if current.key_passphrase is None:
        return None
    return unlock(current.home, current.key_passphrase.get_secret_value())


def record_author() -> Person | None:
    """The person writing a record: the one whose token is in ``$ACCORD_TOKEN`` (record.create), or none."""
    if _Token().token is None:
        return None
    principal = _acting()
    People.authorize(principal, Action.RECORD_CREATE)
    return principal.person


def _say(line: str) -> None:
    stdout().print(Text(line), soft_wrap=True)


def _print(view: DisclosureView, json_output: bool) -> None:
    if json_output:
        print_json(view.to_dict())
        return
    r = view.request
    subject = r.record_id or f"topic {r.detail('topic')}"
    _say(f"{r.id}: {r.kind} of {subject}{f' to {r.party}' if r.party else ''} - {r.state}")
    _say(f"  asked by {r.requester} at {r.requested_at.isoformat()}")
    if r.on is not None:
        _say(f"  decided for {r.on}")
    for name, value in r.details:
        _say(f"  {name.replace('_', ' ')}: {value}")
    if r.decider is not None and r.decided_at is not None:
        _say(f"  {r.state} by {r.decider} at {r.decided_at.isoformat()}{f': {r.reason}' if r.reason else ''}")
    if r.outcome:
        _say(f"  made {r.outcome}")
    decision = view.decision
    if decision is not None:
        if decision:
            _say(f"  live decision: ALLOWED via {' > '.join(decision.route)}")
            if decision.label is not None:
                _say(f"    marked: {decision.label.text()}")
        else:
            _say("  live decision: DENIED")
            for reason in decision.reasons:
                _say(f"    - {reason}")


def _ask(
    json_output: bool,
    world: Path | None,
    kind: str,
    *,
    record_id: str | None,
    party: str | None = None,
    on: dt.date | None = None,
    details: dict[str, str] | None = None,
) -> None:
    loaded = open_cli_world(world)
    principal = _acting()
    with _service() as service:
        view = service.request(
            principal, kind, world=loaded.world, record_id=record_id, party=party, on=on, details=details, node=_keys()
        )
    _print(view, json_output)
    if not json_output:
        _say(f"Next: a disclosure officer runs accord disclosures approve {view.request.id}")


# -- asking ----------------------------------------------------------------------------


@request_app.command("release")
def request_release(
    record: RecordArgument,
    to: Annotated[str, typer.Option("--to", metavar="PARTY", help="The party to release to.")],
    on: OnOption = None,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Ask for a record of this node to be released to PARTY (decided as of --on, or the day approved)."""
    date = parse_date(on, field="--on") if on else None
    _ask(json_output, world, "release", record_id=record, party=to, on=date)


@request_app.command("consent")
def request_consent(
    holder: HolderOption,
    third_party: ThirdPartyOption,
    valid_from: ValidFromOption,
    valid_until: ValidUntilOption,
    record: ConsentRecordOption = None,
    topic: ConsentTopicOption = None,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Ask for consent to HOLDER passing a record (or a topic) on to THIRD_PARTY."""
    if (record is None) == (topic is None):
        msg = "give exactly one of --record ID or --topic TOPIC"
        raise ValidationError(msg)
    details = {"holder": holder, "valid_from": valid_from, "valid_until": valid_until}
    if topic is not None:
        details["topic"] = topic
    _ask(json_output, world, "consent", record_id=record, party=third_party, details=details)


@request_app.command("recall")
def request_recall(
    record: RecordArgument,
    disposition: DispositionOption,
    reason: RecallReasonOption = "",
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Ask for every holder of a record of this node to return or destroy it."""
    _ask(json_output, world, "recall", record_id=record, details={"disposition": disposition, "reason": reason})


@request_app.command("report")
def request_report(
    record: RecordArgument,
    kind: KindOption,
    details: DetailsOption,
    detected: DetectedOption = None,
    originator: OriginatorOption = None,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Ask for a loss or compromise of a record to be reported to its originator."""
    fields = {"kind": kind, "details": details} | ({"detected_on": detected} if detected else {})
    _ask(json_output, world, "compromise-report", record_id=record, party=originator, details=fields)


# -- reading ---------------------------------------------------------------------------


@app.command("list")
def list_requests(
    state: Annotated[str | None, typer.Option("--state", help="pending, approved, rejected or withdrawn.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="release, consent, recall or compromise-report.")] = None,
    after: Annotated[str | None, typer.Option("--after", metavar="ID", help="Start after this request.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many requests.")] = 50,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the requests you may see, in the order asked, with the live decision of pending releases."""
    loaded = open_cli_world(world)
    principal = _acting()
    with _service() as service:
        page = service.list(
            principal, world=loaded.world, state=state, kind=kind, after=after, limit=limit, node=_keys()
        )
    if json_output:
        print_json({"requests": [v.to_dict() for v in page.items], "next": page.next_cursor})
        return
    table = new_table("Disclosure requests", ("id", "kind", "record", "party", "state", "by", "live decision"))
    for view in page.items:
        r = view.request
        live = "-" if view.decision is None else ("allowed" if view.decision else "denied")
        table.add_row(r.id, r.kind.value, r.record_id or "-", r.party or "-", r.state.value, r.requester, live)
    stdout().print(table)
    if page.next_cursor:
        _say(f"More: accord disclosures list --after {page.next_cursor}")


@app.command("show")
def show(request_id: IdArgument, world: WorldOption = None, json_output: JsonOption = False) -> None:
    """Show a request, its decision, and for a pending release the live decision and every reason."""
    loaded = open_cli_world(world)
    principal = _acting()
    with _service() as service:
        view = service.get(principal, request_id, world=loaded.world, node=_keys())
    _print(view, json_output)


# -- deciding --------------------------------------------------------------------------


@app.command("approve")
def approve(
    request_id: IdArgument,
    keys: Annotated[
        list[Path] | None,
        typer.Option(
            "--keys", metavar="NODE_JSON", help="A release: node.json of the route's first node (repeatable)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE", help="A release: write the message.")] = None,
    note: Annotated[str, typer.Option("--note", help="A note kept with the approval.")] = "",
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Approve a request (not your own, not about your record) and carry it out, once."""
    if out is not None and out.exists():
        msg = f"{out} exists; refusing to overwrite it"
        raise ValidationError(msg, hint="choose another --out path")
    hops = {identity.party: identity.public for identity in (read_identity_file(k) for k in keys or ())}
    loaded = open_cli_world(world)
    principal = _acting()
    current = settings()
    node = unlock(current.home, passphrase(current))
    with _service() as service:
        try:
            approval = service.approve(principal, request_id, world=loaded.world, node=node, next_hops=hops, note=note)
        except DisclosureDeniedError as denied:
            if json_output:
                print_json({"denied": denied.message, "decision": denied.decision.to_dict()})
            else:
                _say(f"DENIED: {denied.message}")
            raise typer.Exit(EXIT_DENIED) from None
    release = approval.release
    if release is not None and release.message is not None and out is not None:
        write_message_file(out, release.message, release.attachments)
    if json_output:
        print_json(approval.to_dict() | {"out": str(out) if out else None})
        return
    _say(f"Approved {approval.request.id}: made {approval.request.outcome}")
    if release is not None and release.release is not None:
        _say(f"  sealed release {release.release.id} via {' > '.join(release.decision.route)}")
        if out is not None:
            _say(f"  message written to {out}")


@app.command("reject")
def reject(
    request_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why; shown to the requester.")],
    json_output: JsonOption = False,
) -> None:
    """Reject a request with a reason (not your own, not about your record)."""
    principal = _acting()
    with _service() as service:
        decided = service.reject(principal, request_id, reason)
    if json_output:
        print_json(decided.to_dict())
        return
    _say(f"Rejected {decided.id}: {decided.reason}")


@app.command("withdraw")
def withdraw(
    request_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (optional).")] = "",
    json_output: JsonOption = False,
) -> None:
    """Withdraw a request you made, while it is pending."""
    principal = _acting()
    with _service() as service:
        decided = service.withdraw(principal, request_id, reason=reason)
    if json_output:
        print_json(decided.to_dict())
        return
    _say(f"Withdrew {decided.id}")
