"""Cryptography for Accord nodes: keys, signatures, sealed envelopes and releases.

The only package that imports ``cryptography`` (pyca, 50.x, on OpenSSL). It offers
safe recipes and keeps the primitives behind them:

- ``keys``: a node's Ed25519, ML-DSA-65, MLKEM768-X25519 and X25519 keys, key ids,
  the public descriptor peers pin, and a key ring that keeps retired public keys;
- ``keystore``: the private keys encrypted at rest (scrypt + AES-256-GCM);
- ``signing``: detached signatures over canonical JSON (Ed25519; Ed25519 with
  ML-DSA-65 for long-lived statements);
- ``sealing``: HPKE (RFC 9180) envelopes, hybrid post-quantum suite by default;
- ``release``: the originator's signature sealed inside, hop signatures outside;
- ``stream``: record bodies of any size encrypted at rest in chunks (STREAM-style
  AES-256-GCM), their data keys wrapped under a node key-encryption key.

The pinned ``cryptography`` build provides all of this natively: HPKE with the X25519
and MLKEM768-X25519 KEMs, ML-KEM-768 and ML-DSA-65; the tests check the HPKE suites
against published vectors. Every integrity failure is the same opaque
:class:`accord.errors.IntegrityError`.
Nothing here reads the clock or the environment; callers pass times and passphrases.
"""

from accord.crypto.keys import KeyAlgorithm, KeyId, KeyRing, NodeKeys, NodePublicKeys, PublicKey
from accord.crypto.keystore import load_keyring, save_keyring
from accord.crypto.release import SealedRelease, SignedContent, open_release, seal_release, sign_content
from accord.crypto.sealing import SealedEnvelope, SealSuite, negotiate_suite, open_sealed, seal
from accord.crypto.signing import (
    CompositeSignature,
    CompositeSigner,
    CompositeVerifier,
    Ed25519Signer,
    MlDsa65Signer,
    PinnedKeyVerifier,
    Signature,
    Signer,
    Verifier,
)
from accord.crypto.stream import (
    EncryptedStream,
    KeyEncryptionKey,
    StreamDigest,
    WrappedKey,
    decrypt_file,
    decrypt_stream,
    encrypt_file,
    encrypt_stream,
    unwrap_key,
    wrap_key,
)

__all__ = [
    "CompositeSignature",
    "CompositeSigner",
    "CompositeVerifier",
    "Ed25519Signer",
    "EncryptedStream",
    "KeyAlgorithm",
    "KeyEncryptionKey",
    "KeyId",
    "KeyRing",
    "MlDsa65Signer",
    "NodeKeys",
    "NodePublicKeys",
    "PinnedKeyVerifier",
    "PublicKey",
    "SealSuite",
    "SealedEnvelope",
    "SealedRelease",
    "Signature",
    "SignedContent",
    "Signer",
    "StreamDigest",
    "Verifier",
    "WrappedKey",
    "decrypt_file",
    "decrypt_stream",
    "encrypt_file",
    "encrypt_stream",
    "load_keyring",
    "negotiate_suite",
    "open_release",
    "open_sealed",
    "save_keyring",
    "seal",
    "seal_release",
    "sign_content",
    "unwrap_key",
    "wrap_key",
]
