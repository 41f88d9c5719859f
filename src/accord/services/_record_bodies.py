"""Record bodies as files under the node home: write encrypted, decrypt and check, write out.

The I/O half of ``services.records``: a file portion is streamed through
``crypto.stream`` into a new, synced file under ``bodies/``; reading streams it back
through the same chunked AEAD and checks the stored size and SHA-256; writing
plaintext out goes through temporary files renamed into place only after the check.
Nothing here touches the database or the audit log, decides what is refused, or reads
the clock: ``services.records`` does.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

from accord.crypto.stream import (
    ByteWriter,
    EncryptedStream,
    KeyEncryptionKey,
    StreamDigest,
    WrappedKey,
    decrypt_stream,
    encrypt_stream,
    unwrap_key,
)
from accord.errors import IntegrityError, StorageError, ValidationError
from accord.storage.values import Body, FileBody, InlineBody

__all__ = [
    "BODIES_DIR",
    "FileBodySource",
    "body_context",
    "decrypt_beside",
    "decrypt_body",
    "file_body_source",
    "file_names",
    "open_files",
    "place",
    "remove",
    "sync_directory",
    "targets",
    "write_encrypted",
]

BODIES_DIR: Final = "bodies"
"""Where file bodies live under the node home: ``bodies/<record id>/<portion id>.enc``."""

_BINARY: Final = getattr(os, "O_BINARY", 0)  # Windows would otherwise translate newlines


@dataclass(frozen=True, slots=True, kw_only=True)
class FileBodySource:
    """A file body opened for a service: its encrypted file and data key, and what checks it.

    ``path`` holds the ``crypto.stream`` stream; ``decrypt_stream(path.open("rb"), sink,
    key)`` gives the plaintext, which must then match ``size`` and ``sha256``. The key
    is secret: never store, log or send it unsealed.
    """

    path: Path
    key: bytes = field(repr=False)
    size: int
    sha256: str
    name: str | None


def body_context(record_id: str, portion_id: str) -> bytes:
    # Other services (the release pipeline) rely on this exact format: do not change it.
    return f"accord.record-body/1:{record_id}:{portion_id}".encode()


def _failed() -> IntegrityError:
    # The same opaque error crypto.stream raises: a wrong size or digest says no more.
    return IntegrityError("encrypted body failed its integrity check")


def _data_key(record_id: str, portion_id: str, body: Body, kek: KeyEncryptionKey) -> bytes:
    return unwrap_key(WrappedKey.from_bytes(body.wrapped_key), kek, context=body_context(record_id, portion_id))


def file_body_source(
    home: Path, record_id: str, portion_id: str, body: FileBody, *, kek: KeyEncryptionKey
) -> FileBodySource:
    """The encrypted file of ``body`` under ``home`` and its unwrapped data key.

    For a service that streams the ciphertext itself (e.g. to forward it and seal only
    the key). Prefer :func:`decrypt_body`, which also checks size and digest.

    Raises:
        IntegrityError: the wrapped key does not open with ``kek`` for this portion.
    """
    key = _data_key(record_id, portion_id, body, kek)
    return FileBodySource(path=home / body.path, key=key, size=body.size, sha256=body.sha256, name=body.name)


def decrypt_body(  # noqa: PLR0913 - where the body is, which body, where it goes, the key
    home: Path, record_id: str, portion_id: str, body: Body, sink: ByteWriter, *, kek: KeyEncryptionKey
) -> StreamDigest:
    """Stream the plaintext of one portion's ``body`` into ``sink``; memory stays a few chunks.

    Every chunk is authenticated before it is written; a file body must then also have
    its stored size and SHA-256. Any failure is one opaque ``IntegrityError``, and
    ``sink`` may already hold a prefix of the plaintext: discard it (``Records.show``
    decrypts to a temporary file for that reason). Not audited: the caller audits what
    it does with the body.

    Raises:
        IntegrityError: wrong KEK, or the body or its file was changed.
        StorageError: the body's file is missing or unreadable.
    """
    key = _data_key(record_id, portion_id, body, kek)
    if isinstance(body, InlineBody):
        return decrypt_stream(io.BytesIO(body.ciphertext), sink, key)
    path = home / body.path
    try:
        source = path.open("rb")
    except OSError as e:
        msg = f"cannot read the encrypted body {path}: {e.strerror or e}"
        raise StorageError(msg, hint=f"restore the node home's {BODIES_DIR}/ directory from a backup") from e
    with source:
        digest = decrypt_stream(source, sink, key)
    if digest.length != body.size or not hmac.compare_digest(digest.sha256, body.sha256):
        raise _failed()
    return digest


def sync_directory(directory: Path) -> None:
    # Makes a new or renamed entry survive a crash; best effort where a directory
    # cannot be opened (the file's own data is synced already).
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_encrypted(source: BinaryIO, origin: Path, target: Path, written: list[Path]) -> EncryptedStream:
    """Encrypt ``source`` into the new file ``target``, synced before this returns."""
    try:
        # One at a time: mkdir(parents=True) would give the parents the default mode.
        target.parent.parent.mkdir(mode=0o700, exist_ok=True)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        # O_EXCL: a fresh record id has no body file yet; one already there is not ours.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o600)
        written.append(target)
        with os.fdopen(fd, "wb") as sink:
            stream = encrypt_stream(source, sink)
            sink.flush()
            os.fsync(sink.fileno())
    except OSError as e:
        msg = f"cannot encrypt {origin} into {target}: {e.strerror or e}"
        raise StorageError(msg, hint="check the space and permissions under the node home; nothing was stored") from e
    sync_directory(target.parent)
    sync_directory(target.parent.parent)
    return stream


def remove(paths: Sequence[Path], *, up_to: Path) -> None:
    """Delete ``paths`` and then their directories left empty, below ``up_to``."""
    directories = set()
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        directories.add(path.parent)
    for deepest in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        directory = deepest
        while directory != up_to and up_to in directory.parents:
            try:
                directory.rmdir()
            except OSError:  # not empty (another body), or already gone
                break
            directory = directory.parent


def open_files(paths: Sequence[Path | None], stack: contextlib.ExitStack) -> dict[int, BinaryIO]:
    """Open each file portion's file (by portion index; ``None`` is a text portion) into ``stack``.

    Raises:
        ValidationError: a name a reader could not write back, not a regular file,
            unreadable, empty, or two files of one name.
    """
    opened: dict[int, BinaryIO] = {}
    names: dict[str, int] = {}
    for i, path in enumerate(paths):
        if path is None:
            continue
        n = i + 1
        try:
            name = FileBody.check_name(path.name)
        except ValidationError as e:
            msg = f"portion {n}: {e.message}"
            raise ValidationError(msg, hint=e.hint) from e
        # Regular files only: a pipe would block, a device could be endless.
        if not path.is_file():
            problem = "is not a regular file" if path.exists() else "does not exist"
            msg = f"portion {n}: {path} {problem}"
            raise ValidationError(msg)
        try:
            source = stack.enter_context(path.open("rb"))
        except OSError as e:
            msg = f"portion {n}: cannot read {path}: {e.strerror or e}"
            raise ValidationError(msg) from e
        if os.fstat(source.fileno()).st_size == 0:
            msg = f"portion {n}: the file {path} is empty"
            raise ValidationError(msg)
        if (first := names.setdefault(name.casefold(), n)) != n:
            msg = f"portions {first} and {n} are both files named {name!r}"
            raise ValidationError(msg, hint="rename one: a reader writes a record's files into one directory")
        opened[i] = source
    return opened


def file_names(bodies: Mapping[str, Body]) -> dict[str, str]:
    """The name each file portion is written under: its own, unique within the record."""
    names: dict[str, str] = {}
    seen: set[str] = set()
    for portion_id, body in bodies.items():
        if not isinstance(body, FileBody):
            continue
        name = body.name or f"portion-{portion_id}"
        if name.casefold() in seen:  # creation refuses this; a record from elsewhere may not
            name = f"portion-{portion_id}-{name}"
        names[portion_id] = FileBody.check_name(name)
        seen.add(name.casefold())
    return names


def _exists_refusal(target: Path) -> ValidationError:
    msg = f"{target} exists; refusing to overwrite it"
    return ValidationError(msg, hint="allow overwriting (--force) or choose another directory; nothing was written")


def targets(out: Path, names: Mapping[str, str], *, force: bool) -> dict[str, Path]:
    """Where each file portion goes under ``out``, refusing what cannot or may not be written."""
    if not out.is_dir():
        msg = f"{out} is not a directory"
        raise ValidationError(msg, hint="create it first; nothing was written")
    targets = {}
    for portion_id, name in names.items():
        target = out / name
        if target.is_dir():
            msg = f"{target} is a directory"
            raise ValidationError(msg, hint="move it or choose another directory; nothing was written")
        if not force and os.path.lexists(target):
            raise _exists_refusal(target)
        targets[portion_id] = target
    return targets


def place(temp: Path, target: Path, *, force: bool) -> None:
    """Move a verified temporary file to ``target``; without ``force`` never over another file."""
    if force:
        temp.replace(target)
        return
    try:
        os.link(temp, target)  # fails if target exists, with no window between check and write
    except FileExistsError:
        raise _exists_refusal(target) from None
    except OSError:  # a file system without hard links (e.g. FAT): check, then rename
        if os.path.lexists(target):
            raise _exists_refusal(target) from None
        temp.replace(target)
        return
    temp.unlink()


def decrypt_beside(target: Path, decrypt: Callable[[ByteWriter], object]) -> Path:
    """A new temporary file beside ``target`` that ``decrypt`` wrote; removed on any failure."""
    try:
        fd, name = tempfile.mkstemp(prefix=".accord-", suffix=".part", dir=target.parent)
    except OSError as e:
        msg = f"cannot write into {target.parent}: {e.strerror or e}"
        raise ValidationError(msg, hint="choose a directory you can write; nothing was written") from e
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as sink:
            decrypt(sink)
            sink.flush()
            os.fsync(sink.fileno())
    except OSError as e:
        temp.unlink(missing_ok=True)
        msg = f"cannot write {target}: {e.strerror or e}"
        raise ValidationError(msg, hint="check the space in that directory; nothing was written") from e
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp
