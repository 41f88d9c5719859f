"""Delivery rules: the backoff schedule, precedence order, batching, the in-process transport."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.domain.record import Precedence
from accord.errors import PeerUnreachableError, ValidationError
from accord.federation.delivery import Backoff, InProcessTransport, batches, rank
from accord.federation.messages import RejectedError

F, IMM, P, R = Precedence.FLASH, Precedence.IMMEDIATE, Precedence.PRIORITY, Precedence.ROUTINE


def test_backoff_doubles_from_the_base_up_to_the_cap():
    schedule = Backoff(base=dt.timedelta(seconds=30), factor=2, cap=dt.timedelta(minutes=10), jitter=0)
    assert [schedule.delay(n).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]
    assert schedule.delay(10_000) == dt.timedelta(minutes=10)
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert schedule.next_attempt(at, 2) == at + dt.timedelta(seconds=60)


def test_jitter_only_shortens_the_wait_and_is_reproducible():
    schedule = Backoff(jitter=0.5)
    assert schedule.delay(1, random=0.0) == dt.timedelta(seconds=30)
    assert schedule.delay(1, random=0.999) > dt.timedelta(seconds=15)
    assert schedule.delay(3, random=0.25) == schedule.delay(3, random=0.25)


@pytest.mark.parametrize(
    "kw",
    [{"base": dt.timedelta(0)}, {"factor": 0.5}, {"jitter": 1.0}, {"cap": dt.timedelta(seconds=1)}],
    ids=["base", "factor", "jitter", "cap"],
)
def test_bad_schedules_are_refused(kw):
    with pytest.raises(ValidationError):
        Backoff(**kw)


def test_attempts_count_from_one():
    with pytest.raises(ValidationError):
        Backoff().delay(0)


def test_precedence_ranks():
    assert sorted([R, F, P, IMM], key=rank) == [F, IMM, P, R]


def test_flash_goes_alone_and_batches_keep_to_one_precedence():
    items = [(F, 1), (F, 2), (IMM, 3), (IMM, 4), (IMM, 5), (P, 6), (R, 7), (R, 8)]
    cut = list(batches(items, precedence=lambda i: i[0], size=2))
    assert [[n for _, n in b] for b in cut] == [[1], [2], [3, 4], [5], [6], [7, 8]]
    with pytest.raises(ValidationError):
        list(batches(items, precedence=lambda i: i[0], size=0))


def test_in_process_transport_delivers_or_is_unreachable():
    transport = InProcessTransport({"JPN": lambda data: b"receipt:" + data})
    assert transport.send("JPN", [b"a", b"b"]) == [b"receipt:a", b"receipt:b"]
    transport.down.add("JPN")
    with pytest.raises(PeerUnreachableError):
        transport.send("JPN", [b"c"])
    with pytest.raises(PeerUnreachableError):
        transport.send("USA", [b"d"])


def test_a_refused_envelope_gets_no_receipt():
    def receiver(data):
        if data == b"bad":
            msg = "forged"
            raise RejectedError(msg)
        return b"receipt:" + data

    transport = InProcessTransport({"JPN": receiver})
    assert transport.send("JPN", [b"a", b"bad", b"b"]) == [b"receipt:a", b"receipt:b"]
