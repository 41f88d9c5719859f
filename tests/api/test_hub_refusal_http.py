"""The hub refuses a release outside TISA's scope over real HTTP (issue 5, item 4).

USA (the TISA hub) runs as a real ``accord serve`` process on a loopback port. KOR,
in this process, seals a ``maritime-security`` record to JPN through USA with the
decision made for ``dprk-missile`` (``tests.unit.services.test_hub_refusal.forge``: the
sender skips its own decision, which would deny it) and POSTs the envelope batch to
USA's federation endpoint. The signed receipt that comes back says "refused" and
nothing else; KOR applying it marks the release REFUSED. With the server stopped, USA's
database holds the refusal's audit entry and the message id with its answer, nothing
queued onward and nothing of the release, and its audit log verifies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3

import httpx

from accord.audit.entry import AuditEntry
from accord.federation.messages import Envelope
from accord.federation.peer_client import FEDERATION_PATH, decode_results, encode_batch
from accord.services import node as nodes
from accord.services._database import Database
from accord.services.audit import AuditLog
from accord.services.outbox import apply_receipt, read_receipt
from accord.services.peers import Peers, export_descriptor
from accord.services.records import Records
from accord.storage.sql import SqlFederationStore
from accord.storage.values import ReleaseState
from tests.api.conftest import PASSPHRASE, WORLD, make_home
from tests.api.test_serve import Server, free_port, node_env
from tests.unit.services.test_federation import Node, state_of
from tests.unit.services.test_hub_refusal import OTHER_TOPIC, OUTSIDE_TISA, TEXT, draft, forge


def counts(url: str) -> dict[str, int]:
    with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as connection:
        tables = [t for (t,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


def test_the_hub_refuses_over_http_and_keeps_only_the_audit_entry(tmp_path):
    (kor_home, kor_url), (usa_home, usa_url), (jpn_home, _) = (make_home(tmp_path, p) for p in ("KOR", "USA", "JPN"))
    unlocked = {home: nodes.unlock(home, PASSPHRASE, unsafe_fast_kdf=True) for home in (kor_home, usa_home, jpn_home)}
    now = dt.datetime.now(dt.UTC)  # the server checks freshness against its own clock
    with Peers.open(database_url=usa_url, home=usa_home) as peers:
        peers.add(export_descriptor(unlocked[kor_home]), at=now)
        # JPN pinned with a URL nobody listens on: the next hop exists, and nothing must go there.
        peers.add(export_descriptor(unlocked[jpn_home], url=f"http://127.0.0.1:{free_port()}"), at=now)
    kor = Node(kor_home, Database(database_url=kor_url), unlocked[kor_home])
    try:
        kor.service(Peers).add(export_descriptor(unlocked[usa_home]), at=now)
        record = kor.service(Records).create(draft(OTHER_TOPIC), world=WORLD, passphrase=None, node=kor.unlocked)
        release_id = forge(kor, record, world=WORLD, hub=unlocked[usa_home].identity.public, at=now)
        with kor.db.transaction("read the outbox") as session:
            (item,) = SqlFederationStore(session).pending("USA")
        sent = item.envelope

        server = Server(node_env(usa_home, usa_url))
        try:
            before = counts(usa_url)
            response = httpx.post(server.base + FEDERATION_PATH, content=encode_batch([sent]), timeout=30)
        finally:
            server.stop()

        # A signed receipt that says "refused" and nothing more.
        assert response.status_code == 200
        (answer,) = decode_results(response.content)
        assert answer is not None
        for word in (OTHER_TOPIC, "TISA", "scope", TEXT):
            assert word.encode() not in response.content
        with kor.db.transaction("apply the receipt") as session:
            receipt = read_receipt(session, answer, me="KOR", at=now)  # USA's pinned keys verify it
            assert receipt.body == {
                "of": Envelope.from_bytes(sent).id,
                "digest": hashlib.sha256(sent).hexdigest(),
                "outcome": "refused",
            }
            apply_receipt(session, receipt, answer, at=now)
        assert state_of(kor, release_id) is ReleaseState.REFUSED
    finally:
        kor.db.close()

    # The hub's database, read after the server stopped: the audit entry and the answered id.
    after = counts(usa_url)
    assert after == before | {
        "audit_entries": before["audit_entries"] + 1,
        "seen_messages": before["seen_messages"] + 1,
    }
    assert after["outbox"] == after["releases"] == after["records"] == 0
    with Database(database_url=usa_url) as usa_db:
        with usa_db.transaction("read the hub") as session:
            seen = SqlFederationStore(session).seen(Envelope.from_bytes(sent).id)
        assert seen is not None
        assert (seen.outcome.value, seen.receipt) == ("refused", answer)
        report = AuditLog(database=usa_db, home=usa_home).verify()
    assert report.entries == after["audit_entries"]
    with sqlite3.connect(usa_url.removeprefix("sqlite:///")) as connection:
        (last,) = connection.execute("SELECT entry FROM audit_entries ORDER BY seq DESC LIMIT 1").fetchone()
    refusal = AuditEntry.from_bytes(bytes(last))
    assert (refusal.meta["action"], refusal.meta["outcome"]) == ("release.relay", "refused")
    assert OUTSIDE_TISA in str(refusal.meta["reason"])
    assert list(refusal.subjects) == [record.id, release_id]
    assert json.loads(answer)["sender"] == "USA"
