"""``accord records ... --server URL``: the same commands on a real ``accord serve``, printing the same.

A KOR node is made by ``accord init``, its people and API tokens by ``accord people`` and
``accord tokens``; ``accord serve`` (``tests.api.test_serve.Server``) serves it on a free
loopback port. Each command then runs twice through the real entry point: on the node's
home, and with ``--server`` from a process that has no home, passphrase or database;
the outputs are compared, JSON and tables. The person is the token's holder on the
server and ``--person ...`` locally; the tests pick the same person both ways.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.api.test_serve import Server, free_port, self_signed
from tests.cli.conftest import SCRIPT, Result

PASSPHRASE = "server test passphrase"  # noqa: S105 - test secrets
ADMIN_PASSWORD = "admin password words"  # noqa: S105
PASSWORD = "a person's password"  # noqa: S105
READER = ("--person", "kim", "--nationality", "KOR", "--clearance", "KOR/MIL-II", "--need-to-know", "dprk-missile")
# id -> roles, clearance, need-to-know
PEOPLE = {
    "kim": ("analyst", "KOR/MIL-II", "dprk-missile"),
    "lee": ("disclosure-officer", "KOR/MIL-II", "dprk-missile"),
    "low": ("analyst", "KOR/MIL-III", "dprk-missile"),
}


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update(ACCORD_HOME=str(home), COLUMNS="200", PYTHONIOENCODING="utf-8", NO_COLOR="1", **extra)
    return env


def run(env: dict[str, str], *args: str) -> Result:
    done = subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, encoding="utf-8", timeout=180, check=False
    )
    return Result(done.returncode, done.stdout, done.stderr)


def ok(result: Result) -> Result:
    assert result.code == 0, result.err
    return result


class Node:
    """A node home made by the CLI, its people's tokens, and ``accord serve`` on it."""

    def __init__(self, root: Path, party: str = "KOR", database_url: str | None = None) -> None:
        self.home = root / party.lower()
        extra = {"ACCORD_KEY_PASSPHRASE": PASSPHRASE}
        if database_url:
            extra["ACCORD_DATABASE_URL"] = database_url
        self.env = base_env(self.home, **extra)
        self.nowhere = root / "no-home-here"  # the remote side's ACCORD_HOME: never created
        self.tokens: dict[str, str] = {}
        self.token_ids: dict[str, str] = {}
        ok(self.local("init", "--party", party))
        self.server: Server | None = None

    def local(self, *args: str, **extra: str) -> Result:
        return run({**self.env, **extra}, *args)

    def remote(self, who: str, *args: str, **extra: str) -> Result:
        assert self.server is not None
        env = base_env(self.nowhere, ACCORD_TOKEN=self.tokens[who], **extra)
        return run(env, *args, "--server", self.server.base)

    def add_people(self, people: dict[str, tuple[str, str, str]]) -> None:
        ok(self.local("people", "bootstrap", "--id", "admin", "--name", "Admin", ACCORD_PERSON_PASSWORD=ADMIN_PASSWORD))
        admin = ok(self.local("tokens", "issue", "--person", "admin", "--json", ACCORD_PERSON_PASSWORD=ADMIN_PASSWORD))
        admin_token = admin.json()["token"]
        for person_id, (role, clearance, topic) in people.items():
            ok(
                self.local(
                    "people", "add", person_id, "--role", role, "--clearance", clearance, "--topic", topic,
                    ACCORD_TOKEN=admin_token, ACCORD_PERSON_PASSWORD=PASSWORD,
                )
            )  # fmt: skip
            issued = ok(self.local("tokens", "issue", "--person", person_id, "--json", ACCORD_PERSON_PASSWORD=PASSWORD))
            self.tokens[person_id] = issued.json()["token"]
            self.token_ids[person_id] = issued.json()["id"]
        self.tokens["admin"] = admin_token

    def serve(self, *args: str, scheme: str = "http", verify: object = True) -> Server:
        env = {**self.env, "ACCORD_DELIVER": "0"}
        return Server(env, *args, scheme=scheme, verify=verify)


def create_args(title: str, *portions: str) -> list[str]:
    args = ["records", "create", "--title", title, "--topic", "dprk-missile", "--json"]
    for portion in portions:
        args += ["--portion", portion]
    return args


@pytest.fixture(scope="module")
def kor(tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    node = Node(root)
    node.add_people(PEOPLE)
    node.jpn = Node(root, "JPN")  # type: ignore[attr-defined]
    node.server = node.serve()
    yield node
    node.server.stop()
    assert not node.nowhere.exists()  # nothing with --server touched a local home


def same(local: Result, remote: Result) -> None:
    """Same exit status, same stdout (JSON or tables)."""
    assert (local.code, local.out) == (remote.code, remote.out), (local.err, remote.err)


def test_records_create_list_show_print_the_same(kor):
    local = ok(kor.local(*create_args("DPRK launch", "KOR/MIL-II:JPN:launch at 05:10", "KOR/MIL-III::our source")))
    remote = ok(
        kor.remote("kim", *create_args("DPRK launch", "KOR/MIL-II:JPN:launch at 05:10", "KOR/MIL-III::our source"))
    )
    assert local.json()["portions"] == remote.json()["portions"] == 2
    assert local.json()["id"] != remote.json()["id"]
    for args in (("records", "list", "--json"), ("records", "list"), ("records", "list", "--limit", "1", "--json")):
        same(kor.local(*args), kor.remote("kim", *args))
    first = kor.local("records", "list", "--limit", "1", "--json").json()
    assert first["next"] == first["records"][0]["id"]
    after = ("records", "list", "--after", first["next"], "--json")
    same(kor.local(*after), kor.remote("kim", *after))
    record_id = remote.json()["id"]
    for flags in (("--json",), (), ("--bodies", "--json"), ("--bodies",)):
        shown_local = kor.local("records", "show", record_id, *flags)
        same(shown_local, kor.remote("kim", "records", "show", record_id, *flags))
    body = kor.remote("kim", "records", "show", record_id, "--bodies", "--json").json()
    assert body["author"] == "kim"
    assert [p["text"] for p in body["portions"]] == ["launch at 05:10", "our source"]


def test_release_sent_and_denial_print_the_same_and_the_message_is_delivered(kor, tmp_path):
    record_id = ok(kor.local(*create_args("For JPN", "KOR/MIL-II:JPN:radar picture"))).json()["id"]
    keys = str(kor.jpn.home / "node.json")
    args = ("records", "release", record_id, "--to", "JPN", "--keys", keys, "--on", "2017-01-01", "--json")
    local = ok(kor.local(*args, "--out", str(tmp_path / "local.msg"))).json()
    remote = ok(kor.remote("lee", *args, "--out", str(tmp_path / "remote.msg"))).json()
    for outcome in (local, remote):
        del outcome["release"]["id"], outcome["release"]["message_id"], outcome["out"]
    assert local == remote
    assert remote["decision"]["allowed"] is True
    received = kor.jpn.local("records", "receive", str(tmp_path / "remote.msg"), "--from", str(kor.home / "node.json"))
    assert ok(received).out.startswith("Received release")
    for listing in (("records", "sent", "--json"), ("records", "sent")):
        same(kor.local(*listing), kor.remote("lee", *listing))
    denied = ("records", "release", record_id, "--to", "JPN", "--keys", keys, "--on", "2005-01-01")
    same(kor.local(*denied, "--json"), kor.remote("lee", *denied, "--json"))
    same(kor.local(*denied), kor.remote("lee", *denied))
    assert kor.remote("lee", *denied).code == 1


def test_inbox_and_open_print_the_same_for_the_tokens_holder(kor, tmp_path):
    jpn = kor.jpn
    jpn_record = ok(jpn.local(*create_args("JPN warning", "JPN/GOKUHI:KOR:radar track from the JPN side"))).json()
    message = tmp_path / "to-kor.msg"
    ok(
        jpn.local(
            "records", "release", jpn_record["id"], "--to", "KOR", "--keys", str(kor.home / "node.json"),
            "--on", "2024-01-01", "--out", str(message),
        )
    )  # fmt: skip
    release_id = ok(kor.local("records", "receive", str(message), "--from", str(jpn.home / "node.json"), "--json"))
    release_id = release_id.json()["release_id"]
    for listing in (("records", "inbox", "--json"), ("records", "inbox")):
        same(kor.local(*listing), kor.remote("kim", *listing))
    for flags in (("--json",), ()):
        same(
            kor.local("records", "open", release_id, *READER, *flags),
            kor.remote("kim", "records", "open", release_id, *flags),
        )
    opened = kor.remote("kim", "records", "open", release_id, "--json").json()
    assert opened["portions"][0]["text"] == "radar track from the JPN side"
    # Someone not cleared for it: exactly as a release that does not exist, and not listed.
    hidden = kor.remote("low", "records", "open", release_id)
    missing = kor.remote("low", "records", "open", "rel-does-not-exist")
    assert hidden.code == missing.code == 2
    assert hidden.err.replace(release_id, "ID") == missing.err.replace("rel-does-not-exist", "ID")
    assert kor.remote("low", "records", "inbox", "--json").json() == {"releases": []}
    refused = kor.remote("kim", "records", "open", release_id, *READER)
    assert refused.code == 2
    assert "token's holder" in refused.err


def test_a_record_the_holder_may_not_see_answers_like_a_missing_one(kor):
    secret = ok(kor.local(*create_args("Sohae window", "KOR/MIL-II:JPN:launch window"))).json()["id"]
    hidden = kor.remote("low", "records", "show", secret, "--bodies")
    missing = kor.remote("low", "records", "show", "KOR-nope", "--bodies")
    assert hidden.code == missing.code == 2
    assert hidden.err.replace(secret, "ID") == missing.err.replace("KOR-nope", "ID")
    assert "Sohae" not in hidden.err
    listed = kor.remote("low", "records", "list", "--json").json()["records"]
    assert secret not in {r["id"] for r in listed}


def test_refusals_say_what_to_check_and_change_nothing(kor, tmp_path):
    record_id = ok(kor.local(*create_args("Not for analysts", "KOR/MIL-III:JPN:note"))).json()["id"]
    keys = str(kor.jpn.home / "node.json")
    sent_before = kor.local("records", "sent", "--json").json()
    # A role that may not release.
    refused = kor.remote("kim", "records", "release", record_id, "--to", "JPN", "--keys", keys, "--on", "2017-01-01")
    assert refused.code == 2
    assert refused.err.startswith("error: ")
    assert "release.approve" in refused.err
    assert kor.local("records", "sent", "--json").json() == sent_before
    # A wrong token, and a revoked one: the same opaque refusal, with what to check, and no token shown.
    env = base_env(kor.nowhere, ACCORD_TOKEN="accord_0123456789abcdef_wrongsecret")  # noqa: S106 - not one
    wrong = run(env, "records", "list", "--server", kor.server.base)
    assert wrong.code == 2
    assert "ACCORD_TOKEN" in wrong.err
    assert "wrongsecret" not in wrong.err
    admin = {"ACCORD_TOKEN": kor.tokens["admin"]}
    issued = ok(kor.local("tokens", "issue", "--person", "low", "--json", ACCORD_PERSON_PASSWORD=PASSWORD)).json()
    token_file = tmp_path / "token"
    token_file.write_text(issued["token"] + "\n", encoding="utf-8")
    by_file = run(
        base_env(kor.nowhere), "records", "list", "--server", kor.server.base, "--token-file", str(token_file)
    )
    assert by_file.code == 0, by_file.err
    ok(kor.local("tokens", "revoke", issued["id"], **admin))
    revoked = run(
        base_env(kor.nowhere), "records", "list", "--server", kor.server.base, "--token-file", str(token_file)
    )
    assert (revoked.code, revoked.err) == (wrong.code, wrong.err)
    assert issued["token"] not in revoked.err
    expiring = ok(kor.local("tokens", "issue", "--person", "low", "--json", ACCORD_PERSON_PASSWORD=PASSWORD)).json()
    with contextlib.closing(sqlite3.connect(kor.home / "accord.db")) as db, db:  # its expiry, moved into the past
        (expires,) = db.execute("SELECT expires_at FROM api_tokens WHERE id = ?", (expiring["id"],)).fetchone()
        db.execute("UPDATE api_tokens SET expires_at = ? WHERE id = ?", ("2020" + expires[4:], expiring["id"]))
    expired = run(base_env(kor.nowhere, ACCORD_TOKEN=expiring["token"]), "records", "list", "--server", kor.server.base)
    assert (expired.code, expired.err) == (wrong.code, wrong.err)
    # No token at all; ACCORD_SERVER instead of --server.
    none = run(base_env(kor.nowhere, ACCORD_SERVER=kor.server.base), "records", "list")
    assert none.code == 2
    assert "no API token" in none.err
    # Local-only options.
    files = kor.remote(
        "kim", "records", "create", "--title", "t", "--topic", "x", "--portion-file", f"KOR/MIL-III::{token_file}"
    )
    assert files.code == 2
    assert "--portion-file is not available with --server" in files.err


def test_without_keys_the_release_goes_to_the_pinned_peer_both_ways(kor, tmp_path):
    descriptor = tmp_path / "jpn.descriptor"
    exported = ok(kor.jpn.local("node", "export-descriptor", "--out", str(descriptor)))
    fingerprint = exported.err.split("fingerprint ")[1].split()[0]
    ok(kor.local("peers", "add", str(descriptor), "--fingerprint", fingerprint))
    record_id = ok(kor.local(*create_args("Queued for JPN", "KOR/MIL-II:JPN:queued text"))).json()["id"]
    args = ("records", "release", record_id, "--to", "JPN", "--on", "2017-01-01", "--json")
    local, remote = ok(kor.local(*args)).json(), ok(kor.remote("lee", *args)).json()
    for outcome in (local, remote):
        del outcome["release"]["id"], outcome["release"]["message_id"]
    assert local == remote
    assert remote["release"]["next_hop"] == "JPN"
    same(kor.local("records", "sent", "--json"), kor.remote("lee", "records", "sent", "--json"))
    # A record with a file portion: sealed and queued on the node, but no message file without its parts.
    attachment = tmp_path / "map.bin"
    attachment.write_bytes(b"\x00\x01 a map")
    with_file = ok(
        kor.local(
            "records", "create", "--title", "With a map", "--topic", "dprk-missile",
            "--portion-file", f"KOR/MIL-II:JPN:{attachment}", "--json",
        )
    ).json()["id"]  # fmt: skip
    out = tmp_path / "with-file.msg"
    refused = kor.remote("lee", "records", "release", with_file, "--to", "JPN", "--on", "2017-01-01", "--out", str(out))
    assert refused.code == 2
    assert "carries file portions" in refused.err
    assert "accord export" in refused.err
    assert not out.exists()


def test_an_unreachable_server_says_what_to_check(kor):
    env = base_env(kor.nowhere, ACCORD_TOKEN=kor.tokens["kim"])
    down = run(env, "records", "list", "--server", f"http://127.0.0.1:{free_port()}")
    assert down.code == 2
    assert "cannot connect to the Accord node" in down.err
    assert "accord serve" in down.err
    assert "Traceback" not in down.err
    bad = run(env, "records", "list", "--server", "ftp://example")
    assert bad.code == 2
    assert "http:// or https://" in bad.err


def test_https_with_a_private_ca(kor, tmp_path):
    cert, key = self_signed(tmp_path)
    import ssl  # noqa: PLC0415 - only this test needs it

    server = kor.serve(
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        scheme="https",
        verify=ssl.create_default_context(cafile=str(cert)),
    )
    try:
        env = base_env(kor.nowhere, ACCORD_TOKEN=kor.tokens["kim"])
        trusted = run(env, "records", "list", "--json", "--server", server.base, "--ca-cert", str(cert))
        same(kor.local("records", "list", "--json"), trusted)
        untrusted = run(env, "records", "list", "--server", server.base)
        assert untrusted.code == 2
        assert "not trusted" in untrusted.err
        assert "--ca-cert" in untrusted.err
        plain = run(env, "records", "list", "--server", server.base.replace("https://", "http://"))
        assert plain.code == 2
        assert "error:" in plain.err
        assert "Traceback" not in plain.err
    finally:
        server.stop()


@pytest.mark.postgres
def test_against_a_node_on_postgresql(tmp_path, postgres_url):
    node = Node(tmp_path, database_url=postgres_url)
    node.add_people({"kim": PEOPLE["kim"]})
    ok(node.local(*create_args("Local first", "KOR/MIL-II:JPN:written on the node")))
    node.server = node.serve()
    try:
        ok(node.remote("kim", *create_args("Then remote", "KOR/MIL-III::written over the API")))
        for args in (("records", "list", "--json"), ("records", "list")):
            same(node.local(*args), node.remote("kim", *args))
        listed = node.local("records", "list", "--json").json()["records"]
        assert [r["title"] for r in listed] == ["Local first", "Then remote"]
        shown = ("records", "show", listed[1]["id"], "--bodies", "--json")
        same(node.local(*shown), node.remote("kim", *shown))
    finally:
        node.server.stop()
    assert not node.nowhere.exists()
