"""The signed bundle: round trip, and each way a bundle is refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from accord.canonical import canonical_bytes
from accord.federation.bundle import make_bundle, read_bundle
from accord.federation.messages import MessageType, RejectedError, new_envelope

AT = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def bundle(kor_keys, *, recipient="JPN"):
    envelopes = [
        new_envelope(MessageType.RELEASE, {"n": n}, sender="KOR", recipient=recipient, at=AT, keys=kor_keys).to_bytes()
        for n in range(3)
    ]
    return envelopes, make_bundle(envelopes, sender="KOR", recipient=recipient, at=AT, since=None, keys=kor_keys)


def test_round_trip(kor, kor_keys):
    envelopes, data = bundle(kor_keys)
    read = read_bundle(data, me="JPN", peers={"KOR": kor})
    assert read.envelopes == tuple(envelopes)
    assert (read.sender, read.recipient, read.since) == ("KOR", "JPN", None)


def test_a_bundle_cut_short_or_added_to_is_refused(kor, kor_keys):
    _, data = bundle(kor_keys)
    doc = json.loads(data)
    doc["envelopes"] = doc["envelopes"][:2]
    with pytest.raises(RejectedError) as cut:
        read_bundle(canonical_bytes(doc), me="JPN", peers={"KOR": kor})
    assert "does not verify" in cut.value.reason
    with pytest.raises(RejectedError) as truncated:
        read_bundle(data[:-50], me="JPN", peers={"KOR": kor})
    assert "truncated" in truncated.value.reason


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"me": "USA"}, "not USA"),
        ({"peers": {}}, "not a pinned peer"),
        ({"max_bytes": 100}, "over the limit"),
    ],
    ids=["misaddressed", "unpinned", "oversized"],
)
def test_refusals(kor, kor_keys, kw, reason):
    _, data = bundle(kor_keys)
    args = {"me": "JPN", "peers": {"KOR": kor}} | kw
    with pytest.raises(RejectedError) as caught:
        read_bundle(data, **args)
    assert reason in caught.value.reason


def test_signed_by_another_node_is_refused(kor, jpn_keys):
    _, data = bundle(jpn_keys)
    with pytest.raises(RejectedError):
        read_bundle(data, me="JPN", peers={"KOR": kor})
