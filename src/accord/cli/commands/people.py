"""``accord people`` and ``accord tokens``: the node's people, their roles and clearances, and API tokens.

The first administrator is made with ``accord people bootstrap`` (or ``add --first``)
while the node has no people. Every other command acts as the person whose API token
is in ``$ACCORD_TOKEN``; ``accord tokens issue --person ID`` makes one from that
person's password and prints it once. Passwords are read from a prompt (twice, for a
new one) or, for scripts, from ``$ACCORD_PERSON_PASSWORD`` (the new or the login
password) and ``$ACCORD_CURRENT_PASSWORD`` (changing one's own); never from options,
which other users of the machine can see in the process list.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.text import Text

from accord.cli.commands._shared import JsonOption, WorldOption, new_table, open_cli_world, print_json, stdout
from accord.config import Settings
from accord.errors import ValidationError
from accord.services.node import utc_now
from accord.services.people import People, PersonDraft, PersonView, Principal, TokenView

__all__ = ["app", "tokens_app"]

app = typer.Typer(help="The node's people: accounts, roles, clearance and need-to-know.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for scripts and the CLI (shown once, stored hashed).", no_args_is_help=True)

IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The person's id, e.g. kim.")]
RoleOption = Annotated[
    list[str] | None,
    typer.Option(
        "--role",
        metavar="ROLE",
        help="analyst, disclosure-officer, logistics-officer, security-officer or administrator (repeatable).",
    ),
]
TopicOption = Annotated[list[str] | None, typer.Option("--topic", help="A need-to-know topic (repeatable).")]


class _Secrets(Settings):
    """The secrets these commands read from the environment (``ACCORD_*``), never from options."""

    token: SecretStr | None = None  # ACCORD_TOKEN: who is acting
    person_password: SecretStr | None = None  # ACCORD_PERSON_PASSWORD: a new or login password
    current_password: SecretStr | None = None  # ACCORD_CURRENT_PASSWORD: changing one's own


def _people(current: Settings) -> People:
    return People.open(database_url=current.resolved_database_url, home=current.home)


def _acting(people: People, secrets: _Secrets) -> Principal:
    if secrets.token is None:
        msg = "no API token: these commands act as the person whose token is in ACCORD_TOKEN"
        raise ValidationError(msg, hint="issue one with `accord tokens issue --person ID` and export it")
    return people.authenticate_token(secrets.token.get_secret_value())


def _new_password(secret: SecretStr | None, person_id: str) -> str:
    if secret is not None:
        return secret.get_secret_value()
    return str(typer.prompt(f"New password for {person_id}", hide_input=True, confirmation_prompt=True))


def _login_password(secret: SecretStr | None, prompt: str) -> str:
    if secret is not None:
        return secret.get_secret_value()
    return str(typer.prompt(prompt, hide_input=True))


def _print_person(view: PersonView, json_output: bool) -> None:
    if json_output:
        print_json(view.to_dict())
        return
    data = view.to_dict()
    console = stdout()
    console.print(Text(f"{data['id']}: {data['name'] or '(no name)'} of {data['party']}"), soft_wrap=True)
    for label in ("clearance", "roles", "need_to_know", "locked", "locked_out_until", "has_password"):
        value = data[label]
        shown = ", ".join(value) if isinstance(value, list) else value
        console.print(Text(f"  {label.replace('_', ' ')}: {shown or '-'}"), soft_wrap=True)


@app.command("bootstrap")
def bootstrap(
    person_id: Annotated[str, typer.Option("--id", metavar="ID", help="The first administrator's id.")],
    name: Annotated[str, typer.Option("--name", help="Their display name.")] = "",
    role: RoleOption = None,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Make the node's first person, an administrator, while it has no people."""
    secrets = _Secrets()
    loaded = open_cli_world(world)
    password = _new_password(secrets.person_password, person_id)
    with _people(secrets) as people:
        draft = PersonDraft(id=person_id, name=name, roles=tuple(role or ()))
        person = people.bootstrap(draft, password=password, world=loaded.world)
    if json_output:
        print_json({"id": person.id, "roles": sorted(r.value for r in person.roles)})
        return
    stdout().print(Text(f"Made {person.id}, the node's first administrator"), soft_wrap=True)
    stdout().print(Text(f"Next: accord tokens issue --person {person.id}"), soft_wrap=True)


@app.command("add")
def add(
    person_id: IdArgument,
    name: Annotated[str, typer.Option("--name", help="Their display name.")] = "",
    clearance: Annotated[
        str | None, typer.Option("--clearance", metavar="LEVEL", help="A level of the node's scheme, e.g. KOR/MIL-II.")
    ] = None,
    topic: TopicOption = None,
    role: RoleOption = None,
    first: Annotated[bool, typer.Option("--first", help="Bootstrap: the node's first administrator.")] = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="Set no password now (no login).")] = False,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add a person (security officer or administrator); --first makes the first administrator."""
    if first:
        if clearance or topic:
            msg = "--first makes an administrator only; give the clearance and topics afterwards"
            raise ValidationError(msg)
        bootstrap(person_id=person_id, name=name, role=role, world=world, json_output=json_output)
        return
    secrets = _Secrets()
    loaded = open_cli_world(world)
    with _people(secrets) as people:
        actor = _acting(people, secrets)
        password = None if no_password else _new_password(secrets.person_password, person_id)
        draft = PersonDraft(
            id=person_id, name=name, clearance=clearance, need_to_know=tuple(topic or ()), roles=tuple(role or ())
        )
        people.add(actor, draft, world=loaded.world, password=password)
        view = people.get(actor, person_id.strip())
    if json_output:
        print_json(view.to_dict())
        return
    stdout().print(Text(f"Added {view.person.id}"), soft_wrap=True)


@app.command("list")
def list_people(
    after: Annotated[str | None, typer.Option("--after", metavar="ID", help="Start after this id.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many people.")] = 50,
    json_output: JsonOption = False,
) -> None:
    """List the node's people by id (security officer or administrator)."""
    secrets = _Secrets()
    with _people(secrets) as people:
        page = people.list(_acting(people, secrets), after=after, limit=limit)
    if json_output:
        print_json({"people": [v.to_dict() for v in page.items], "next": page.next_cursor})
        return
    table = new_table("People", ("id", "roles", "clearance", "state", "name"), wrap=("name", "roles"))
    for view in page.items:
        p = view.person
        state = "locked" if view.locked else ("locked out" if view.locked_out_until else "active")
        table.add_row(p.id, ", ".join(sorted(r.value for r in p.roles)), p.clearance or "-", state, p.name)
    console = stdout()
    console.print(table)
    if page.next_cursor:
        console.print(Text(f"More: accord people list --after {page.next_cursor}"), soft_wrap=True)


@app.command("show")
def show(
    person_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="Default: yourself.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show a person (yourself by default; others need people.read)."""
    secrets = _Secrets()
    with _people(secrets) as people:
        view = people.get(_acting(people, secrets), person_id)
    _print_person(view, json_output)


@app.command("set-roles")
def set_roles(
    person_id: IdArgument,
    role: RoleOption = None,
    none: Annotated[bool, typer.Option("--none", help="Remove every role.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Replace a person's roles (audited; never your own)."""
    if not role and not none:
        msg = "give the new roles with --role (repeatable), or --none to remove them all"
        raise ValidationError(msg)
    secrets = _Secrets()
    with _people(secrets) as people:
        actor = _acting(people, secrets)
        people.set_roles(actor, person_id, () if none else tuple(role or ()))
        view = people.get(actor, person_id)
    _print_person(view, json_output)


@app.command("set-clearance")
def set_clearance(
    person_id: IdArgument,
    level: Annotated[str | None, typer.Argument(metavar="[LEVEL]", help="e.g. KOR/MIL-II")] = None,
    none: Annotated[bool, typer.Option("--none", help="Withdraw the clearance.")] = False,
    world: WorldOption = None,
    json_output: JsonOption = False,
) -> None:
    """Grant a clearance (a level of the node's scheme in use today) or withdraw it with --none."""
    if (level is None) == (not none):
        msg = "give a LEVEL, or --none to withdraw the clearance"
        raise ValidationError(msg)
    secrets = _Secrets()
    loaded = open_cli_world(world)
    with _people(secrets) as people:
        actor = _acting(people, secrets)
        people.set_clearance(actor, person_id, level, world=loaded.world)
        view = people.get(actor, person_id)
    _print_person(view, json_output)


@app.command("set-need-to-know")
def set_need_to_know(
    person_id: IdArgument,
    topic: TopicOption = None,
    none: Annotated[bool, typer.Option("--none", help="Remove every topic.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Replace a person's need-to-know topics (audited by count, not by name)."""
    if not topic and not none:
        msg = "give the topics with --topic (repeatable), or --none to remove them all"
        raise ValidationError(msg)
    secrets = _Secrets()
    with _people(secrets) as people:
        actor = _acting(people, secrets)
        people.set_need_to_know(actor, person_id, () if none else tuple(topic or ()))
        view = people.get(actor, person_id)
    _print_person(view, json_output)


@app.command("passwd")
def passwd(person_id: IdArgument) -> None:
    """Set a password: your own (asks for the current one) or another's (security officer or administrator).

    Ends the person's web sessions.
    """
    secrets = _Secrets()
    with _people(secrets) as people:
        actor = _acting(people, secrets)
        current = None
        if actor.person.id == person_id:
            current = _login_password(secrets.current_password, f"Current password for {person_id}")
        password = _new_password(secrets.person_password, person_id)
        people.set_password(actor, person_id, password, current_password=current)
    stdout().print(Text(f"Password of {person_id} set"), soft_wrap=True)


def _lock(person_id: str, *, locked: bool, json_output: bool) -> None:
    secrets = _Secrets()
    with _people(secrets) as people:
        actor = _acting(people, secrets)
        view = (people.lock if locked else people.unlock)(actor, person_id)
    if json_output:
        print_json(view.to_dict())
        return
    stdout().print(Text(f"{'Locked' if locked else 'Unlocked'} {person_id}"), soft_wrap=True)


@app.command("lock")
def lock(person_id: IdArgument, json_output: JsonOption = False) -> None:
    """Lock a person out of every password, token and session until unlocked (ends their sessions)."""
    _lock(person_id, locked=True, json_output=json_output)


@app.command("unlock")
def unlock(person_id: IdArgument, json_output: JsonOption = False) -> None:
    """Unlock a person, also clearing failed logins and any lock-out."""
    _lock(person_id, locked=False, json_output=json_output)


# -- tokens -----------------------------------------------------------------------------


@tokens_app.command("issue")
def issue(
    person_id: Annotated[str, typer.Option("--person", metavar="ID", help="Whose token: you, by your password.")],
    name: Annotated[str, typer.Option("--name", help="What it is for.")] = "cli",
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", metavar="ACTION", help="Limit it to an action, e.g. record.read (repeatable)."),
    ] = None,
    days: Annotated[int, typer.Option("--days", help="Days until it expires (at most 366).")] = 90,
    json_output: JsonOption = False,
) -> None:
    """Issue an API token after your password; it is printed once and never stored."""
    secrets = _Secrets()
    password = _login_password(secrets.person_password, f"Password for {person_id}")
    with _people(secrets) as people:
        principal = people.authenticate_password(person_id, password)
        issued = people.issue_token(principal, name=name, scopes=scope, lifetime=dt.timedelta(days=days))
    if json_output:
        print_json({"token": issued.token} | issued.view.to_dict(utc_now()))
        return
    console = stdout()
    console.print(Text(issued.token), soft_wrap=True)
    typer.echo(
        f"token {issued.view.id} for {person_id}, expires {issued.view.expires_at}; "
        "it is shown only now: keep it in ACCORD_TOKEN or a secret store",
        err=True,
    )


@tokens_app.command("list")
def list_tokens(
    person_id: Annotated[str | None, typer.Option("--person", metavar="ID", help="Another's (tokens.manage).")] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Everyone's tokens (tokens.manage).")] = False,
    json_output: JsonOption = False,
) -> None:
    """List API tokens (yours by default): id, name, scopes, expiry and status; never the secret."""
    secrets = _Secrets()
    with _people(secrets) as people:
        found = people.list_tokens(_acting(people, secrets), person_id="*" if everyone else person_id)
    now = utc_now()
    if json_output:
        print_json({"tokens": [t.to_dict(now) for t in found]})
        return
    table = new_table("API tokens", ("id", "person", "status", "expires", "scopes", "name"), wrap=("scopes", "name"))
    for token in found:
        scopes = "all" if token.scopes is None else ", ".join(sorted(token.scopes))
        table.add_row(token.id, token.person_id, token.status(now), token.expires_at, scopes, token.name)
    stdout().print(table)


@tokens_app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="The token's id (from `accord tokens list`).")],
    json_output: JsonOption = False,
) -> None:
    """Revoke an API token: yours, or anyone's with tokens.manage."""
    secrets = _Secrets()
    with _people(secrets) as people:
        view: TokenView = people.revoke_token(_acting(people, secrets), token_id)
    if json_output:
        print_json(view.to_dict(utc_now()))
        return
    stdout().print(Text(f"Revoked token {view.id} of {view.person_id}"), soft_wrap=True)
