"""Published HPKE vectors, and Accord's own golden values.

``cryptography``'s HPKE API is single-shot and draws the ephemeral key itself, so the
sender side of a vector (``skEm`` -> ``enc`` -> ``ct``) cannot be replayed, and neither
can encryptions after the first (they need a multi-shot context). What is checked:

- our key handling: the published recipient private key, loaded the way Accord loads
  its own seeds (X-Wing seed expansion included), gives the published public key;
- our suite mapping: ``SealSuite.*.hpke_suite()`` opens the published ``enc || ct`` of
  the first encryption back to the published plaintext. The vectors authenticate
  ``aad = "Count-0"``; the public API only opens with empty AAD (which Accord uses), so
  these tests call ``cryptography``'s own internal ``_decrypt_with_aad`` (its test
  hook) for that. A change to the key schedule, KEM or AEAD breaks these tests.
"""

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives import hpke

from accord.canonical import canonical_bytes
from accord.crypto.keys import KemPrivateKey, KeyAlgorithm, NodeKeys, NodePublicKeys
from accord.crypto.sealing import SealSuite
from accord.crypto.signing import PinnedKeyVerifier, Signature, signed_bytes
from tests.vectors.generate_accord_crypto import fixed_keys, generate

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def load(name: str) -> list[dict]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))["vectors"]


def open_with_aad(suite: hpke.Suite, key, vector: dict) -> bytes:
    return rust_openssl.hpke._decrypt_with_aad(  # internal test hook: see the module docstring
        suite,
        bytes.fromhex(vector["enc"] + vector["ct"]),
        key,
        info=bytes.fromhex(vector["info"]),
        aad=bytes.fromhex(vector["aad"]),
    )


RFC = {v["name"][:5]: v for v in load("hpke-rfc9180-x25519.json")}
XWING = load("hpke-pq-xwing.json")[0]


@pytest.mark.parametrize("name", ["A.1.1", "A.2.1"])
def test_rfc9180_x25519_recipient_key_gives_the_published_public_key(name):
    vector = RFC[name]
    key = KemPrivateKey(KeyAlgorithm.X25519, bytes.fromhex(vector["skRm"]))
    assert key.public_key.public_bytes.hex() == vector["pkRm"]


def test_rfc9180_a21_opens_with_the_x25519_fallback_suite():
    vector = RFC["A.2.1"]
    assert SealSuite.X25519.hpke_ids == (vector["kem_id"], vector["kdf_id"], vector["aead_id"])
    key = KemPrivateKey(KeyAlgorithm.X25519, bytes.fromhex(vector["skRm"]))
    assert open_with_aad(SealSuite.X25519.hpke_suite(), key.hpke_key, vector).hex() == vector["pt"]


def test_rfc9180_a11_opens_with_the_library_aes_128_gcm_suite():
    vector = RFC["A.1.1"]
    key = KemPrivateKey(KeyAlgorithm.X25519, bytes.fromhex(vector["skRm"]))
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
    assert open_with_aad(suite, key.hpke_key, vector).hex() == vector["pt"]


def test_rfc9180_vector_with_a_changed_ciphertext_byte_does_not_open():
    vector = dict(RFC["A.2.1"])
    vector["ct"] = ("00" if vector["ct"][:2] != "00" else "01") + vector["ct"][2:]
    key = KemPrivateKey(KeyAlgorithm.X25519, bytes.fromhex(vector["skRm"]))
    with pytest.raises(InvalidTag):
        open_with_aad(SealSuite.X25519.hpke_suite(), key.hpke_key, vector)


def test_xwing_seed_expands_to_the_published_public_key():
    key = KemPrivateKey(KeyAlgorithm.MLKEM768_X25519, bytes.fromhex(XWING["skRm"]))
    assert len(key.public_key.public_bytes) == 1216
    assert key.public_key.public_bytes.hex() == XWING["pkRm"]


def test_xwing_vector_opens_with_the_default_hybrid_suite():
    assert SealSuite.HYBRID.hpke_ids == (XWING["kem_id"], XWING["kdf_id"], XWING["aead_id"])
    key = KemPrivateKey(KeyAlgorithm.MLKEM768_X25519, bytes.fromhex(XWING["skRm"]))
    assert len(bytes.fromhex(XWING["enc"])) == hpke.KEM.MLKEM768_X25519.enc_length()
    assert open_with_aad(SealSuite.HYBRID.hpke_suite(), key.hpke_key, XWING).hex() == XWING["pt"]


GOLDEN = json.loads((VECTORS / "accord-crypto.json").read_text(encoding="utf-8"))


def test_golden_keys_descriptor_and_fingerprint_do_not_drift():
    keys = fixed_keys()
    assert NodeKeys.seeds_from_dict(GOLDEN["seeds"]) == keys
    assert {k.algorithm.value: k.key_id for k in keys.public.keys} == GOLDEN["key_ids"]
    assert keys.public.to_dict() == GOLDEN["descriptor"]
    assert NodePublicKeys.from_dict(GOLDEN["descriptor"]).fingerprint == GOLDEN["descriptor_fingerprint"]
    assert GOLDEN["descriptor_fingerprint"] == hashlib.sha256(canonical_bytes(GOLDEN["descriptor"])).hexdigest()


def test_golden_signed_bytes_and_signatures_do_not_drift():
    data = signed_bytes(GOLDEN["value"], purpose=GOLDEN["purpose"])
    assert data.hex() == GOLDEN["signed_bytes_hex"]
    fresh = generate()
    assert fresh["ed25519_signature"] == GOLDEN["ed25519_signature"]  # Ed25519 is deterministic
    verifier = PinnedKeyVerifier(fixed_keys().public.keys[:2])
    for name in ("ed25519_signature", "ml_dsa_65_signature"):
        verifier.verify(Signature.from_dict(GOLDEN[name]), data)
