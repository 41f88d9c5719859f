"""Two real nodes (KOR, JPN), each ``accord serve`` on a loopback port, federating over HTTP.

They pin each other with ``accord node export-descriptor --url`` and ``accord peers add``;
KOR's background delivery sends a release to JPN and keeps JPN's receipt; with JPN down
(SIGKILLed), ``accord peers deliver`` backs off (``accord peers status`` shows it) and,
JPN started again on the same port and home, drains the backlog FLASH first; forged,
replayed, misaddressed, stale, oversized and malformed POSTs to JPN's endpoint are
refused with nothing stored but audit entries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import httpx
import pytest

from accord.domain.record import Precedence
from accord.federation.messages import Envelope, MessageType, new_envelope
from accord.federation.peer_client import FEDERATION_PATH, decode_results, encode_batch
from accord.services import node as nodes
from accord.services._database import Database
from accord.services.records import RecordDraft, Records, parse_portion
from accord.services.releases import Releases
from tests.api import test_serve
from tests.api.conftest import PASSPHRASE, WORLD, make_home
from tests.api.test_serve import SCRIPT, Server, free_port, node_env

MAX_BODY = 64 * 1024
ON = dt.date(2017, 3, 1)


class Node:
    """One node: its home, database file, environment, and its server when running."""

    def __init__(self, root: Path, party: str) -> None:
        self.party = party
        self.home, self.url = make_home(root, party)
        self.db = Path(self.url.removeprefix("sqlite:///"))
        self.env = node_env(self.home, self.url) | {
            "ACCORD_DELIVERY_INTERVAL": "0.3",
            "ACCORD_RETRY_BASE_SECONDS": "1",
            "ACCORD_FEDERATION_MAX_BODY": str(MAX_BODY),
        }
        self.port = free_port()
        self.server: Server | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *args: str) -> None:
        # The same port every time, so the URL the peer pinned stays right across restarts.
        with mock.patch.object(test_serve, "free_port", return_value=self.port):
            self.server = Server(self.env, *args)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def kill(self) -> None:
        """SIGKILL the server: down without a shutdown, as a crash leaves it."""
        assert self.server is not None
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait(timeout=30)
        self.server.stop()  # closes its client; the process is gone already
        self.server = None

    def accord(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own entry point
            [str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )

    def rows(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.db, timeout=30) as connection:
            return connection.execute(sql, params).fetchall()

    def counts(self) -> dict[str, int]:
        tables = [t for (t,) in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: self.rows(f'SELECT count(*) FROM "{t}"')[0][0] for t in tables}  # noqa: S608 - table names

    def release(self, peer: Node, *, precedence: Precedence = Precedence.ROUTINE, title: str = "DPRK launch") -> str:
        """A dprk-missile record made here and released to ``peer`` (dated 2017); the release id."""
        unlocked = nodes.unlock(self.home, PASSPHRASE, unsafe_fast_kdf=True)
        portion = parse_portion("KOR/MIL-II:JPN:launch at 05:10 from Sohae")
        draft = RecordDraft(title=title, topics=("dprk-missile",), portions=(portion,), precedence=precedence.value)
        database = Database(database_url=self.url)
        with Records(database=database, home=self.home) as records:
            record_id = records.create(draft, world=WORLD, passphrase=None, node=unlocked).id
        with Releases(database=Database(database_url=self.url), home=self.home) as releases:
            outcome = releases.release(
                record_id, peer.party, world=WORLD, node=unlocked, next_hop=nodes.read_identity(peer.home), on=ON
            )
        assert outcome.release is not None, outcome.decision.reasons
        return outcome.release.id


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def pair(tmp_path):
    kor, jpn = Node(tmp_path, "KOR"), Node(tmp_path, "JPN")
    try:
        for node in (kor, jpn):
            node.start()
        for node, other in ((kor, jpn), (jpn, kor)):
            descriptor = tmp_path / f"{node.party}.descriptor"
            exported = node.accord("node", "export-descriptor", "--url", node.base, "--out", str(descriptor))
            assert exported.returncode == 0, exported.stderr
            fingerprint = exported.stderr.split("fingerprint ")[1].split()[0]
            added = other.accord("peers", "add", str(descriptor), "--fingerprint", fingerprint)
            assert added.returncode == 0, added.stderr
        yield kor, jpn
    finally:
        for node in (kor, jpn):
            node.stop()


def release_state(node: Node, release_id: str) -> str:
    return str(node.rows("SELECT state FROM releases WHERE id = ?", release_id)[0][0])


def test_delivery_over_http_with_backoff_and_backlog_in_precedence_order(pair):
    kor, jpn = pair
    # 1. KOR's background delivery loop sends the release; JPN answers with a receipt.
    first = kor.release(jpn)
    wait_for("the release delivered", lambda: release_state(kor, first) == "delivered")
    assert jpn.rows("SELECT state, sender FROM releases WHERE id = ?", first) == [("received", "KOR")]
    ((receipt,),) = kor.rows("SELECT envelope FROM receipts")
    receipt_body = json.loads(receipt)
    assert (receipt_body["type"], receipt_body["sender"], receipt_body["body"]["outcome"]) == (
        "receipt",
        "JPN",
        "accepted",
    )
    assert kor.rows("SELECT state FROM outbox") == [("delivered",)]

    # 2. JPN down (killed); KOR served with --no-deliver leaves the new releases alone.
    jpn.kill()
    kor.stop()
    kor.start("--no-deliver")
    routine = kor.release(jpn, title="routine summary")
    flash = kor.release(jpn, precedence=Precedence.FLASH, title="launch now")
    time.sleep(1.5)
    assert {release_state(kor, routine), release_state(kor, flash)} == {"sealed"}

    # One-shot delivery: JPN unreachable, both items wait out their backoff.
    run = kor.accord("peers", "deliver", "--peer", "JPN", "--json")
    assert run.returncode == 0, run.stderr
    (delivery,) = json.loads(run.stdout)["deliveries"]
    assert (delivery["sent"], delivery["failed"]) == (0, 2)
    assert "unreachable" in delivery["error"]
    status = kor.accord("peers", "status", "--json")
    (row,) = [p for p in json.loads(status.stdout)["peers"] if p["peer"] == "JPN"]
    assert row["pending"] == 2
    assert (row["pending_by_precedence"]["FLASH"], row["pending_by_precedence"]["ROUTINE"]) == (1, 1)
    assert row["attempts"] == 1
    assert row["next_attempt_at"] is not None
    assert "unreachable" in row["last_error"]
    again = json.loads(kor.accord("peers", "deliver", "--json").stdout)["deliveries"]
    assert again[0]["sent"] == 0  # not due yet: the backoff is respected

    # 3. JPN back: the backlog drains, FLASH first.
    jpn.start()
    time.sleep(1.2)  # past the 1 s first retry wait
    wait_for(
        "the backlog delivered",
        lambda: (
            kor.accord("peers", "deliver", "--peer", "JPN").returncode == 0
            and {release_state(kor, routine), release_state(kor, flash)} == {"delivered"}
        ),
    )
    order = [r for (r,) in jpn.rows("SELECT id FROM releases ORDER BY created_at")]
    assert order == [first, flash, routine]
    status = json.loads(kor.accord("peers", "status", "--json").stdout)
    (row,) = [p for p in status["peers"] if p["peer"] == "JPN"]
    assert (row["pending"], row["delivered"], row["last_error"]) == (0, 3, None)


def post(jpn: Node, body: bytes) -> httpx.Response:
    return httpx.post(jpn.base + FEDERATION_PATH, content=body, timeout=30)


def refusals(jpn: Node) -> int:
    rows = jpn.rows("SELECT entry FROM audit_entries")
    return sum('"outcome":"refused"' in (m if isinstance(m, str) else m.decode()) for (m,) in rows)


def test_bad_posts_are_refused_with_nothing_stored_but_audit_entries(pair):
    kor, jpn = pair
    release_id = kor.release(jpn)
    wait_for("the release delivered", lambda: release_state(kor, release_id) == "delivered")
    ((sent,),) = kor.rows("SELECT envelope FROM outbox")
    original = Envelope.from_bytes(bytes(sent))
    keys = nodes.unlock(kor.home, PASSPHRASE, unsafe_fast_kdf=True).keys
    now = dt.datetime.now(dt.UTC)

    def receipt_to(recipient: str, *, at: dt.datetime = now) -> bytes:
        body = {"of": original.id, "digest": "0" * 64, "outcome": "accepted"}
        return new_envelope(MessageType.RECEIPT, body, sender="KOR", recipient=recipient, at=at, keys=keys).to_bytes()

    before, refused_before = jpn.counts(), refusals(jpn)

    # The same envelope again: a duplicate, answered with the first receipt, nothing changed.
    again = post(jpn, encode_batch([bytes(sent)]))
    assert again.status_code == 200
    (receipt,) = decode_results(again.content)
    assert receipt is not None
    assert json.loads(receipt)["body"]["of"] == original.id

    forged = json.loads(sent)
    forged["body"]["recipient"] = "USA"  # changed after signing
    replayed = dataclasses.replace(original, precedence=Precedence.FLASH).signed_by(keys).to_bytes()  # same id
    bad = [
        json.dumps(forged).encode(),
        replayed,
        receipt_to("USA"),  # misaddressed
        receipt_to("JPN", at=now - dt.timedelta(days=30)),  # stale
    ]
    answered = post(jpn, encode_batch(bad))
    assert answered.status_code == 200
    assert answered.json()["results"] == [{"refused": "federation message refused"}] * len(bad)

    oversized = post(jpn, encode_batch([bytes(sent)]) + b" " * MAX_BODY)
    assert oversized.status_code == 413
    assert oversized.headers["content-type"] == "application/problem+json"
    for garbage in (b"", b"{", b'{"format":"accord.envelope-batch/1","envelopes":[]}'):
        refused = post(jpn, garbage)
        assert refused.status_code == 400
        assert refused.json()["detail"] == "an integrity check failed"

    after = jpn.counts()
    audited = after.pop("audit_entries") - before.pop("audit_entries")
    assert after == before  # nothing stored but audit entries
    assert audited == refusals(jpn) - refused_before == len(bad) + 1 + 3
