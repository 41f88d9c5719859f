"""Key rotation: new keys current, old signatures verify, old envelopes open, bodies stay readable."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import json

import pytest

from accord.audit.entry import EntryKind
from accord.canonical import canonical_bytes
from accord.crypto import CompositeSigner, CompositeVerifier
from accord.crypto.keystore import KEY_FILE_NAME, UNSAFE_FAST_SCRYPT, ScryptParams, decrypt_key_file
from accord.crypto.sealing import open_sealed, seal
from accord.crypto.stream import decrypt_bytes, encrypt_bytes, unwrap_key, wrap_key
from accord.errors import IntegrityError, StorageError, ValidationError
from accord.services import audit, node
from accord.services._database import Database
from accord.storage.sql import SqlAuditStore
from tests.unit.services.conftest import AT, PASSPHRASE

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
FINGERPRINT = "cd" * 32


@pytest.fixture
def home(tmp_path):
    """A KOR node whose key file has the test-only scrypt cost: these tests pay no KDF time."""
    home = tmp_path / "home"
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    return home


def unlock(home, passphrase=PASSPHRASE):
    return node.unlock(home, passphrase, unsafe_fast_kdf=True)


def rotate(home, passphrase=PASSPHRASE, *, at):
    return node.rotate_keys(home, passphrase, at=at, unsafe_fast_kdf=True)


def snapshot(home):
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.name != node.LOCK_FILE_NAME}


def disk_full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_new_identity_keeps_its_kek_seed_in_the_key_file(home):
    assert sorted(snapshot(home)) == [KEY_FILE_NAME, node.NODE_FILE_NAME]  # no node-kek.json any more
    stored = decrypt_key_file((home / KEY_FILE_NAME).read_bytes(), PASSPHRASE, unsafe_fast_kdf=True)
    assert stored.body_kek_seed is not None
    identity = node.read_identity(home)
    document = json.loads((home / node.NODE_FILE_NAME).read_bytes())
    assert document["key_history"] == [
        {"public": identity.public.to_dict(), "valid_from": AT.isoformat(), "valid_until": None}
    ]
    assert unlock(home).kek.key_id == unlock(home).kek.key_id


def test_rotation_makes_new_keys_current_and_keeps_the_old_with_their_window(home):
    before = unlock(home)
    rotation = rotate(home, at=AT + DAY)
    after = node.read_identity(home)
    assert after == rotation.identity
    assert after.public != before.identity.public
    assert (after.party, after.created_at) == ("KOR", AT.isoformat())
    old, new = after.history
    assert (old.public, old.valid_from, old.valid_until) == (before.identity.public, AT, AT + DAY)
    assert (new.public, new.valid_from, new.valid_until) == (after.public, AT + DAY, None)
    assert rotation.retired == old
    assert after.retired == (old,)
    document = json.loads((home / node.NODE_FILE_NAME).read_bytes())
    assert document["fingerprint"] == after.public.fingerprint
    assert [g["valid_until"] for g in document["key_history"]] == [(AT + DAY).isoformat(), None]

    unlocked = unlock(home)
    assert unlocked.keys.public == after.public
    assert unlocked.kek == before.kek  # bodies stay readable
    assert [k.key_id for k in unlocked.ring.retired_kem] == [k.key_id for k in before.identity.public.kem]
    assert unlocked.kem_private_keys() == (*unlocked.keys.kem, *before.keys.kem)


def test_what_was_signed_sealed_and_stored_before_a_rotation_still_verifies_opens_and_reads(home):
    before = unlock(home)
    message = b"signed before the rotation"
    signature = CompositeSigner(before.keys).sign(message)
    envelope = seal(
        b"sealed to the old key", before.identity.public, agreement_fingerprint=FINGERPRINT, decision_id="d"
    )
    body, stream = encrypt_bytes(b"a record body")
    wrapped = wrap_key(stream.key, before.kek, context=b"R-1/P-1")

    rotate(home, at=AT + DAY)
    after = unlock(home)

    signed_at = AT + HOUR
    (generation,) = after.identity.generations_during(signed_at, signed_at + dt.timedelta(seconds=1))
    CompositeVerifier((generation.public.signing, generation.public.pq_signing)).verify(signature, message)
    with pytest.raises(IntegrityError):
        CompositeVerifier((after.identity.public.signing, after.identity.public.pq_signing)).verify(signature, message)
    opened = open_sealed(envelope, after.kem_private_keys(), agreement_fingerprint=FINGERPRINT)
    assert opened == b"sealed to the old key"
    with pytest.raises(IntegrityError):
        open_sealed(envelope, after.keys, agreement_fingerprint=FINGERPRINT)  # the current keys alone cannot
    assert decrypt_bytes(body, unwrap_key(wrapped, after.kek, context=b"R-1/P-1")) == b"a record body"


def test_rotations_accumulate(home):
    first = unlock(home)
    envelope = seal(b"oldest", first.identity.public, agreement_fingerprint=FINGERPRINT, decision_id="d")
    rotate(home, at=AT + DAY)
    rotate(home, at=AT + 2 * DAY)
    latest = unlock(home)
    assert [g.valid_until for g in latest.identity.history] == [AT + DAY, AT + 2 * DAY, None]
    assert len(latest.ring.retired_kem) == 4
    assert open_sealed(envelope, latest.kem_private_keys(), agreement_fingerprint=FINGERPRINT) == b"oldest"
    assert latest.kek == first.kek


@pytest.mark.parametrize(
    ("passphrase", "at", "error", "match"),
    [
        (None, AT + DAY, ValidationError, "no passphrase"),
        ("wrong horse", AT + DAY, IntegrityError, "wrong passphrase"),
        (PASSPHRASE, AT, ValidationError, "must come after"),
        (PASSPHRASE, AT - DAY, ValidationError, "must come after"),
    ],
    ids=["no-passphrase", "wrong-passphrase", "same-instant", "backwards"],
)
def test_a_refused_rotation_changes_nothing(home, passphrase, at, error, match):
    before = snapshot(home)
    with pytest.raises(error, match=match):
        rotate(home, passphrase, at=at)
    assert snapshot(home) == before


def test_rotating_without_an_identity_says_what_to_do(tmp_path):
    with pytest.raises(ValidationError, match="no identity") as refused:
        node.rotate_keys(tmp_path, PASSPHRASE, at=AT)
    assert "accord init --party" in refused.value.hint


@pytest.mark.parametrize("failure", [disk_full, KeyboardInterrupt], ids=["disk-full", "interrupted"])
def test_a_failure_between_the_two_writes_leaves_the_old_identity_whole(home, monkeypatch, failure):
    before = snapshot(home)
    old = unlock(home)

    def fail(*_args, **_kwargs):
        if failure is KeyboardInterrupt:
            raise KeyboardInterrupt
        failure()

    monkeypatch.setattr(node, "_write_node_file", fail)
    with pytest.raises(StorageError if failure is disk_full else KeyboardInterrupt) as caught:
        rotate(home, at=AT + DAY)
    if failure is disk_full:
        assert "the keys were not rotated" in caught.value.message
    assert snapshot(home) == before  # the rotated key file was put back
    monkeypatch.undo()
    again = unlock(home)
    assert (again.identity, again.keys, again.kek) == (old.identity, old.keys, old.kek)


def test_a_rotation_killed_between_its_writes_is_completed_by_the_next_unlock(home):
    old_identity = node.read_identity(home)
    old_node_file = (home / node.NODE_FILE_NAME).read_bytes()
    kek = unlock(home).kek
    rotation = rotate(home, at=AT + DAY)
    (home / node.NODE_FILE_NAME).write_bytes(old_node_file)  # the state a kill after the key file leaves

    assert node.read_identity(home) == old_identity  # the old public identity still verifies what it signed
    unlocked = unlock(home)
    assert unlocked.identity == rotation.identity
    assert node.read_identity(home) == rotation.identity  # node.json was brought forward
    assert unlocked.kek == kek


def test_when_even_putting_the_old_key_file_back_fails_the_next_unlock_completes_the_rotation(home, monkeypatch):
    old_identity = node.read_identity(home)
    monkeypatch.setattr(node, "write_atomically", disk_full)  # node.json and the roll-back both fail
    with pytest.raises(StorageError, match="the next unlock completes the rotation"):
        rotate(home, at=AT + DAY)
    monkeypatch.undo()
    assert node.read_identity(home) == old_identity
    unlocked = unlock(home)
    assert [g.public for g in unlocked.identity.history] == [old_identity.public, unlocked.keys.public]
    assert node.read_identity(home) == unlocked.identity


def test_a_key_file_of_another_node_is_refused(home, tmp_path):
    other = tmp_path / "other"
    node.create_identity(home=other, party="JPN", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    (home / KEY_FILE_NAME).write_bytes((other / KEY_FILE_NAME).read_bytes())
    before = snapshot(home)
    for attempt in (lambda: unlock(home), lambda: rotate(home, at=AT + DAY)):
        with pytest.raises(ValidationError, match="does not belong"):
            attempt()
    assert snapshot(home) == before


def test_the_unsafe_fast_kdf_switch(tmp_path, caplog):
    home = tmp_path / "fast"
    refused = tmp_path / "refused"
    with pytest.raises(ValidationError, match="below the floor"):
        node.create_identity(home=refused, party="KOR", passphrase=PASSPHRASE, at=AT, scrypt=ScryptParams(n=2**10))
    assert not refused.exists()
    with caplog.at_level("WARNING", logger="accord.crypto.keystore"):
        node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    assert "UNSAFE" in caplog.text
    assert json.loads((home / KEY_FILE_NAME).read_bytes())["kdf"]["n"] == UNSAFE_FAST_SCRYPT.n
    before = snapshot(home)
    with pytest.raises(ValidationError, match="below the floor"):
        node.unlock(home, PASSPHRASE)
    with pytest.raises(ValidationError, match="below the floor"):
        node.rotate_keys(home, PASSPHRASE, at=AT + DAY)
    assert snapshot(home) == before
    kek = node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True).kek
    node.rotate_keys(home, PASSPHRASE, at=AT + DAY, unsafe_fast_kdf=True)
    assert json.loads((home / KEY_FILE_NAME).read_bytes())["kdf"]["n"] == UNSAFE_FAST_SCRYPT.n  # kept its cost
    assert node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True).kek == kek


# The audit log across a rotation, on SQLite and PostgreSQL.


def add(db, n, *, start=0):
    for i in range(start, start + n):
        with db.transaction("test") as session:
            audit.append(session, kind=EntryKind.ACCESS, actor="analyst", at=AT, subjects=(f"R-{i}",))


@pytest.fixture
def log(database_url, node_home):
    db = Database(database_url=database_url)
    yield db, audit.AuditLog(database=db, home=node_home)
    db.close()


def resigned(bundle, keys, *, at):
    """The bundle's checkpoint stamped ``at`` and signed by ``keys`` (the proof still holds)."""
    checkpoint = dataclasses.replace(bundle.checkpoint, at=audit.iso(at))
    signature = canonical_bytes(CompositeSigner(keys).sign(checkpoint.signed_bytes()).to_dict())
    return json.dumps(dataclasses.replace(bundle, checkpoint=checkpoint, signature=signature).to_dict())


def test_checkpoints_signed_before_a_rotation_still_verify_after_it(log, node_home):
    db, audit_log = log
    add(db, 3)
    old_keys = node.unlock(node_home, PASSPHRASE).keys
    audit_log.checkpoint(passphrase=PASSPHRASE, at=AT + HOUR)
    old_bundle = audit_log.prove(1)
    node.rotate_keys(node_home, PASSPHRASE, at=AT + 2 * HOUR)
    add(db, 2, start=3)
    audit_log.checkpoint(passphrase=PASSPHRASE, at=AT + 3 * HOUR)

    report = audit_log.verify()
    assert (report.entries, report.checkpoints) == (5, (3, 5))
    node_json = json.loads((node_home / node.NODE_FILE_NAME).read_bytes())
    assert audit.verify_bundle(json.dumps(old_bundle.to_dict()), node_json).seq == 1
    assert audit.verify_bundle(json.dumps(audit_log.prove(4).to_dict()), node_json).seq == 4
    with pytest.raises(IntegrityError):  # the current descriptor alone does not know the old keys
        audit.verify_bundle(json.dumps(old_bundle.to_dict()), node_json["public_keys"])

    # Retired keys verify only what is stamped inside their window.
    assert audit.verify_bundle(resigned(old_bundle, old_keys, at=AT + 90 * dt.timedelta(minutes=1)), node_json)
    with pytest.raises(IntegrityError):
        audit.verify_bundle(resigned(old_bundle, old_keys, at=AT + 4 * HOUR), node_json)
    with pytest.raises(IntegrityError):
        audit.verify_bundle(resigned(old_bundle, old_keys, at=AT - HOUR), node_json)


def test_verify_refuses_a_checkpoint_signed_by_retired_keys_after_their_window(log, node_home):
    db, audit_log = log
    add(db, 2)
    old_keys = node.unlock(node_home, PASSPHRASE).keys
    node.rotate_keys(node_home, PASSPHRASE, at=AT + HOUR)
    made = audit_log.checkpoint(passphrase=PASSPHRASE, at=AT + 2 * HOUR)
    late = dataclasses.replace(made, size=made.size + 1, at=audit.iso(AT + 3 * HOUR))
    add(db, 1, start=2)
    forged = dataclasses.replace(late, root=audit_log.verify().root)
    with db.transaction("test") as session:
        signature = CompositeSigner(old_keys).sign(forged.signed_bytes())
        SqlAuditStore(session).add_checkpoint(forged, canonical_bytes(signature.to_dict()))
    with pytest.raises(IntegrityError, match="3 entries does not verify"):
        audit_log.verify()


def test_a_checkpoint_stamped_in_the_second_of_a_rotation_verifies_with_either_generation(log, node_home):
    db, audit_log = log
    add(db, 1)
    rotation_second = AT + HOUR
    old_keys = node.unlock(node_home, PASSPHRASE).keys
    audit_log.checkpoint(passphrase=PASSPHRASE, at=rotation_second)  # old keys, stamped 10:00:00
    node.rotate_keys(node_home, PASSPHRASE, at=rotation_second + dt.timedelta(milliseconds=500))
    add(db, 1, start=1)
    audit_log.checkpoint(passphrase=PASSPHRASE, at=rotation_second)  # new keys, also stamped 10:00:00
    assert audit_log.verify().checkpoints == (1, 2)
    node_json = json.loads((node_home / node.NODE_FILE_NAME).read_bytes())
    bundle = audit_log.prove(0)
    assert audit.verify_bundle(resigned(bundle, old_keys, at=rotation_second), node_json)
    with pytest.raises(IntegrityError):  # but not a second later
        audit.verify_bundle(resigned(bundle, old_keys, at=rotation_second + dt.timedelta(seconds=1)), node_json)
