"""Record bodies encrypted at rest: streaming authenticated encryption and key wrapping.

A body (text or a file of any size) is encrypted under a fresh random 256-bit data key
as a chunked AEAD stream in the STREAM construction (Hoang, Reyhanitabar, Rogaway and
Vizár, CRYPTO 2015), with the nonce layout of Tink's streaming AEAD. The stream is a
17-byte header, ``"ACRB"`` | version (1) | algorithm (1 = AES-256-GCM, the default;
2 = ChaCha20-Poly1305) | chunk size (uint32, big-endian) | random 7-byte nonce prefix,
then the chunks: each ``chunk size`` plaintext bytes (the last one 0 to ``chunk size``;
there is always a last one) sealed with a 16-byte tag under nonce =
prefix | 32-bit big-endian counter | last-chunk flag (1 byte), with the header as
associated data. Truncating, reordering, dropping, duplicating or appending chunks, or
changing any byte, fails with one opaque :class:`~accord.errors.IntegrityError`. Memory
stays bounded by the chunk size whatever the body's size; the plaintext's SHA-256 is
computed on the way through.

The data key is stored wrapped (AES-256-GCM) under the node's key-encryption key, so a
stored body is the stream file plus a :class:`WrappedKey`. The wrapped key is bound to a
caller-chosen context (e.g. the record id), so it does not open for another record.

Not here: where bodies live (storage), which KEK a node uses (:func:`derive_kek` turns a
node seed into one; the seed lives in the key file, ADR 0006), signatures, the clock.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from accord.crypto._files import atomic_file
from accord.errors import IntegrityError, StorageError, ValidationError

__all__ = [
    "DATA_KEY_LENGTH",
    "DEFAULT_CHUNK_SIZE",
    "HEADER_LENGTH",
    "MAX_CHUNK_SIZE",
    "TAG_LENGTH",
    "ByteReader",
    "ByteWriter",
    "EncryptedStream",
    "KeyEncryptionKey",
    "StreamAlgorithm",
    "StreamDigest",
    "WrappedKey",
    "ciphertext_length",
    "decrypt_bytes",
    "decrypt_file",
    "decrypt_stream",
    "derive_kek",
    "encrypt_bytes",
    "encrypt_file",
    "encrypt_stream",
    "unwrap_key",
    "wrap_key",
]

DATA_KEY_LENGTH: Final = 32
DEFAULT_CHUNK_SIZE: Final = 64 * 1024
MAX_CHUNK_SIZE: Final = 4 * 1024 * 1024
"""The largest chunk a header may declare, so a hostile file cannot make a reader allocate more."""
TAG_LENGTH: Final = 16

_MAGIC: Final = b"ACRB"
_VERSION: Final = 1
_PREFIX_LENGTH: Final = 7
# magic, format version, algorithm id, chunk size (plaintext bytes), nonce prefix; big-endian.
_HEADER: Final = struct.Struct(">4sBBI7s")
HEADER_LENGTH: Final = _HEADER.size
_MAX_CHUNKS: Final = 2**32  # the counter is 32 bits

_WRAP_VERSION: Final = 1
_WRAP_AAD_CONTEXT: Final = b"accord.wrapped-key/1"
_KEK_ID_CONTEXT: Final = b"accord.kek-id/1"
_KEK_INFO: Final = b"accord.body-kek/1"
_KEK_ID_LENGTH: Final = 32
_WRAP_NONCE_LENGTH: Final = 12
# version, KEK id (raw HMAC-SHA256), nonce, then the sealed data key and its tag.
_WRAP_HEADER: Final = struct.Struct(f">B{_KEK_ID_LENGTH}s{_WRAP_NONCE_LENGTH}s")
_WRAPPED_LENGTH: Final = _WRAP_HEADER.size + DATA_KEY_LENGTH + TAG_LENGTH


class StreamAlgorithm(IntEnum):
    """The AEAD that seals each chunk; the value is the algorithm id in the header."""

    AES_256_GCM = 1
    CHACHA20_POLY1305 = 2


_ALGORITHM_IDS: Final = frozenset(a.value for a in StreamAlgorithm)


class ByteReader(Protocol):
    """A blocking binary source: ``read(n)`` gives up to ``n`` bytes, ``b""`` at the end."""

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` bytes (a short read is read again), ``b""`` only at the end."""
        ...


class ByteWriter(Protocol):
    """A buffered binary sink that writes all it is given (a file opened ``"wb"``, ``BytesIO``)."""

    def write(self, data: bytes, /) -> object:
        """Write all of ``data``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamDigest:
    """What streamed through: the plaintext's hex SHA-256 and its length in bytes."""

    sha256: str
    length: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptedStream:
    """The result of encrypting a body: its fresh data key and the plaintext's digest.

    The key is secret: store it only wrapped (:func:`wrap_key`).
    """

    key: bytes = field(repr=False)
    algorithm: StreamAlgorithm
    chunk_size: int
    digest: StreamDigest


def _failed() -> IntegrityError:
    return IntegrityError("encrypted body failed its integrity check")


def _aead(algorithm: StreamAlgorithm, key: bytes) -> AESGCM | ChaCha20Poly1305:
    if algorithm is StreamAlgorithm.AES_256_GCM:
        return AESGCM(key)
    return ChaCha20Poly1305(key)


def _check_key(key: bytes, what: str) -> bytes:
    if len(key) != DATA_KEY_LENGTH:
        msg = f"{what} must be {DATA_KEY_LENGTH} bytes, not {len(key)}"
        raise ValidationError(msg)
    return bytes(key)


def _check_chunk_size(chunk_size: int) -> int:
    value: object = chunk_size  # callers may pass anything; bool is an int but not a size
    if type(value) is not int or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        msg = f"chunk size must be 1 to {MAX_CHUNK_SIZE} bytes, not {chunk_size!r}"
        raise ValidationError(msg)
    return chunk_size


def _nonce(prefix: bytes, index: int, *, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _read_full(reader: ByteReader, size: int) -> bytes:
    """Exactly ``size`` bytes, or fewer only at the end of the stream (short reads are retried)."""
    data = reader.read(size)
    if len(data) == size or not data:
        return data
    parts, have = [data], len(data)
    while have < size:
        more = reader.read(size - have)
        if not more:
            break
        parts.append(more)
        have += len(more)
    return b"".join(parts)


def _segments(reader: ByteReader, size: int) -> Iterator[tuple[int, bool, bytes]]:
    """``(index, last, segment)`` for each ``size``-byte segment, reading one segment ahead.

    The look-ahead is what tells the last segment apart when the stream length is an
    exact multiple of ``size``; an empty stream is one empty last segment. At most two
    segments are held at a time.
    """
    index = 0
    current = _read_full(reader, size)
    while True:
        following = _read_full(reader, size) if len(current) == size else b""
        yield index, not following, current
        if not following:
            return
        current, index = following, index + 1


def ciphertext_length(plaintext_length: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """The size of the encrypted stream of a ``plaintext_length``-byte body."""
    chunks = max(1, -(-plaintext_length // _check_chunk_size(chunk_size)))
    return HEADER_LENGTH + plaintext_length + chunks * TAG_LENGTH


def encrypt_stream(
    source: ByteReader,
    sink: ByteWriter,
    *,
    algorithm: StreamAlgorithm = StreamAlgorithm.AES_256_GCM,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> EncryptedStream:
    """Encrypt ``source`` into ``sink`` under a fresh random data key; return the key and digest.

    Reads ``chunk_size`` bytes at a time; memory stays a few chunks whatever the size.
    A stream of more than 2^32 chunks is refused (``ValidationError``) part-way through,
    with the sink left holding an unusable prefix; pick a larger chunk for such bodies.
    """
    algorithm = StreamAlgorithm(algorithm)
    chunk_size = _check_chunk_size(chunk_size)
    key = os.urandom(DATA_KEY_LENGTH)
    prefix = os.urandom(_PREFIX_LENGTH)
    header = _HEADER.pack(_MAGIC, _VERSION, algorithm, chunk_size, prefix)
    aead = _aead(algorithm, key)
    sha256 = hashlib.sha256()
    length = 0
    sink.write(header)
    for index, last, chunk in _segments(source, chunk_size):
        if index >= _MAX_CHUNKS:
            msg = f"the body is too large for {chunk_size}-byte chunks (at most 2^32 chunks)"
            raise ValidationError(msg)
        sha256.update(chunk)
        length += len(chunk)
        sink.write(aead.encrypt(_nonce(prefix, index, last=last), chunk, header))
    return EncryptedStream(
        key=key,
        algorithm=algorithm,
        chunk_size=chunk_size,
        digest=StreamDigest(sha256=sha256.hexdigest(), length=length),
    )


def decrypt_stream(source: ByteReader, sink: ByteWriter, key: bytes) -> StreamDigest:
    """Decrypt ``source`` into ``sink``, checking every chunk; return the plaintext's digest.

    Any failure (wrong key, a changed, missing, moved, repeated or extra byte or chunk,
    a stream that is not an Accord body) raises one opaque ``IntegrityError``.

    Each chunk is written only once it has verified, but a failure found at chunk *n*
    leaves chunks 0..n-1 already written to ``sink``: on ``IntegrityError`` the caller
    must discard everything written. :func:`decrypt_file` does that for files.
    """
    key = _check_key(key, "a data key")
    header = _read_full(source, HEADER_LENGTH)
    if len(header) != HEADER_LENGTH:
        raise _failed()
    magic, version, algorithm_id, chunk_size, prefix = _HEADER.unpack(header)
    if (
        magic != _MAGIC
        or version != _VERSION
        or algorithm_id not in _ALGORITHM_IDS
        or not 1 <= chunk_size <= MAX_CHUNK_SIZE
    ):
        raise _failed()
    aead = _aead(StreamAlgorithm(algorithm_id), key)
    sha256 = hashlib.sha256()
    length = 0
    for index, last, segment in _segments(source, chunk_size + TAG_LENGTH):
        if index >= _MAX_CHUNKS or len(segment) < TAG_LENGTH:
            raise _failed()
        try:
            chunk = aead.decrypt(_nonce(prefix, index, last=last), segment, header)
        except InvalidTag:
            raise _failed() from None
        sha256.update(chunk)
        length += len(chunk)
        sink.write(chunk)
    return StreamDigest(sha256=sha256.hexdigest(), length=length)


def encrypt_bytes(
    data: bytes,
    *,
    algorithm: StreamAlgorithm = StreamAlgorithm.AES_256_GCM,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[bytes, EncryptedStream]:
    """Encrypt a body held in memory: the encrypted stream's bytes, and its key and digest."""
    sink = io.BytesIO()
    result = encrypt_stream(io.BytesIO(data), sink, algorithm=algorithm, chunk_size=chunk_size)
    return sink.getvalue(), result


def decrypt_bytes(data: bytes, key: bytes) -> bytes:
    """Decrypt an encrypted stream held in memory; any failure is an opaque ``IntegrityError``."""
    sink = io.BytesIO()
    decrypt_stream(io.BytesIO(data), sink, key)
    return sink.getvalue()


def _storage_error(e: OSError, path: Path) -> StorageError:
    return StorageError(f"cannot use the body file {e.filename or path}: {e.strerror or e}")


def encrypt_file(
    source_path: Path,
    destination_path: Path,
    *,
    algorithm: StreamAlgorithm = StreamAlgorithm.AES_256_GCM,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> EncryptedStream:
    """Encrypt the file at ``source_path`` into ``destination_path``, written atomically.

    The destination appears complete or not at all (mode 0600). File system errors
    are a ``StorageError`` naming the file.
    """
    source_path, destination_path = Path(source_path), Path(destination_path)
    try:
        with source_path.open("rb") as source, atomic_file(destination_path) as sink:
            return encrypt_stream(source, sink, algorithm=algorithm, chunk_size=chunk_size)
    except OSError as e:
        raise _storage_error(e, source_path) from e


def decrypt_file(source_path: Path, destination_path: Path, key: bytes) -> StreamDigest:
    """Decrypt the file at ``source_path`` into ``destination_path``, all or nothing.

    The plaintext goes to a temporary file beside the destination (mode 0600) that is
    renamed over ``destination_path`` only once every chunk has verified. On any
    failure nothing is left behind and an existing ``destination_path`` is untouched.
    Integrity failures are an opaque ``IntegrityError``; file system errors a
    ``StorageError`` naming the file.
    """
    key = _check_key(key, "a data key")
    source_path, destination_path = Path(source_path), Path(destination_path)
    try:
        with source_path.open("rb") as source, atomic_file(destination_path) as sink:
            return decrypt_stream(source, sink, key)
    except OSError as e:
        raise _storage_error(e, source_path) from e


@dataclass(frozen=True, slots=True)
class KeyEncryptionKey:
    """A node's 256-bit key-encryption key (KEK) for data keys at rest.

    ``key_id`` (hex HMAC-SHA256 of a fixed label under the key) names the KEK in each
    wrapped key without revealing it, so a node holding several KEKs picks the right one.
    """

    secret: bytes = field(repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        """Check the length and derive the key id."""
        secret = _check_key(self.secret, "a key-encryption key")
        object.__setattr__(self, "secret", secret)
        object.__setattr__(self, "key_id", hmac.new(secret, _KEK_ID_CONTEXT, hashlib.sha256).hexdigest())

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        """A fresh random KEK."""
        return cls(os.urandom(DATA_KEY_LENGTH))


def derive_kek(seed: bytes) -> KeyEncryptionKey:
    """The body KEK derived from a 32-byte node seed: HKDF-SHA256, info ``accord.body-kek/1``.

    Deterministic, so the node recovers its KEK from its key file. Give it a seed kept
    for this purpose and not rotated away with the signing keys: bodies wrapped under a
    KEK stay readable only while that KEK can be derived.
    """
    seed = _check_key(seed, "a node seed")
    derived = HKDF(algorithm=hashes.SHA256(), length=DATA_KEY_LENGTH, salt=None, info=_KEK_INFO).derive(seed)
    return KeyEncryptionKey(derived)


def _wrap_header(kek_id: str, nonce: bytes) -> bytes:
    return _WRAP_HEADER.pack(_WRAP_VERSION, bytes.fromhex(kek_id), nonce)


def _wrap_aad(kek_id: str, nonce: bytes, context: bytes) -> bytes:
    # The context is the only variable-length part and comes last, so the encoding is unambiguous.
    return _WRAP_AAD_CONTEXT + _wrap_header(kek_id, nonce) + bytes(context)


@dataclass(frozen=True, slots=True, kw_only=True)
class WrappedKey:
    """A data key sealed under a KEK with AES-256-GCM; ``kek_id`` names the KEK.

    Byte layout (93 bytes): version (1, = 1) | KEK id (32, raw) | nonce (12) | sealed
    key and tag (48). The associated data is ``accord.wrapped-key/1``, the version, the
    KEK id and the caller's context, so a wrapped key opens only with the context it was
    made for.
    """

    kek_id: str
    nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Check the shape: a hex KEK id, a 12-byte nonce, a 48-byte sealed key."""
        if (
            len(self.kek_id) != 2 * _KEK_ID_LENGTH
            or self.kek_id.strip("0123456789abcdef")
            or len(self.nonce) != _WRAP_NONCE_LENGTH
            or len(self.ciphertext) != DATA_KEY_LENGTH + TAG_LENGTH
        ):
            msg = (
                f"not a wrapped data key: KEK id {self.kek_id!r}, "
                f"{len(self.nonce)}-byte nonce, {len(self.ciphertext)}-byte sealed key"
            )
            raise ValidationError(msg)

    def to_bytes(self) -> bytes:
        """The stored form."""
        return _wrap_header(self.kek_id, self.nonce) + self.ciphertext

    @classmethod
    def from_bytes(cls, data: bytes) -> WrappedKey:
        """Read the stored form; malformed input is an opaque ``IntegrityError``."""
        if len(data) != _WRAPPED_LENGTH:
            raise _failed()
        version, kek_id, nonce = _WRAP_HEADER.unpack_from(data)
        if version != _WRAP_VERSION:
            raise _failed()
        return cls(kek_id=kek_id.hex(), nonce=nonce, ciphertext=bytes(data[_WRAP_HEADER.size :]))


def wrap_key(data_key: bytes, kek: KeyEncryptionKey, *, context: bytes = b"") -> WrappedKey:
    """Seal ``data_key`` under ``kek``, bound to ``context`` (e.g. the record id's bytes).

    A random 96-bit nonce per wrap: keep one KEK below 2^32 wraps (NIST SP 800-38D).
    """
    data_key = _check_key(data_key, "a data key")
    nonce = os.urandom(_WRAP_NONCE_LENGTH)
    sealed = AESGCM(kek.secret).encrypt(nonce, data_key, _wrap_aad(kek.key_id, nonce, context))
    return WrappedKey(kek_id=kek.key_id, nonce=nonce, ciphertext=sealed)


def unwrap_key(
    wrapped: WrappedKey, keks: KeyEncryptionKey | Iterable[KeyEncryptionKey], *, context: bytes = b""
) -> bytes:
    """The data key in ``wrapped``, opened with whichever of ``keks`` it names.

    No matching KEK, another context, or any changed byte: one opaque ``IntegrityError``.
    """
    candidates = (keks,) if isinstance(keks, KeyEncryptionKey) else tuple(keks)
    kek = next((k for k in candidates if k.key_id == wrapped.kek_id), None)
    if kek is None:
        raise _failed()
    try:
        aad = _wrap_aad(wrapped.kek_id, wrapped.nonce, context)
        return AESGCM(kek.secret).decrypt(wrapped.nonce, wrapped.ciphertext, aad)
    except InvalidTag:
        raise _failed() from None
