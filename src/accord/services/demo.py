"""The three-node demo: KOR, USA and JPN play the 2006 → 2023 history over HTTP.

:func:`nodes_running` makes three node homes (``services._demo_nodes``), starts each
as its own ``accord serve`` process on 127.0.0.1, and stops them all when its block
ends, however it ends (an error, Ctrl-C). :func:`play` plays the dated steps by
calling the nodes: records, decisions, releases, recalls and reports through each
node's HTTP API with its people's tokens; queuing obligations and checkpoints, and
reading audit entries, through the services on each home (the API has no endpoint for
those). Every release and obligation travels between the processes over HTTP, carried
by the servers' own delivery loops. Each step is a :class:`DemoStep` (plain data:
narration lines and facts) handed to a callback as it finishes; the end is the three
audit logs, verified and witnessed by each other (:class:`AuditRow`). Nothing here
prints (``accord demo`` does) or forges a message.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

from accord.federation.messages import Envelope
from accord.services._demo_nodes import PARTIES, DemoError, DemoNode, add_people, pin, prepare
from accord.services.audit import AuditLog
from accord.services.history import MILESTONES, Milestone
from accord.services.obligations import Obligations
from accord.services.outbox import Outbox
from accord.services.peers import Peers
from accord.services.witness import Witness

__all__ = ["AuditRow", "DemoError", "DemoNode", "DemoStep", "nodes_running", "play"]

LEVEL: Final = "KOR/MIL-II"
TISA_TOPIC: Final = "dprk-missile"
OTHER_TOPIC: Final = "maritime-security"
_WAIT_S: Final = 45.0


def _milestone(on: str) -> Milestone:
    day = dt.date.fromisoformat(on)
    return next(m for m in MILESTONES if m.on == day)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoStep:
    """One step played: when, which milestone, what happened (lines) and the facts behind it."""

    key: str
    title: str
    source: str
    on: dt.date | None  # the date the release was decided for; None for today's steps
    lines: tuple[str, ...]
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible form."""
        return {
            "key": self.key,
            "title": self.title,
            "source": self.source,
            "on": None if self.on is None else self.on.isoformat(),
            "lines": list(self.lines),
            "facts": self.facts,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRow:
    """One node's audit log at the end: verified, and witnessed by its peers."""

    party: str
    entries: int
    checkpoints: int
    root: str
    cosigned_by: dict[str, int]  # peer -> size of this log it co-signed
    seen: dict[str, int]  # peer -> size of the peer's log witnessed here
    alarms: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible form."""
        return {
            "party": self.party,
            "verified": True,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "root": self.root,
            "cosigned_by": self.cosigned_by,
            "seen": self.seen,
            "open_alarms": self.alarms,
        }


def _send_obligation(node: DemoNode, type_: str, key: str, *, to: str) -> Envelope:
    """Queue a signed obligation held at ``node`` for ``to``; the node's delivery loop sends it."""
    with Outbox.open(database_url=node.database_url, home=node.home) as outbox:
        return outbox.queue_obligation(type_, key, to=to, node=node.unlocked)


def _wait(what: str, check: Callable[[], object]) -> Any:  # noqa: ANN401 - whatever the check returns
    deadline = time.monotonic() + _WAIT_S
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            msg = f"timed out waiting for {what}"
            raise DemoError(msg, hint="the nodes' logs are serve.log in each node's home")
        time.sleep(0.15)


class _Play:
    """The steps, played on three running nodes."""

    def __init__(self, nodes: dict[str, DemoNode]) -> None:
        self.kor, self.usa, self.jpn = nodes["KOR"], nodes["USA"], nodes["JPN"]
        self.nodes = nodes
        self.hub_delivered = 0  # releases USA has delivered to JPN so far

    # --- helpers -----------------------------------------------------------------

    def record(self, title: str, topic: str, text: str) -> str:
        made = self.kor.api(
            "POST",
            "/api/v1/records",
            "analyst",
            json={
                "title": title,
                "topics": [topic],
                "portions": [{"level": LEVEL, "rel_to": ["JPN", "USA"], "text": text}],
                "precedence": "IMMEDIATE",
            },
        )
        return str(made["id"])

    def ask(self, topic: str, on: dt.date) -> dict[str, Any]:
        question = {"sender": "KOR", "recipient": "JPN", "level": LEVEL, "topics": [topic], "on": on.isoformat()}
        return self.kor.api("POST", "/api/v1/decisions", "analyst", json=question)

    def release(self, record_id: str, on: dt.date, route: list[str]) -> dict[str, Any]:
        hop = self.nodes[route[1]] if len(route) > 1 else self.jpn
        body = {"record_id": record_id, "recipient": "JPN", "on": on.isoformat(), "next_hop": hop.identity.to_dict()}
        return self.kor.api("POST", "/api/v1/releases", "officer", json=body)

    def arrived(self, release_id: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return self.jpn.api("GET", f"/api/v1/inbox/{release_id}", "analyst", missing_ok=True)

        item: dict[str, Any] = _wait(f"release {release_id} in Tokyo's inbox", found)
        return item

    def sent_state(self, release_id: str) -> str:
        page = self.kor.api("GET", "/api/v1/releases/sent?limit=200", "officer")
        for item in page["items"]:
            if item.get("release_id") == release_id:
                return str(item.get("state"))
        return ""

    def hub_leg_done(self) -> dict[str, int] | None:
        """USA's delivery to JPN once nothing is pending: how many it delivered (receipts kept)."""
        with Peers.open(database_url=self.usa.database_url, home=self.usa.home) as peers:
            status = next(s for s in peers.status() if s.peer == "JPN")
        done = status.pending == 0 and status.delivered > self.hub_delivered
        if not done:
            return None
        self.hub_delivered = status.delivered
        return {"delivered": status.delivered, "pending": status.pending}

    def audited(self, subject: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for party, node in self.nodes.items():
            with AuditLog.open(database_url=node.database_url, home=node.home) as log:
                entries = log.about(subject)
            out[party] = [
                f"{e.meta.get('action', e.kind.value)}:{e.meta.get('outcome', '')}".rstrip(":") for e in entries
            ]
        return out

    @staticmethod
    def outcome_lines(decision: dict[str, Any]) -> list[str]:
        """The decision in a few lines: refused and every reason, or the route and what made it lawful."""
        route = decision.get("route") or []
        if not decision["allowed"]:
            return ["decision: REFUSED", *[f"  why: {r}" for r in decision.get("reasons", [])]]
        kind = f"hub route via {route[1]}" if len(route) > 2 else "direct route"  # noqa: PLR2004
        agreements = ", ".join(str(a["id"]) for a in decision.get("agreements", []))
        lines = [f"decision: ALLOWED, {' → '.join(route)} ({kind}; under {agreements})"]
        chosen = ">".join(route)
        lines.extend(
            f"  why: {check['detail']} [{check['source']}]"
            for check in decision.get("checks", [])
            if check["passed"] and check["route"] == chosen and check["rule"] in {"in-force", "hub"}
        )
        return lines

    def deliver(self, *, key: str, on: str, asked_on: dt.date, record_id: str, topic: str) -> DemoStep:
        """Decide, release and follow one record from Seoul to Tokyo."""
        milestone = _milestone(on)
        decision = self.ask(topic, asked_on)
        lines = [f"asked: may KOR release record {record_id} ({topic}, {LEVEL}) to JPN on {asked_on}?"]
        lines += self.outcome_lines(decision)
        facts: dict[str, Any] = {
            "record": record_id,
            "topic": topic,
            "asked_on": asked_on.isoformat(),
            "allowed": decision["allowed"],
            "route": decision.get("route") or [],
            "reasons": decision.get("reasons", []),
        }
        released = self.release(record_id, asked_on, facts["route"])
        if not decision["allowed"]:
            sealed = "release" in released
            facts |= {"refused_by": "KOR (the sender's own decision)", "sealed": sealed}
            reached = {p: bool(self.audited(record_id)[p]) for p in ("USA", "JPN")}
            facts["reached"] = reached
            lines.append("nothing was sealed or sent: the refusal is KOR's own decision, audited in Seoul only")
            return DemoStep(
                key=key,
                title=f"{milestone.on}: {milestone.title}",
                source=milestone.source,
                on=asked_on,
                lines=tuple(lines),
                facts=facts,
            )
        release_id = str(released["release"]["id"])
        item = self.arrived(release_id)
        _wait(f"KOR's release {release_id} delivered", lambda: self.sent_state(release_id) == "delivered")
        hub = facts["route"][1:-1]
        if hub:  # the hub's second leg: its outbox to JPN drained, JPN's receipt kept there
            facts["hub"] = {"party": hub[0], "onward": _wait("the hub's onward leg delivered", self.hub_leg_done)}
        audit = self.audited(release_id)
        marking = item.get("label") or {}
        label = str(marking.get("text", "")) if isinstance(marking, dict) else str(marking)
        facts |= {
            "release": release_id,
            "kor_state": self.sent_state(release_id),
            "arrived": {"JPN": True},
            "jpn_label": label,
            "jpn_item": {k: item.get(k) for k in ("sender", "originator", "title", "topics") if k in item},
            "audit": audit,
        }
        lines.append(f"release {release_id} arrived in Tokyo; KOR holds JPN's receipt (state {facts['kor_state']})")
        lines.append(f"marked in Tokyo: {label}")
        if hub:
            onward = facts["hub"]["onward"]
            lines.append(
                f"{hub[0]} relayed it: opened, re-decided with its own agreements, re-sealed for JPN; "
                f"its outbox to JPN has {onward['pending']} pending, JPN's receipt kept"
            )
        lines.extend(f"  audited at {party}: {', '.join(audit[party]) or '—'}" for party in PARTIES)
        return DemoStep(
            key=key,
            title=f"{milestone.on}: {milestone.title}",
            source=milestone.source,
            on=asked_on,
            lines=tuple(lines),
            facts=facts,
        )

    # --- the steps ---------------------------------------------------------------

    def steps(self) -> Iterator[DemoStep]:
        missile = self.record("Musudan launch window", TISA_TOPIC, "launch expected at 05:10 from Sohae")
        naval = self.record("East Sea patrol pattern", OTHER_TOPIC, "patrol pattern near Ulleungdo")
        yield self.deliver(
            key="before-2014", on="2012-06-29", asked_on=dt.date(2012, 6, 29), record_id=missile, topic=TISA_TOPIC
        )
        yield self.deliver(
            key="hub-2015", on="2015-04-27", asked_on=dt.date(2015, 4, 27), record_id=missile, topic=TISA_TOPIC
        )
        yield self.deliver(
            key="other-topic-2015", on="2015-04-27", asked_on=dt.date(2015, 4, 27), record_id=naval, topic=OTHER_TOPIC
        )
        direct = self.record("Hwasong-12 telemetry", TISA_TOPIC, "telemetry from the 2016 launch")
        yield self.deliver(
            key="direct-2016", on="2016-11-23", asked_on=dt.date(2016, 11, 23), record_id=direct, topic=TISA_TOPIC
        )
        yield self.deliver(
            key="other-topic-2016", on="2016-11-23", asked_on=dt.date(2016, 11, 23), record_id=naval, topic=OTHER_TOPIC
        )
        notice = self.record("SLBM test assessment", TISA_TOPIC, "assessment of the August 2019 SLBM test")
        yield self.deliver(
            key="notice-2019", on="2019-08-23", asked_on=dt.date(2019, 9, 2), record_id=notice, topic=TISA_TOPIC
        )
        suspended = self.record("KN-25 launch report", TISA_TOPIC, "two projectiles, 380 km")
        yield self.deliver(
            key="suspended-2019",
            on="2019-11-22",
            asked_on=dt.date(2019, 11, 28),
            record_id=suspended,
            topic=TISA_TOPIC,
        )
        yield self.recall(direct)
        yield self.report(notice)

    def recall(self, record_id: str) -> DemoStep:
        made = self.kor.api(
            "POST",
            "/api/v1/recalls",
            "officer",
            json={"record_id": record_id, "disposition": "destroy", "reason": "superseded by a corrected assessment"},
        )
        recall_id = str(made["id"])
        sent = _send_obligation(self.kor, "recall", recall_id, to="JPN")
        with Obligations.open(database_url=self.jpn.database_url, home=self.jpn.home) as jpn:
            _wait("the recall in Tokyo", lambda: jpn.recalls(record_id=record_id))
            ack = jpn.acknowledge_recall(recall_id, keys=self.jpn.unlocked, note="copy destroyed")
        _send_obligation(self.jpn, "recall-acknowledgement", recall_id, to="KOR")
        with Obligations.open(database_url=self.kor.database_url, home=self.kor.home) as kor:
            status = _wait(
                "the acknowledgement in Seoul",
                lambda: next((s for s in kor.recalls(record_id=record_id) if s.acknowledgements), None),
            )
        acknowledged_by = [a.value.holder for a in status.acknowledgements]
        facts = {
            "recall": recall_id,
            "record": record_id,
            "precedence": sent.precedence.value,
            "jpn_holds_recall": True,
            "acknowledged_by": acknowledged_by,
            "done": str(ack.done),
            "kor_state": str(status.state),
            "audit": self.audited(recall_id),
        }
        lines = (
            f"KOR's disclosure officer recalls {record_id} (destroy); the signed recall goes to JPN at "
            + sent.precedence.value,
            f"JPN acknowledges: {ack.done}ed on {ack.on}; the acknowledgement comes back to Seoul",
            f"recall {recall_id} in Seoul: {status.state}, acknowledged by {', '.join(acknowledged_by)}",
        )
        return DemoStep(
            key="recall",
            title="A recall: the originator asks for its record back",
            source="GSOMIA Art.6(h), Art.13 (return or destruction); docs/obligations.md",
            on=None,
            lines=lines,
            facts=facts,
        )

    def report(self, record_id: str) -> DemoStep:
        made = self.jpn.api(
            "POST",
            "/api/v1/reports",
            "analyst",
            json={"record_id": record_id, "kind": "possible-loss-or-compromise", "details": "a laptop left in a taxi"},
        )
        report_id = str(made["id"])
        sent = _send_obligation(self.jpn, "compromise-report", report_id, to="KOR")
        with Obligations.open(database_url=self.kor.database_url, home=self.kor.home) as kor:
            status = _wait("the report in Seoul", lambda: next(iter(kor.reports(record_id=record_id)), None))
        facts = {
            "report": report_id,
            "record": record_id,
            "precedence": sent.precedence.value,
            "reported_to": "KOR",
            "kor_state": str(status.state),
            "audit": self.audited(report_id),
        }
        lines = (
            f"JPN finds {record_id} may have been lost and reports it to the originator at {facts['precedence']}",
            f"report {report_id} held in Seoul: {facts['kor_state']}",
        )
        return DemoStep(
            key="compromise-report",
            title="A compromise report: the holder tells the originator at once",
            source="GSOMIA Art.17; docs/obligations.md",
            on=None,
            lines=lines,
            facts=facts,
        )

    def witness(self) -> list[AuditRow]:
        sent: dict[str, int] = {}
        for party, node in self.nodes.items():
            with Witness.open(database_url=node.database_url, home=node.home) as witness:
                sent[party] = witness.send(node.unlocked).checkpoint.size

        def cosigned(party: str) -> bool:
            node = self.nodes[party]
            with Witness.open(database_url=node.database_url, home=node.home) as witness:
                report = witness.status()
            return len(report.peers) == 2 and all(  # noqa: PLR2004 - the two other nodes
                p.cosigned is not None and p.cosigned.size >= sent[party] for p in report.peers
            )

        for party in PARTIES:
            _wait(f"{party}'s checkpoint co-signed by both peers", partial(cosigned, party))
        rows = []
        for party, node in self.nodes.items():
            verified = node.api("GET", "/api/v1/audit/verify", "admin")
            with Witness.open(database_url=node.database_url, home=node.home) as witness:
                report = witness.status()
            rows.append(
                AuditRow(
                    party=party,
                    entries=int(verified["entries"]),
                    checkpoints=len(verified["checkpoints"]),
                    root=str(verified["root"]),
                    cosigned_by={p.peer: p.cosigned.size for p in report.peers if p.cosigned is not None},
                    seen={p.peer: p.seen.size for p in report.peers if p.seen is not None},
                    alarms=len(report.open_alarms),
                )
            )
        return rows


@contextmanager
def nodes_running(root: Path) -> Iterator[dict[str, DemoNode]]:
    """Make the three nodes under ``root``, start their servers, and stop them all when the block ends.

    They are stopped however the block ends: normally, on an error, or on Ctrl-C
    (``KeyboardInterrupt``), and also when setting up fails halfway.
    """
    made: list[DemoNode] = []
    try:
        made = prepare(root)
        for node in made:
            node.start()  # the servers boot (and unlock their keys) while the people are added
        add_people(made)
        for node in made:
            node.wait_ready()
        pin(made)
        yield {node.party: node for node in made}
    finally:
        try:
            for node in made:
                node.stop()
        except KeyboardInterrupt:  # a second Ctrl-C while stopping: no more grace
            for node in made:
                node.kill()
            raise


def play(nodes: dict[str, DemoNode], on_step: Callable[[DemoStep], None]) -> list[AuditRow]:
    """Play every step on the running nodes, each handed to ``on_step``; the audit table at the end.

    Raises:
        DemoError: a node refused a call or a message did not arrive in time.
    """
    run = _Play(nodes)
    for step in run.steps():
        on_step(step)
    return run.witness()
