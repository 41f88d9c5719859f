"""The node's identity: created once, readable without the passphrase, unlocked with it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from accord.crypto.keys import NodeKeys
from accord.crypto.keystore import KEY_FILE_NAME, ScryptParams
from accord.errors import IntegrityError, ValidationError
from accord.services import node

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
FAST = ScryptParams(n=2**14)
OTHER = NodeKeys.generate()


def make(home, party="KOR", passphrase="pw"):  # noqa: S107 - a test passphrase
    return node.create_identity(home=home, party=party, passphrase=passphrase, at=AT, scrypt=FAST)


def test_create_read_unlock(tmp_path):
    made = make(tmp_path)
    assert node.read_identity(tmp_path) == made
    assert made.created_at == AT.isoformat()
    unlocked = node.unlock(tmp_path, "pw")
    assert unlocked.keys.public == made.public
    assert unlocked.kek.key_id == node.unlock(tmp_path, "pw").kek.key_id  # stable across unlocks
    with pytest.raises(IntegrityError):
        node.unlock(tmp_path, "wrong")


@pytest.mark.parametrize(
    ("party", "passphrase", "match"),
    [("kor", "pw", "party code"), ("KOR", None, "no passphrase"), ("KOR", "", "no passphrase")],
    ids=["lower-case-party", "no-passphrase", "empty-passphrase"],
)
def test_bad_input_writes_nothing(tmp_path, party, passphrase, match):
    home = tmp_path / "home"
    with pytest.raises(ValidationError, match=match):
        make(home, party, passphrase)
    assert not home.exists()


def test_refuses_to_overwrite(tmp_path):
    made = make(tmp_path)
    before = (tmp_path / KEY_FILE_NAME).read_bytes()
    with pytest.raises(ValidationError, match="already has an identity"):
        make(tmp_path, "JPN")
    assert (tmp_path / KEY_FILE_NAME).read_bytes() == before
    assert node.read_identity(tmp_path) == made


def test_no_identity_is_a_clear_error(tmp_path):
    with pytest.raises(ValidationError, match="no identity") as caught:
        node.read_identity(tmp_path)
    assert "accord init --party" in caught.value.hint


def test_a_changed_node_file_is_refused(tmp_path):
    make(tmp_path)
    path = tmp_path / node.NODE_FILE_NAME
    path.write_text(
        path.read_text()
        .replace('"party": "KOR"', '"party": "KOR", "x": 1')
        .replace('"fingerprint": "', '"fingerprint": "0')
    )
    with pytest.raises(ValidationError, match="fingerprint"):
        node.read_identity(tmp_path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(key_history="x"), "'key_history' must be a list"),
        (lambda d: d.update(key_history=[]), "at least one generation"),
        (lambda d: d["key_history"][0].update(valid_until="2027-01-01T00:00:00+00:00"), "open-ended"),
        (lambda d: d["key_history"][0].update(public=OTHER.public.to_dict()), "end with the current public keys"),
    ],
    ids=["not-a-list", "empty", "closed", "other-keys"],
)
def test_a_node_file_with_a_bad_key_history_is_refused(tmp_path, change, match):
    make(tmp_path)
    path = tmp_path / node.NODE_FILE_NAME
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    with pytest.raises(ValidationError, match=match):
        node.read_identity(tmp_path)


def test_a_node_file_from_before_rotation_has_one_generation(tmp_path):
    made = make(tmp_path)
    path = tmp_path / node.NODE_FILE_NAME
    document = json.loads(path.read_text())
    del document["key_history"]
    path.write_text(json.dumps(document))
    identity = node.read_identity(tmp_path)
    assert identity == made
    assert [(g.valid_from, g.valid_until) for g in identity.history] == [(AT, None)]
    assert node.unlock(tmp_path, "pw").identity == made
