"""Builders of what a node holds, for the storage contract tests: records, bodies,
releases (from real decisions on the shipped world), audit entries and obligations."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from functools import cache

from accord.audit.entry import AuditEntry, EntryKind
from accord.domain.consent import Consent
from accord.domain.obligation import (
    CompromiseKind,
    CompromiseReport,
    Disposition,
    InvestigationResult,
    Recall,
    RecallAcknowledgement,
    ReclassificationNotice,
)
from accord.domain.record import Portion, Precedence, Record
from accord.domain.release import Decision
from accord.policy import decide
from accord.serialization.world import load_world
from accord.storage.values import FileBody, InlineBody, Release, ReleaseState

D = dt.date
AT = "2026-03-01T09:15:00Z"
LATER = "2026-03-01T10:00:00+09:00"


def record(record_id: str = "r1", *, originator: str = "KOR", topics: tuple[str, ...] = ("dprk-missile",)) -> Record:
    """Three portions with their own levels and REL TO, in a deliberate (non-sorted) order."""
    return Record(
        id=record_id,
        originator=originator,
        title=f"Launch assessment {record_id} — 발사 평가",
        topics=frozenset(topics),
        purpose="early-warning",
        precedence=Precedence.FLASH,
        portions=(
            Portion(id="summary", level=f"{originator}/MIL-III", rel_to=frozenset({"USA", "JPN"})),
            Portion(id="annex", level=f"{originator}/MIL-II", rel_to=frozenset({"USA"})),
            Portion(id="2", level=f"{originator}/MIL-II", rel_to=frozenset()),  # NOFORN: no REL TO at all
        ),
    )


def inline(seed: str = "x") -> InlineBody:
    ciphertext = b"\x00\xff" + seed.encode() * 40
    return InlineBody(ciphertext=ciphertext, key_id="node-kor/storage-1", wrapped_key=b"\x01" * 48)


def file_body(path: str = "bodies/r1/annex.bin", size: int = 1_234_567) -> FileBody:
    return FileBody(
        path=path,
        size=size,
        sha256=hashlib.sha256(path.encode()).hexdigest(),
        key_id="node-kor/storage-1",
        wrapped_key=b"\x02" * 48,
    )


@cache
def _decision(on: dt.date) -> Decision:
    marked = Record.single(
        id="r1", originator="KOR", level="KOR/MIL-II", topics={"dprk-missile"}, rel_to={"USA", "JPN"}
    )
    return decide(marked, "JPN", on=on, world=load_world())


def release(
    release_id: str = "rel-1",
    *,
    state: ReleaseState = ReleaseState.SEALED,
    message_id: str | None = None,
    via_hub: bool = False,
    at: str = AT,
) -> Release:
    """A release of r1 from KOR to JPN: direct (2017) or through the US as hub (2015)."""
    decision = _decision(D(2015, 6, 1) if via_hub else D(2017, 6, 1))
    return Release.from_decision(
        decision,
        id=release_id,
        envelope=b"sealed:" + release_id.encode() + bytes(range(256)),
        state=state,
        at=at,
        message_id=message_id,
    )


def entry_for(kind: EntryKind = EntryKind.DECISION, *, actor: str = "node-kor") -> Callable[[int], AuditEntry]:
    def build(seq: int) -> AuditEntry:
        return AuditEntry(
            seq=seq,
            kind=kind,
            at=AT,
            actor=actor,
            subjects=(f"r{seq}",),
            digests={"record": hashlib.sha256(str(seq).encode()).hexdigest()},
            meta={"recipient": "JPN", "allowed": True},
        )

    return build


def consent(consent_id: str = "c1", *, holder: str = "USA", third_party: str = "JPN", topic: bool = False) -> Consent:
    return Consent(
        id=consent_id,
        originator="KOR",
        holder=holder,
        third_party=third_party,
        valid_from=D(2015, 1, 1),
        valid_until=D(2016, 12, 31),
        record_id=None if topic else "r1",
        topic="dprk-missile" if topic else None,
    )


def notice(notice_id: str = "n1", record_id: str = "r1") -> ReclassificationNotice:
    return ReclassificationNotice(
        id=notice_id,
        originator="KOR",
        record_id=record_id,
        levels=(("summary", "KOR/MIL-II"), ("annex", "KOR/MIL-I")),
        issued_on=D(2026, 3, 2),
        reason="source sensitivity reassessed",
    )


def recall(recall_id: str = "k1", record_id: str = "r1") -> Recall:
    return Recall(
        id=recall_id,
        originator="KOR",
        record_id=record_id,
        disposition=Disposition.DESTROY,
        issued_on=D(2026, 3, 3),
        reason="superseded",
    )


def acknowledgement(recall_id: str = "k1", holder: str = "JPN", *, on: dt.date | None = None) -> RecallAcknowledgement:
    on = on or D(2026, 3, 4)
    return RecallAcknowledgement(recall_id=recall_id, holder=holder, done=Disposition.DESTROY, on=on, note="shredded")


def report(report_id: str = "p1", record_id: str = "r1") -> CompromiseReport:
    return CompromiseReport(
        id=report_id,
        holder="JPN",
        originator="KOR",
        record_id=record_id,
        kind=CompromiseKind.POSSIBLE,
        detected_on=D(2026, 3, 5),
        reported_on=D(2026, 3, 5),
        description="laptop left unattended",
    )


def result(report_id: str = "p1", *, closed_on: dt.date | None = None) -> InvestigationResult:
    closed_on = closed_on or D(2026, 4, 1)
    return InvestigationResult(
        report_id=report_id, closed_on=closed_on, findings="no access found", measures="locker rules"
    )


def signature(seed: str) -> bytes:
    return hashlib.sha512(seed.encode()).digest()
