"""The node's identity: created once, readable without the passphrase, unlocked with it."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.crypto.keystore import KEY_FILE_NAME, ScryptParams
from accord.errors import IntegrityError, ValidationError
from accord.services import node

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
FAST = ScryptParams(n=2**14)


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
