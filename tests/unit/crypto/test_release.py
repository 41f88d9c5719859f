import dataclasses

import pytest

from accord.canonical import canonical_bytes
from accord.crypto.release import (
    CONTENT_PURPOSE,
    HOP_PURPOSE,
    SealedRelease,
    SignedContent,
    add_hop_signature,
    open_release,
    seal_release,
    sign_content,
    verify_hops,
)
from accord.crypto.sealing import SealSuite, open_sealed, seal
from accord.crypto.signing import Ed25519Signer, PinnedKeyVerifier, sign_value, signed_bytes
from accord.errors import IntegrityError

LEG_ONE = "1" * 64  # originator -> hub, under the originator-hub agreement
LEG_TWO = "2" * 64  # hub -> recipient, under the hub-recipient agreement
RECORD = {"title": "Launch warning", "level": "II급비밀", "portions": [{"id": "p1", "text": "..."}]}


def pinned(*nodes):
    return PinnedKeyVerifier(n.public.signing for n in nodes)


@pytest.mark.parametrize("suite", list(SealSuite), ids=["hybrid", "x25519"])
def test_direct_release(alice, bob, suite):
    signed = sign_content(RECORD, Ed25519Signer(alice))
    release = seal_release(
        signed, bob.public, agreement_fingerprint=LEG_ONE, decision_id="d1", sender=Ed25519Signer(alice), suite=suite
    )
    opened = open_release(release, bob, agreement_fingerprint=LEG_ONE, peers=pinned(alice), originator=pinned(alice))
    assert opened == signed
    assert opened.content == RECORD


def test_the_originator_signature_survives_a_hub_that_re_seals(alice, bob, carol):
    """Alice (originator) -> Carol (hub) -> Bob, as under a hub arrangement like TISA."""
    signed = sign_content(RECORD, Ed25519Signer(alice))
    to_hub = seal_release(
        signed, carol.public, agreement_fingerprint=LEG_ONE, decision_id="d1", sender=Ed25519Signer(alice)
    )
    at_hub = open_release(to_hub, carol, agreement_fingerprint=LEG_ONE, peers=pinned(alice), originator=pinned(alice))
    onward = seal_release(
        at_hub, bob.public, agreement_fingerprint=LEG_TWO, decision_id="d2", sender=Ed25519Signer(carol)
    )
    opened = open_release(onward, bob, agreement_fingerprint=LEG_TWO, peers=pinned(carol), originator=pinned(alice))
    assert opened.content == RECORD
    assert opened.signature == signed.signature
    assert [s.key_id for s in onward.hop_signatures] == [carol.public.signing.key_id]


def test_a_relay_appends_its_signature_without_invalidating_the_release(alice, bob, carol):
    release = seal_release(
        sign_content(RECORD, Ed25519Signer(alice)),
        bob.public,
        agreement_fingerprint=LEG_ONE,
        decision_id="d1",
        sender=Ed25519Signer(alice),
    )
    relayed = add_hop_signature(release, Ed25519Signer(carol))
    assert relayed.envelope == release.envelope
    assert relayed.hop_signatures[0] == release.hop_signatures[0]
    verify_hops(relayed, pinned(alice, carol))
    wire = SealedRelease.from_dict(relayed.to_dict())
    opened = open_release(
        wire, bob, agreement_fingerprint=LEG_ONE, peers=pinned(alice, carol), originator=pinned(alice)
    )
    assert opened.content == RECORD


@pytest.mark.parametrize("case", ["no-hops", "unpinned-relay", "reordered", "forged-originator", "other-envelope"])
def test_tampered_releases_fail_opaquely(alice, bob, carol, case):
    signed = sign_content(RECORD, Ed25519Signer(alice))
    release = add_hop_signature(
        seal_release(signed, bob.public, agreement_fingerprint=LEG_ONE, decision_id="d1", sender=Ed25519Signer(alice)),
        Ed25519Signer(carol),
    )
    peers = pinned(alice, carol)
    if case == "no-hops":
        release = dataclasses.replace(release, hop_signatures=())
    elif case == "unpinned-relay":
        peers = pinned(alice)
    elif case == "reordered":
        release = dataclasses.replace(release, hop_signatures=release.hop_signatures[::-1])
    elif case == "forged-originator":
        # Carol signs changed content and claims Alice's key id; the seal itself is genuine.
        forged = dataclasses.replace(
            sign_value(Ed25519Signer(carol), {**RECORD, "level": "III급비밀"}, purpose="accord.release-content/1"),
            key_id=alice.public.signing.key_id,
        )
        content = SignedContent(content={**RECORD, "level": "III급비밀"}, signature=forged)
        release = seal_release(
            content, bob.public, agreement_fingerprint=LEG_ONE, decision_id="d1", sender=Ed25519Signer(carol)
        )
    else:
        other = seal(b"{}", bob.public, agreement_fingerprint=LEG_ONE, decision_id="d1")
        release = dataclasses.replace(release, envelope=other)
    with pytest.raises(IntegrityError):
        open_release(release, bob, agreement_fingerprint=LEG_ONE, peers=peers, originator=pinned(alice))


@pytest.mark.parametrize(
    "payload", [b"not json", b"[]", b'{"content": [], "originator_signature": {}}', b'{"content": {}}']
)
def test_a_sealed_payload_that_is_not_signed_content_fails(alice, bob, payload):
    envelope = seal(payload, bob.public, agreement_fingerprint=LEG_ONE, decision_id="d1")
    assert open_sealed(envelope, bob, agreement_fingerprint=LEG_ONE) == payload
    release = add_hop_signature(SealedRelease(envelope=envelope), Ed25519Signer(alice))
    with pytest.raises(IntegrityError):
        open_release(release, bob, agreement_fingerprint=LEG_ONE, peers=pinned(alice), originator=pinned(alice))


@pytest.mark.parametrize("data", [None, {"envelope": {}}, {"envelope": {}, "hop_signatures": {}}])
def test_malformed_release_json_is_opaque(data):
    with pytest.raises(IntegrityError):
        SealedRelease.from_dict(data)


@pytest.mark.parametrize("bodies", [None, {"p1": {"salt": "c2FsdA==", "text": "Launch at 05:10 — 발사"}}])
def test_the_wire_forms_built_from_encoded_parts_are_the_canonical_json_of_the_values(alice, bob, carol, bodies):
    """Content and envelope are encoded once and spliced in; the bytes are still exactly canonical."""
    signed = sign_content(RECORD, Ed25519Signer(alice), bodies=bodies)
    expected = {"content": RECORD, "originator_signature": signed.signature.to_dict()}
    if bodies is not None:
        expected["bodies"] = bodies
    assert signed.content_bytes == canonical_bytes(RECORD)
    assert signed.to_bytes() == canonical_bytes(expected)
    assert SignedContent.from_bytes(signed.to_bytes()) == signed
    release = add_hop_signature(
        seal_release(signed, bob.public, agreement_fingerprint=LEG_ONE, decision_id="d1", sender=Ed25519Signer(alice)),
        Ed25519Signer(carol),
    )
    assert release.to_bytes() == canonical_bytes(release.to_dict())
    for index in range(2):
        previous = [s.to_dict() for s in release.hop_signatures[:index]]
        assert release.hop_bytes(index) == signed_bytes(
            {"envelope": release.envelope.to_dict(), "previous": previous}, purpose=HOP_PURPOSE
        )


def test_a_signature_over_the_content_is_over_its_canonical_bytes_with_its_purpose(alice):
    signed = sign_content(RECORD, Ed25519Signer(alice))
    assert signed.signature == sign_value(Ed25519Signer(alice), RECORD, purpose=CONTENT_PURPOSE)
    signed.verify(pinned(alice))
