"""Passwords (Argon2id), API tokens, session ids and CSRF tokens: what is stored never opens anything."""

from __future__ import annotations

import hashlib

import pytest

from accord.crypto import passwords as pw
from accord.errors import IntegrityError, ValidationError

FAST = pw.UNSAFE_FAST_PASSWORDS
SECRET = "correct horse battery staple"  # noqa: S105 - a test password


def test_a_password_verifies_and_a_wrong_one_does_not():
    encoded = pw.hash_password(SECRET, FAST)
    assert encoded.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert SECRET not in encoded
    assert pw.verify_password(encoded, SECRET)
    assert not pw.verify_password(encoded, SECRET + "!")
    assert not pw.verify_password(encoded, "")
    assert pw.hash_password(SECRET, FAST) != encoded  # a fresh salt each time


def test_the_default_cost_is_rfc_9106_and_above_the_floor():
    encoded = pw.hash_password(SECRET)
    assert "$m=65536,t=3,p=4$" in encoded
    assert pw.verify_password(encoded, SECRET)
    assert not pw.PasswordParams().below_floor
    assert not pw.PASSWORD_FLOOR.below_floor
    assert FAST.below_floor


def test_a_hash_of_another_cost_needs_rehash():
    cheap = pw.hash_password(SECRET, FAST)
    assert pw.needs_rehash(cheap, pw.PasswordParams())
    assert not pw.needs_rehash(cheap, FAST)
    assert pw.needs_rehash("not a hash", FAST)


def test_a_stored_value_that_is_not_an_argon2_hash_is_an_integrity_error():
    sha = hashlib.sha256(SECRET.encode()).hexdigest()
    with pytest.raises(IntegrityError, match="not an Argon2 hash"):
        pw.verify_password(sha, SECRET)


def test_overlong_passwords_are_refused_for_hashing_and_never_verify():
    with pytest.raises(ValidationError, match="at most 1024"):
        pw.hash_password("x" * 1025, FAST)
    encoded = pw.hash_password("x" * 1024, FAST)
    assert pw.verify_password(encoded, "x" * 1024)
    assert not pw.verify_password(encoded, "x" * 1025)


def test_wasting_a_verification_never_succeeds():
    pw.waste_a_verification(SECRET, FAST)  # returns quietly, whatever the password


@pytest.mark.parametrize(
    ("kw", "ok"),
    [({"time_cost": 0}, False), ({"parallelism": 17}, False), ({"memory_kib": 7}, False), ({"memory_kib": 8}, True)],
)
def test_argon2_parameters_are_bounded(kw, ok):
    base = {"time_cost": 1, "memory_kib": 64, "parallelism": 1}
    if ok:
        pw.PasswordParams(**(base | kw))
    else:
        with pytest.raises(ValidationError, match="out of range"):
            pw.PasswordParams(**(base | kw))


def test_a_token_reads_back_to_its_id_and_digest():
    issued = pw.new_token()
    assert issued.token.startswith(f"accord_{issued.token_id}_")
    assert len(issued.token_id) == 16
    assert pw.read_token(issued.token) == (issued.token_id, issued.digest)
    assert pw.read_token(f"  {issued.token}\n") == (issued.token_id, issued.digest)
    assert issued.token not in repr(issued)
    assert len(issued.digest) == 64
    assert issued.token.rsplit("_", 1)[-1] not in issued.digest


def test_a_changed_token_has_another_digest_and_a_malformed_one_none():
    issued = pw.new_token()
    last = issued.token[-1]
    changed = issued.token[:-1] + ("A" if last != "A" else "B")
    found = pw.read_token(changed)
    assert found is not None
    assert found[0] == issued.token_id
    assert not pw.digests_equal(found[1], issued.digest)
    assert pw.digests_equal(issued.digest, issued.digest)
    for bad in ("", "accord_", issued.token[:-1], issued.token + "x", "Bearer " + issued.token, "ghp_" + "a" * 40):
        assert pw.read_token(bad) is None


def test_tokens_and_sessions_are_random():
    assert len({pw.new_token().token_id for _ in range(50)}) == 50
    assert len({pw.new_session().session_id for _ in range(50)}) == 50


def test_a_session_is_kept_by_digest_and_its_csrf_token_is_bound_to_it():
    one, other = pw.new_session(), pw.new_session()
    assert pw.session_key(one.session_id) == one.key
    assert one.key != one.session_id
    assert one.session_id not in repr(one)
    assert one.csrf_token not in repr(one)
    assert pw.csrf_token(one.session_id) == one.csrf_token
    assert pw.csrf_matches(one.session_id, one.csrf_token)
    assert not pw.csrf_matches(one.session_id, other.csrf_token)
    assert not pw.csrf_matches(one.session_id, "")
    assert not pw.csrf_matches(one.session_id, one.csrf_token[:-1])
    assert not pw.csrf_matches(one.session_id, "ü" * 43)
    assert pw.session_key("short") is None
    assert pw.session_key(one.session_id + "=") is None
