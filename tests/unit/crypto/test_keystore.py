import base64
import datetime as dt
import json
import logging
import stat

import pytest

from accord.crypto.keys import KeyRing
from accord.crypto.keystore import (
    KEY_FILE_NAME,
    SCRYPT_FLOOR,
    UNSAFE_FAST_SCRYPT,
    KeyFile,
    ScryptParams,
    decrypt_key_file,
    decrypt_keyring,
    encrypt_key_file,
    encrypt_keyring,
    load_key_file,
    load_keyring,
    save_key_file,
    save_keyring,
)
from accord.errors import IntegrityError, ValidationError

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
FAST = SCRYPT_FLOOR  # the lowest cost accepted without the unsafe switch
KEK_SEED = bytes(range(32))


@pytest.fixture(scope="module")
def ring(alice, bob):
    return KeyRing.create(alice, at=T0).rotate(at=T1, new=bob)


@pytest.fixture(scope="module")
def sealed(ring):
    return encrypt_keyring(ring, "correct horse", params=FAST)


@pytest.fixture(scope="module")
def sealed_file(ring):
    return encrypt_key_file(KeyFile(ring=ring, body_kek_seed=KEK_SEED, params=FAST), "correct horse")


def test_key_file_round_trip(ring, sealed):
    again = decrypt_keyring(sealed, "correct horse")
    assert again.current == ring.current
    assert again.generations == ring.generations
    assert again.retired_kem == ring.retired_kem


def test_the_key_file_holds_the_kek_seed_and_retired_kem_keys(ring, sealed_file):
    opened = decrypt_key_file(sealed_file, "correct horse")
    assert opened.body_kek_seed == KEK_SEED
    assert opened.params == FAST
    assert opened.ring == ring
    assert opened.ring.retired_kem == ring.retired_kem != ()
    assert json.loads(sealed_file)["format"] == "accord.node-keys/2"
    assert decrypt_key_file(encrypt_keyring(ring, "pw", params=FAST), "pw").body_kek_seed is None


def test_secrets_are_not_in_the_file_in_clear(ring, sealed_file):
    document = json.loads(sealed_file)
    assert set(document) == {"format", "kdf", "aead", "history", "ciphertext"}
    text = sealed_file.decode()
    secrets = [*ring.current.seeds_to_dict().values(), KEK_SEED, *(k.seed for k in ring.retired_kem)]
    for value in secrets:
        raw = value if isinstance(value, bytes) else base64.urlsafe_b64decode(value + "==")
        for encoded in (base64.urlsafe_b64encode(raw).rstrip(b"="), base64.b64encode(raw), raw.hex().encode()):
            assert encoded.decode() not in text


def test_a_kek_seed_must_be_32_bytes(ring):
    with pytest.raises(ValidationError, match="32 bytes"):
        KeyFile(ring=ring, body_kek_seed=b"short")


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
    ("n", "r", "p"), [(3 * 2**14, 8, 1), (1, 8, 1), (2**21, 8, 1), (2**14, 0, 1), (2**14, 8, 99), (True, 8, 1)]
)
def test_scrypt_parameter_bounds(n, r, p):
    with pytest.raises(ValidationError, match="scrypt parameters"):
        ScryptParams(n=n, r=r, p=p)


@pytest.mark.parametrize(
    ("params", "below"),
    [
        (ScryptParams(), False),
        (SCRYPT_FLOOR, False),
        (ScryptParams(n=2**13), True),
        (ScryptParams(n=2**14, r=4), True),
        (UNSAFE_FAST_SCRYPT, True),
    ],
    ids=["default", "floor", "small-n", "small-r", "unsafe"],
)
def test_the_floor(params, below):
    assert params.below_floor is below


def test_a_cost_below_the_floor_is_neither_written_nor_opened_without_the_switch(tmp_path, ring, caplog):
    path = tmp_path / KEY_FILE_NAME
    weak = KeyFile(ring=ring, body_kek_seed=KEK_SEED, params=UNSAFE_FAST_SCRYPT)
    with pytest.raises(ValidationError, match="below the floor") as refused:
        save_key_file(path, weak, "pw")
    assert "ACCORD_UNSAFE_FAST_KDF" in refused.value.hint
    assert not path.exists()
    with caplog.at_level(logging.WARNING, logger="accord.crypto.keystore"):
        save_key_file(path, weak, "pw", unsafe_fast_kdf=True)
    assert "UNSAFE" in caplog.text
    assert str(path) in caplog.text
    assert json.loads(path.read_bytes())["kdf"]["n"] == UNSAFE_FAST_SCRYPT.n  # unlock follows the file
    with pytest.raises(ValidationError, match="below the floor"):
        load_key_file(path, "pw")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="accord.crypto.keystore"):
        assert load_key_file(path, "pw", unsafe_fast_kdf=True).body_kek_seed == KEK_SEED
    assert "UNSAFE: opening" in caplog.text


def test_a_cost_at_the_floor_opens_without_a_warning(sealed_file, caplog):
    with caplog.at_level(logging.WARNING, logger="accord.crypto.keystore"):
        decrypt_key_file(sealed_file, "correct horse")
    assert caplog.text == ""


def test_a_header_downgraded_below_the_floor_does_not_open(sealed_file):
    document = json.loads(sealed_file)
    document["kdf"]["n"] = 2**4
    downgraded = json.dumps(document).encode()
    with pytest.raises(ValidationError, match="below the floor"):
        decrypt_key_file(downgraded, "correct horse")
    with pytest.raises(IntegrityError):  # the header is authenticated
        decrypt_key_file(downgraded, "correct horse", unsafe_fast_kdf=True)


def test_changing_the_format_breaks_the_seal(sealed_file):
    document = json.loads(sealed_file)
    document["format"] = "accord.node-keys/1"  # read the payload as the old layout
    with pytest.raises(IntegrityError):
        decrypt_key_file(json.dumps(document).encode(), "correct horse")


def test_save_and_load_a_key_file(tmp_path, ring):
    path = tmp_path / "home" / KEY_FILE_NAME
    save_keyring(path, ring, "pw", params=FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE_NAME]
    assert load_keyring(path, "pw").current == ring.current
    written = save_key_file(path, KeyFile(ring=ring, body_kek_seed=KEK_SEED, params=FAST), "pw")
    assert path.read_bytes() == written
    assert load_key_file(path, "pw").body_kek_seed == KEK_SEED
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE_NAME]


def test_loading_a_missing_key_file_says_what_to_do(tmp_path):
    with pytest.raises(ValidationError, match="no key file") as info:
        load_keyring(tmp_path / KEY_FILE_NAME, "pw")
    assert "accord init" in info.value.hint


def test_saving_without_a_passphrase_writes_nothing(tmp_path, ring):
    with pytest.raises(ValidationError, match="no passphrase"):
        save_keyring(tmp_path / KEY_FILE_NAME, ring, None)
    assert list(tmp_path.iterdir()) == []
