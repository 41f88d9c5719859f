import hashlib
import hmac
import io
import stat
import struct
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.crypto.stream import (
    DATA_KEY_LENGTH,
    DEFAULT_CHUNK_SIZE,
    HEADER_LENGTH,
    MAX_CHUNK_SIZE,
    TAG_LENGTH,
    KeyEncryptionKey,
    StreamAlgorithm,
    StreamDigest,
    WrappedKey,
    ciphertext_length,
    decrypt_bytes,
    decrypt_file,
    decrypt_stream,
    derive_kek,
    encrypt_bytes,
    encrypt_file,
    encrypt_stream,
    unwrap_key,
    wrap_key,
)
from accord.errors import IntegrityError, StorageError, ValidationError

CHUNK = 64  # small chunks keep multi-chunk tests fast; the format is the same at any size
ALGORITHMS = pytest.mark.parametrize("algorithm", list(StreamAlgorithm), ids=["aes-gcm", "chacha20"])
RECORD = b"record:rok-2024-0042"


def body(size, seed=b"body"):
    return hashlib.shake_256(seed).digest(size) if size else b""


def chunks_of(ciphertext, chunk_size=CHUNK):
    """Split an encrypted stream into its header and its sealed chunks."""
    segment = chunk_size + TAG_LENGTH
    rest = ciphertext[HEADER_LENGTH:]
    return ciphertext[:HEADER_LENGTH], [rest[i : i + segment] for i in range(0, len(rest), segment)]


def fails(ciphertext, key):
    with pytest.raises(IntegrityError) as info:
        decrypt_bytes(ciphertext, key)
    assert str(info.value) == "encrypted body failed its integrity check"


class Trickle:
    """A reader that hands out at most ``most`` bytes per read, like a pipe or a socket."""

    def __init__(self, data, most=7):
        self.source, self.most = io.BytesIO(data), most

    def read(self, size):
        return self.source.read(min(size, self.most))


class GeneratedReader:
    """A reader over a generator of byte blocks: the input never exists whole in memory."""

    def __init__(self, blocks):
        self.blocks, self.pending = blocks, b""

    def read(self, size):
        while len(self.pending) < size:
            block = next(self.blocks, None)
            if block is None:
                break
            self.pending += block
        out, self.pending = self.pending[:size], self.pending[size:]
        return out


def generated(total, block=100_003):  # a block size unrelated to the chunk size, on purpose
    pattern = hashlib.shake_256(b"generated").digest(block)
    for index, start in enumerate(range(0, total, block)):
        yield (index.to_bytes(8, "big") + pattern[8:])[: total - start]


class HashingSink:
    def __init__(self):
        self.sha256, self.length = hashlib.sha256(), 0

    def write(self, data):
        self.sha256.update(data)
        self.length += len(data)
        return len(data)


@ALGORITHMS
@pytest.mark.parametrize(
    ("size", "chunk_size"),
    [
        (0, CHUNK),
        (1, CHUNK),
        (CHUNK, CHUNK),
        (CHUNK + 1, CHUNK),
        (5 * CHUNK + 17, CHUNK),
        (4 * CHUNK, CHUNK),
        (0, DEFAULT_CHUNK_SIZE),
        (DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE),
        (3 * DEFAULT_CHUNK_SIZE + 1, DEFAULT_CHUNK_SIZE),
    ],
    ids=[
        "empty",
        "one-byte",
        "one-chunk",
        "chunk-plus-one",
        "multi-chunk",
        "exact-multiple",
        "empty-64k",
        "64k",
        "3x64k+1",
    ],
)
def test_round_trip(algorithm, size, chunk_size):
    plaintext = body(size)
    ciphertext, result = encrypt_bytes(plaintext, algorithm=algorithm, chunk_size=chunk_size)
    assert len(ciphertext) == ciphertext_length(size, chunk_size)
    assert len(result.key) == DATA_KEY_LENGTH
    assert (result.algorithm, result.chunk_size) == (algorithm, chunk_size)
    assert result.digest == StreamDigest(sha256=hashlib.sha256(plaintext).hexdigest(), length=size)
    sink = io.BytesIO()
    assert decrypt_stream(io.BytesIO(ciphertext), sink, result.key) == result.digest
    assert sink.getvalue() == plaintext


@pytest.mark.parametrize(("size", "chunks"), [(0, 1), (1, 1), (CHUNK, 1), (CHUNK + 1, 2), (3 * CHUNK, 3)], ids=str)
def test_layout_header_then_chunks_each_with_a_tag(size, chunks):
    ciphertext, result = encrypt_bytes(body(size), chunk_size=CHUNK)
    header, sealed = chunks_of(ciphertext)
    magic, version, algorithm, chunk_size, prefix = struct.unpack(">4sBBI7s", header)
    assert (magic, version, algorithm, chunk_size, len(prefix)) == (b"ACRB", 1, 1, CHUNK, 7)
    assert HEADER_LENGTH == 17
    assert len(sealed) == chunks
    assert ciphertext_length(size, CHUNK) == HEADER_LENGTH + size + chunks * TAG_LENGTH
    assert result.algorithm is StreamAlgorithm.AES_256_GCM


def test_every_encryption_has_a_fresh_key_and_nonce_prefix():
    first_ct, first = encrypt_bytes(b"same body")
    second_ct, second = encrypt_bytes(b"same body")
    assert first.key != second.key
    assert first_ct[10:HEADER_LENGTH] != second_ct[10:HEADER_LENGTH]
    assert first.digest == second.digest


def test_secrets_stay_out_of_reprs():
    _, result = encrypt_bytes(b"x")
    kek = KeyEncryptionKey.generate()
    assert result.key.hex() not in repr(result)
    assert kek.secret.hex() not in repr(kek)


@ALGORITHMS
def test_short_reads_are_retried_not_taken_for_the_end(algorithm):
    plaintext = body(10 * CHUNK + 3)
    sink = io.BytesIO()
    result = encrypt_stream(Trickle(plaintext), sink, algorithm=algorithm, chunk_size=CHUNK)
    ciphertext = sink.getvalue()
    assert len(ciphertext) == ciphertext_length(len(plaintext), CHUNK)
    out = io.BytesIO()
    decrypt_stream(Trickle(ciphertext, most=5), out, result.key)
    assert out.getvalue() == plaintext


@pytest.mark.parametrize("chunk_size", [0, -1, MAX_CHUNK_SIZE + 1, True, 1.5], ids=repr)
def test_chunk_size_out_of_range_is_refused(chunk_size):
    with pytest.raises(ValidationError, match="chunk size must be 1 to"):
        encrypt_bytes(b"x", chunk_size=chunk_size)


@pytest.mark.parametrize("key", [b"", b"k" * 16, b"k" * 33], ids=len)
def test_a_data_key_of_the_wrong_length_is_a_caller_error(key):
    ciphertext, _ = encrypt_bytes(b"x")
    with pytest.raises(ValidationError, match="a data key must be 32 bytes"):
        decrypt_bytes(ciphertext, key)


# Tampering: every way of changing the stream is the same opaque IntegrityError.


@pytest.fixture(scope="module")
def four_chunks():
    """A stream of four chunks, the last one short."""
    return encrypt_bytes(body(3 * CHUNK + 10), chunk_size=CHUNK)


def test_wrong_key_fails(four_chunks):
    ciphertext, _ = four_chunks
    fails(ciphertext, bytes(DATA_KEY_LENGTH))


def test_truncation_at_every_chunk_boundary_fails(four_chunks):
    ciphertext, result = four_chunks
    header, sealed = chunks_of(ciphertext)
    for kept in range(len(sealed)):
        fails(header + b"".join(sealed[:kept]), result.key)


def test_dropping_duplicating_or_appending_chunks_fails(four_chunks):
    ciphertext, result = four_chunks
    header, sealed = chunks_of(ciphertext)
    for index in range(len(sealed)):
        fails(header + b"".join(sealed[:index] + sealed[index + 1 :]), result.key)
        fails(header + b"".join(sealed[: index + 1] + sealed[index:]), result.key)
    fails(ciphertext + sealed[-1], result.key)
    fails(ciphertext + b"\x00", result.key)
    fails(ciphertext + bytes(CHUNK + TAG_LENGTH), result.key)


def test_a_stream_cut_to_full_chunks_is_not_taken_as_complete():
    """The last-chunk flag: dropping the final chunk of an exact multiple still fails."""
    ciphertext, result = encrypt_bytes(body(4 * CHUNK), chunk_size=CHUNK)
    header, sealed = chunks_of(ciphertext)
    assert [len(s) for s in sealed] == [CHUNK + TAG_LENGTH] * 4
    fails(header + b"".join(sealed[:3]), result.key)


def test_chunks_moved_between_streams_of_one_key_fail(four_chunks):
    """Another stream's header (another nonce prefix) does not fit these chunks."""
    ciphertext, result = four_chunks
    header, sealed = chunks_of(ciphertext)
    other_header = header[:10] + bytes(7)
    fails(other_header + b"".join(sealed), result.key)


@pytest.mark.parametrize(
    ("offset", "value"),
    [(0, 0x41), (4, 2), (5, 2), (5, 9), (6, 0), (9, CHUNK + 1), (10, 0)],
    ids=["magic", "version", "algorithm", "unknown-algorithm", "chunk-size-huge", "chunk-size", "nonce-prefix"],
)
def test_changed_header_fields_fail(four_chunks, offset, value):
    ciphertext, result = four_chunks
    changed = bytearray(ciphertext)
    changed[offset] = value if changed[offset] != value else value ^ 1
    fails(bytes(changed), result.key)


def test_the_header_is_bound_to_every_chunk():
    """A one-chunk body parses the same under any larger chunk size: only the binding catches it."""
    ciphertext, result = encrypt_bytes(b"short body", chunk_size=CHUNK)
    header, sealed = chunks_of(ciphertext)
    for chunk_size in (CHUNK + 1, MAX_CHUNK_SIZE):
        fails(header[:6] + chunk_size.to_bytes(4, "big") + header[10:] + sealed[0], result.key)


@pytest.mark.parametrize("data", [b"", b"ACRB", b"not an accord body at all, just bytes"], ids=len)
def test_what_is_not_an_encrypted_body_fails(data):
    fails(data, bytes(DATA_KEY_LENGTH))


def test_a_failure_leaves_only_verified_chunks_in_the_sink(four_chunks):
    """Documented behaviour of decrypt_stream: what was written before the failure stays."""
    ciphertext, result = four_chunks
    header, sealed = chunks_of(ciphertext)
    broken = bytearray(sealed[2])
    broken[0] ^= 1
    sink = io.BytesIO()
    with pytest.raises(IntegrityError):
        decrypt_stream(io.BytesIO(header + b"".join([*sealed[:2], bytes(broken), sealed[3]])), sink, result.key)
    assert sink.getvalue() == body(3 * CHUNK + 10)[: 2 * CHUNK]


@settings(max_examples=150, deadline=None)
@given(
    plaintext=st.binary(max_size=600),
    chunk_size=st.integers(1, 64),
    algorithm=st.sampled_from(list(StreamAlgorithm)),
)
def test_property_decrypt_of_encrypt_is_identity(plaintext, chunk_size, algorithm):
    ciphertext, result = encrypt_bytes(plaintext, algorithm=algorithm, chunk_size=chunk_size)
    assert decrypt_bytes(ciphertext, result.key) == plaintext
    assert len(ciphertext) == ciphertext_length(len(plaintext), chunk_size)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), plaintext=st.binary(max_size=300), chunk_size=st.integers(1, 48))
def test_property_any_changed_byte_fails(data, plaintext, chunk_size):
    ciphertext, result = encrypt_bytes(plaintext, chunk_size=chunk_size)
    index = data.draw(st.integers(0, len(ciphertext) - 1), label="index")
    flip = data.draw(st.integers(1, 255), label="xor")
    fails(ciphertext[:index] + bytes([ciphertext[index] ^ flip]) + ciphertext[index + 1 :], result.key)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), plaintext=st.binary(max_size=300), chunk_size=st.integers(1, 48))
def test_property_truncation_anywhere_fails(data, plaintext, chunk_size):
    ciphertext, result = encrypt_bytes(plaintext, chunk_size=chunk_size)
    cut = data.draw(st.integers(0, len(ciphertext) - 1), label="cut")
    fails(ciphertext[:cut], result.key)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), chunk_size=st.integers(1, 32), count=st.integers(2, 12))
def test_property_swapping_two_chunks_fails(data, chunk_size, count):
    plaintext = data.draw(st.binary(min_size=(count - 1) * chunk_size + 1, max_size=count * chunk_size))
    ciphertext, result = encrypt_bytes(plaintext, chunk_size=chunk_size)
    header, sealed = chunks_of(ciphertext, chunk_size)
    assert len(sealed) == count
    first = data.draw(st.integers(0, count - 2), label="first")
    second = data.draw(st.integers(first + 1, count - 1), label="second")
    sealed[first], sealed[second] = sealed[second], sealed[first]
    fails(header + b"".join(sealed), result.key)


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=200), key=st.binary(min_size=DATA_KEY_LENGTH, max_size=DATA_KEY_LENGTH))
def test_property_wrong_key_fails(plaintext, key):
    ciphertext, result = encrypt_bytes(plaintext, chunk_size=16)
    if key != result.key:
        fails(ciphertext, key)


# Files: written atomically, nothing left behind on failure.


@pytest.fixture
def encrypted_file(tmp_path):
    source = tmp_path / "body.pdf"
    source.write_bytes(body(5 * CHUNK + 3))
    result = encrypt_file(source, tmp_path / "body.enc", chunk_size=CHUNK)
    return tmp_path / "body.enc", result


def test_file_round_trip_with_owner_only_permissions(tmp_path, encrypted_file):
    path, result = encrypted_file
    assert path.stat().st_size == ciphertext_length(5 * CHUNK + 3, CHUNK)
    destination = tmp_path / "out.pdf"
    assert decrypt_file(path, destination, result.key) == result.digest
    assert destination.read_bytes() == body(5 * CHUNK + 3)
    for written in (path, destination):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["body.enc", "body.pdf", "out.pdf"]


@pytest.mark.parametrize("damage", ["changed-byte", "truncated", "wrong-key"])
def test_decrypt_file_leaves_nothing_behind_on_failure(tmp_path, encrypted_file, damage):
    path, result = encrypted_file
    key = result.key
    data = path.read_bytes()
    if damage == "changed-byte":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # the very last chunk: earlier ones were written
    elif damage == "truncated":
        path.write_bytes(data[: HEADER_LENGTH + 3 * (CHUNK + TAG_LENGTH)])
    else:
        key = bytes(DATA_KEY_LENGTH)
    before = sorted(tmp_path.iterdir())
    with pytest.raises(IntegrityError):
        decrypt_file(path, tmp_path / "out.pdf", key)
    assert sorted(tmp_path.iterdir()) == before


def test_decrypt_file_failure_keeps_an_existing_destination(tmp_path, encrypted_file):
    path, _ = encrypted_file
    destination = tmp_path / "out.pdf"
    destination.write_bytes(b"previous version")
    with pytest.raises(IntegrityError):
        decrypt_file(path, destination, bytes(DATA_KEY_LENGTH))
    assert destination.read_bytes() == b"previous version"


def test_file_system_errors_are_storage_errors_naming_the_file(tmp_path):
    missing = tmp_path / "missing.enc"
    with pytest.raises(StorageError, match=r"missing\.enc"):
        decrypt_file(missing, tmp_path / "out", bytes(DATA_KEY_LENGTH))
    with pytest.raises(StorageError, match=r"missing\.enc"):
        encrypt_file(missing, tmp_path / "out.enc")
    source = tmp_path / "in"
    source.write_bytes(b"x")
    with pytest.raises(StorageError, match="no-such-dir"):
        encrypt_file(source, tmp_path / "no-such-dir" / "out.enc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


# Wrapping the data key under the node's key-encryption key.


def test_wrap_round_trip_and_layout():
    kek = KeyEncryptionKey.generate()
    _, result = encrypt_bytes(b"body")
    wrapped = wrap_key(result.key, kek, context=RECORD)
    stored = wrapped.to_bytes()
    assert len(stored) == 93
    assert stored[0] == 1
    assert stored[1:33].hex() == kek.key_id == wrapped.kek_id
    assert WrappedKey.from_bytes(stored) == wrapped
    assert unwrap_key(WrappedKey.from_bytes(stored), kek, context=RECORD) == result.key


def test_unwrap_picks_the_named_kek_among_several():
    old, new = KeyEncryptionKey.generate(), KeyEncryptionKey.generate()
    data_key = bytes(range(32))
    assert unwrap_key(wrap_key(data_key, old), [new, old]) == data_key
    with pytest.raises(IntegrityError):
        unwrap_key(wrap_key(data_key, old), [new])
    with pytest.raises(IntegrityError):
        unwrap_key(wrap_key(data_key, old), [])


def test_a_wrapped_key_opens_only_in_its_context():
    kek = KeyEncryptionKey.generate()
    wrapped = wrap_key(bytes(32), kek, context=RECORD)
    for context in (b"", b"record:rok-2024-0043", RECORD + b"\x00"):
        with pytest.raises(IntegrityError):
            unwrap_key(wrapped, kek, context=context)


def test_any_changed_byte_of_a_wrapped_key_fails():
    kek = KeyEncryptionKey.generate()
    stored = wrap_key(bytes(32), kek, context=RECORD).to_bytes()
    for index in range(len(stored)):
        changed = stored[:index] + bytes([stored[index] ^ 0x80]) + stored[index + 1 :]
        with pytest.raises(IntegrityError):
            unwrap_key(WrappedKey.from_bytes(changed), kek, context=RECORD)


@pytest.mark.parametrize(
    "stored", [b"", bytes(92), bytes(94), b"\x02" + bytes(92)], ids=["empty", "short", "long", "v2"]
)
def test_malformed_wrapped_keys_fail_opaquely(stored):
    with pytest.raises(IntegrityError):
        WrappedKey.from_bytes(stored)


def test_wrapped_key_values_are_checked():
    with pytest.raises(ValidationError, match="not a wrapped data key"):
        WrappedKey(kek_id="XYZ", nonce=bytes(12), ciphertext=bytes(48))
    with pytest.raises(ValidationError, match="a data key must be 32 bytes"):
        wrap_key(bytes(16), KeyEncryptionKey.generate())
    with pytest.raises(ValidationError, match="a key-encryption key must be 32 bytes"):
        KeyEncryptionKey(bytes(31))


def _hkdf_sha256(ikm, info, length=32):
    """RFC 5869 written out with the standard library, to check derive_kek independently."""
    prk = hmac.new(bytes(32), ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()[:length]


def test_derive_kek_is_hkdf_sha256_of_the_seed_and_stable():
    seed = bytes(range(32))
    kek = derive_kek(seed)
    assert kek.secret == _hkdf_sha256(seed, b"accord.body-kek/1")
    assert kek == derive_kek(seed)
    assert kek.key_id == hmac.new(kek.secret, b"accord.kek-id/1", hashlib.sha256).hexdigest()
    # Pinned: a change here would make every stored body unreadable.
    assert kek.key_id == "2516946225ec91025c37745a1c3027024afd0bce300e1e977b43eb9a50b7003d"
    assert derive_kek(bytes(32)) != kek
    with pytest.raises(ValidationError, match="a node seed must be 32 bytes"):
        derive_kek(bytes(16))


# Memory stays bounded by the chunk size, whatever the size of the body.

STREAMED = 200 * 1000 * 1000


def test_memory_stays_bounded_while_streaming_200_mb(tmp_path):
    expected = hashlib.sha256()
    for block in generated(STREAMED):
        expected.update(block)
    path = tmp_path / "big.enc"
    tracemalloc.start()
    try:
        with path.open("wb") as sink:
            result = encrypt_stream(GeneratedReader(generated(STREAMED)), sink)
        _, encrypt_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = HashingSink()
        with path.open("rb") as source:
            digest = decrypt_stream(source, out, result.key)
        _, decrypt_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.digest == digest == StreamDigest(sha256=expected.hexdigest(), length=STREAMED)
    assert out.sha256.hexdigest() == expected.hexdigest()
    assert path.stat().st_size == ciphertext_length(STREAMED)
    assert encrypt_peak < 2 * 1024 * 1024, encrypt_peak
    assert decrypt_peak < 2 * 1024 * 1024, decrypt_peak
