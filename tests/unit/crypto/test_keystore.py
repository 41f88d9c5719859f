import datetime as dt
import json
import stat

import pytest

from accord.crypto.keys import KeyRing
from accord.crypto.keystore import (
    KEY_FILE_NAME,
    ScryptParams,
    decrypt_keyring,
    encrypt_keyring,
    load_keyring,
    save_keyring,
)
from accord.errors import IntegrityError, ValidationError

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
FAST = ScryptParams(n=2**14)  # the lowest accepted cost, to keep tests quick


@pytest.fixture(scope="module")
def ring(alice, bob):
    return KeyRing.create(alice, at=T0).rotate(at=T1, new=bob)


@pytest.fixture(scope="module")
def sealed(ring):
    return encrypt_keyring(ring, "correct horse", params=FAST)


def test_key_file_round_trip(ring, sealed):
    again = decrypt_keyring(sealed, "correct horse")
    assert again.current == ring.current
    assert again.generations == ring.generations


def test_private_seeds_are_not_in_the_file_in_clear(ring, sealed):
    document = json.loads(sealed)
    assert set(document) == {"format", "kdf", "aead", "history", "ciphertext"}
    text = sealed.decode()
    for value in ring.current.seeds_to_dict().values():
        assert value not in text


def test_a_wrong_passphrase_is_one_clear_error(sealed):
    with pytest.raises(IntegrityError, match="wrong passphrase") as info:
        decrypt_keyring(sealed, "wrong horse", where="/node/node-keys.json")
    assert "/node/node-keys.json" in info.value.message
    assert "ACCORD_KEY_PASSPHRASE" in info.value.diagnostics()


@pytest.mark.parametrize("passphrase", [None, ""])
def test_a_missing_passphrase_names_the_variable(sealed, passphrase):
    with pytest.raises(ValidationError, match="no passphrase") as info:
        decrypt_keyring(sealed, passphrase)
    assert "ACCORD_KEY_PASSPHRASE" in info.value.hint


def test_changing_the_public_history_breaks_the_seal(sealed):
    document = json.loads(sealed)
    document["history"][0]["valid_from"] = "2023-01-01T00:00:00+00:00"
    with pytest.raises(IntegrityError):
        decrypt_keyring(json.dumps(document).encode(), "correct horse")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not json", "not a readable"),
        (b"{}", "not a readable"),
        (b'{"format": "x", "kdf": {}, "aead": {}, "history": [], "ciphertext": ""}', "not a readable"),
    ],
    ids=["not-json", "empty", "other-format"],
)
def test_other_files_are_refused_as_unreadable(data, problem):
    with pytest.raises(ValidationError, match=problem):
        decrypt_keyring(data, "pw")


def test_absurd_scrypt_costs_are_refused(sealed):
    document = json.loads(sealed)
    document["kdf"]["n"] = 2**30
    with pytest.raises(ValidationError, match="scrypt parameters"):
        decrypt_keyring(json.dumps(document).encode(), "correct horse")


@pytest.mark.parametrize(
    ("n", "r", "p"), [(2**13, 8, 1), (3 * 2**14, 8, 1), (2**14, 0, 1), (2**14, 8, 99), (True, 8, 1)]
)
def test_scrypt_parameter_bounds(n, r, p):
    with pytest.raises(ValidationError, match="scrypt parameters"):
        ScryptParams(n=n, r=r, p=p)


def test_save_and_load_a_key_file(tmp_path, ring):
    path = tmp_path / "home" / KEY_FILE_NAME
    save_keyring(path, ring, "pw", params=FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE_NAME]
    assert load_keyring(path, "pw").current == ring.current


def test_loading_a_missing_key_file_says_what_to_do(tmp_path):
    with pytest.raises(ValidationError, match="no key file") as info:
        load_keyring(tmp_path / KEY_FILE_NAME, "pw")
    assert "accord init" in info.value.hint


def test_saving_without_a_passphrase_writes_nothing(tmp_path, ring):
    with pytest.raises(ValidationError, match="no passphrase"):
        save_keyring(tmp_path / KEY_FILE_NAME, ring, None)
    assert list(tmp_path.iterdir()) == []
