import datetime as dt
import hashlib

import pytest

from accord.crypto.keys import (
    KEM_ALGORITHMS,
    KemPrivateKey,
    KeyAlgorithm,
    KeyGeneration,
    KeyRing,
    NodeKeys,
    NodePublicKeys,
    PublicKey,
    check_key_history,
    generations_during,
    key_id_for,
)
from accord.crypto.sealing import SealSuite, open_sealed, seal
from accord.errors import IntegrityError, UnknownReferenceError, ValidationError

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_a_node_has_four_keys_of_the_expected_sizes(alice):
    public = alice.public
    assert public.signing.algorithm is KeyAlgorithm.ED25519
    assert public.pq_signing.algorithm is KeyAlgorithm.ML_DSA_65
    assert [k.algorithm for k in public.kem] == list(KEM_ALGORITHMS)
    sizes = [len(k.public_bytes) for k in public.keys]
    assert sizes == [32, 1952, 1216, 32]


def test_key_id_is_the_sha256_of_the_public_key_bytes(alice):
    for key in alice.public.keys:
        assert key.key_id == hashlib.sha256(key.public_bytes).hexdigest() == key_id_for(key.public_bytes)


def test_keys_are_rebuilt_from_their_seeds(alice):
    again = NodeKeys.seeds_from_dict(alice.seeds_to_dict())
    assert again.public == alice.public
    assert again == alice


def test_private_seeds_never_show_in_repr(alice):
    text = repr(alice)
    for seed in (alice.signing_seed, alice.pq_signing_seed, *(k.seed for k in alice.kem)):
        assert seed.hex() not in text
        assert repr(seed) not in text


def test_descriptor_round_trips_and_its_fingerprint_is_stable(alice):
    data = alice.public.to_dict()
    assert data["format"] == "accord.node-public-keys/1"
    again = NodePublicKeys.from_dict(data)
    assert again == alice.public
    assert again.fingerprint == alice.public.fingerprint
    assert len(alice.public.fingerprint) == 64


def test_descriptors_of_different_nodes_differ(alice, bob):
    assert alice.public.fingerprint != bob.public.fingerprint


def test_a_descriptor_whose_key_id_does_not_match_its_key_is_refused(alice):
    data = alice.public.to_dict()
    data["signing"] = {**data["signing"], "key_id": "0" * 64}
    with pytest.raises(ValidationError, match="key_id"):
        NodePublicKeys.from_dict(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="other/1"), "format"),
        (lambda d: d.update(kem="x"), "'kem' must be a list"),
        (lambda d: d.update(kem=[]), "KEM keys"),
        (lambda d: d["signing"].update(algorithm="RSA"), "unknown key algorithm"),
        (lambda d: d["signing"].update(public_key="!!"), "base64url"),
        (lambda d: d.update(signing=d["pq_signing"]), "must be Ed25519"),
        (lambda d: d.update(pq_signing=d["signing"]), "must be ML-DSA-65"),
        (lambda d: d.update(kem=[d["kem"][0], d["kem"][0]]), "distinct"),
        (lambda d: d.update(kem=[d["signing"]]), "KEM keys"),
    ],
    ids=["format", "kem-type", "no-kem", "algorithm", "base64", "signing-role", "pq-role", "duplicate-kem", "kem-role"],
)
def test_malformed_descriptors_are_refused_clearly(alice, change, message):
    data = alice.public.to_dict()
    data["signing"] = dict(data["signing"])
    change(data)
    with pytest.raises(ValidationError, match=message):
        NodePublicKeys.from_dict(data)


def test_public_key_of_the_wrong_length_is_refused():
    with pytest.raises(ValidationError, match="32 bytes"):
        PublicKey(algorithm=KeyAlgorithm.ED25519, public_bytes=b"\x01" * 31)


def test_kem_key_lookup(alice):
    assert alice.kem_key(KeyAlgorithm.X25519).algorithm is KeyAlgorithm.X25519
    assert alice.public.kem_key(KeyAlgorithm.MLKEM768_X25519) == alice.kem[0].public_key
    only_hybrid = NodeKeys(signing_seed=b"\x01" * 32, pq_signing_seed=b"\x02" * 32, kem=(alice.kem[0],))
    with pytest.raises(ValidationError, match="no X25519 key"):
        only_hybrid.kem_key(KeyAlgorithm.X25519)
    with pytest.raises(ValidationError, match="no X25519 key"):
        only_hybrid.public.kem_key(KeyAlgorithm.X25519)


def test_seeds_must_be_32_bytes():
    with pytest.raises(ValidationError, match="32 bytes"):
        KemPrivateKey(KeyAlgorithm.X25519, b"short")
    with pytest.raises(ValidationError, match="not a key-encapsulation"):
        KemPrivateKey(KeyAlgorithm.ED25519, b"\x00" * 32)


def test_rotation_keeps_retired_public_keys_with_their_validity(alice, bob):
    ring = KeyRing.create(alice, at=T0).rotate(at=T1, new=bob)
    assert ring.current is bob
    old, new = ring.generations
    assert (old.public, old.valid_from, old.valid_until) == (alice.public, T0, T1)
    assert (new.public, new.valid_from, new.valid_until) == (bob.public, T1, None)
    key, generation = ring.find(alice.public.signing.key_id)
    assert key == alice.public.signing
    assert generation is old
    assert set(ring.public_keys()) == {*alice.public.keys, *bob.public.keys}
    assert ring.public_keys(at=T0) == alice.public.keys
    assert ring.public_keys(at=T1) == bob.public.keys
    assert ring.public_keys(at=T0 - dt.timedelta(seconds=1)) == ()
    assert ring.retired_kem == alice.kem  # signing seeds are dropped, KEM keys are kept
    assert ring.kem_private_keys() == (*bob.kem, *alice.kem)


FINGERPRINT = "ab" * 32


@pytest.mark.parametrize("suite", list(SealSuite), ids=lambda s: s.value)
def test_envelopes_sealed_before_a_rotation_open_after_it(alice, bob, suite):
    before = seal(
        b"sealed to the old key", alice.public, agreement_fingerprint=FINGERPRINT, decision_id="d", suite=suite
    )
    ring = KeyRing.create(alice, at=T0).rotate(at=T1, new=bob)
    opened = open_sealed(before, ring.kem_private_keys(), agreement_fingerprint=FINGERPRINT)
    assert opened == b"sealed to the old key"
    with pytest.raises(IntegrityError):
        open_sealed(before, ring.current, agreement_fingerprint=FINGERPRINT)


def test_retired_kem_keys_accumulate_over_rotations(alice, bob, carol):
    ring = KeyRing.create(alice, at=T0).rotate(at=T1, new=bob).rotate(at=T2, new=carol)
    assert ring.retired_kem == (*alice.kem, *bob.kem)
    assert ring.kem_private_keys() == (*carol.kem, *bob.kem, *alice.kem)
    assert [g.valid_until for g in ring.generations] == [T1, T2, None]


def test_retired_kem_keys_must_belong_to_a_retired_generation(alice, bob, carol):
    ring = KeyRing.create(alice, at=T0).rotate(at=T1, new=bob)
    for retired in ((*alice.kem, *alice.kem), bob.kem, carol.kem):
        with pytest.raises(ValidationError, match="retired KEM private key"):
            KeyRing(current=bob, generations=ring.generations, retired_kem=retired)


def test_rotation_makes_fresh_keys_by_default(alice):
    ring = KeyRing.create(alice, at=T0).rotate(at=T1)
    assert ring.current.public != alice.public
    assert len(ring.generations) == 2


def test_rotation_must_move_forward_in_time(alice):
    ring = KeyRing.create(alice, at=T1)
    with pytest.raises(ValidationError, match="must come after"):
        ring.rotate(at=T0)


def test_times_must_be_timezone_aware(alice):
    with pytest.raises(ValidationError, match="timezone-aware"):
        KeyRing.create(alice, at=dt.datetime(2024, 1, 1))  # noqa: DTZ001 - the point of the test


def test_unknown_key_ids_are_unknown_references(alice):
    with pytest.raises(UnknownReferenceError):
        KeyRing.create(alice, at=T0).find("0" * 64)


def test_a_key_ring_checks_its_history(alice, bob):
    first = KeyGeneration(public=alice.public, valid_from=T0, valid_until=T1)
    with pytest.raises(ValidationError, match="last key generation"):
        KeyRing(current=bob, generations=(first,))
    with pytest.raises(ValidationError, match="open-ended"):
        KeyRing(current=alice, generations=(first,))
    gap = KeyGeneration(public=bob.public, valid_from=T2)
    with pytest.raises(ValidationError, match="follow each other"):
        KeyRing(current=bob, generations=(first, gap))
    with pytest.raises(ValidationError, match="end after it starts"):
        KeyGeneration(public=alice.public, valid_from=T1, valid_until=T0)


def test_generations_round_trip_as_json(alice, bob):
    ring = KeyRing.create(alice, at=T0).rotate(at=T1, new=bob)
    again = tuple(KeyGeneration.from_dict(g) for g in ring.history_to_dict())
    assert again == ring.generations
    with pytest.raises(ValidationError, match="ISO 8601"):
        KeyGeneration.from_dict({**ring.history_to_dict()[0], "valid_from": "yesterday"})


def test_a_key_history_must_be_contiguous_and_open_ended(alice, bob):
    first = KeyGeneration(public=alice.public, valid_from=T0, valid_until=T1)
    second = KeyGeneration(public=bob.public, valid_from=T1)
    assert check_key_history([first, second]) == (first, second)
    with pytest.raises(ValidationError, match="at least one"):
        check_key_history([])
    with pytest.raises(ValidationError, match="open-ended"):
        check_key_history([first])
    with pytest.raises(ValidationError, match="follow each other"):
        check_key_history([first, KeyGeneration(public=bob.public, valid_from=T2)])


def test_generations_during_a_span_use_half_open_windows(alice, bob):
    ring = KeyRing.create(alice, at=T0).rotate(at=T1, new=bob)
    old, new = ring.generations
    second = dt.timedelta(seconds=1)
    assert generations_during(ring.generations, T0, T0 + second) == (old,)
    assert generations_during(ring.generations, T1, T1 + second) == (new,)
    assert generations_during(ring.generations, T1 - second, T1) == (old,)
    # a stamp to the second holding the rotation instant: either may have signed, newest first
    assert generations_during(ring.generations, T1 - second / 2, T1 + second / 2) == (new, old)
    assert generations_during(ring.generations, T0 - second, T0) == ()
