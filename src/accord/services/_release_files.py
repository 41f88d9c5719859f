"""File portions of a release: their keys sealed inside, their ciphertext travelling beside.

A file portion is never put inside the sealed envelope (it may be gigabytes). Its
body in the sealed content names the file (name, plaintext size and SHA-256) and
carries the file's own data key; the encrypted file at rest at the originator
(``crypto.stream`` chunks, authenticated under that key) travels beside the message as
an *attachment*: for a message file ``M``, the files ``M.parts/<portion id>.enc``.
Only whoever can open the envelope learns the key, so the attachment is as protected
in transit as at rest.

The recipient checks an attachment by decrypting it in full to a hashing sink (every
chunk authenticated, then size and SHA-256 against the signed body), keeps it under
``received/<release id>/`` in its home, and decrypts it again only for a person allowed
to open the release. Nothing here touches the database, decides or audits.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from accord.crypto.stream import decrypt_stream
from accord.errors import IntegrityError, StorageError, ValidationError
from accord.services._record_bodies import FileBodySource, decrypt_beside, place, remove, sync_directory, targets

__all__ = [
    "PARTS_SUFFIX",
    "RECEIVED_DIR",
    "check_attachment",
    "decrypt_attachment",
    "file_body",
    "keep_attachments",
    "parts_directory",
    "received_path",
    "write_attachments",
]

PARTS_SUFFIX: Final = ".parts"
RECEIVED_DIR: Final = "received"
_FILE_FIELDS: Final = frozenset({"name", "size", "sha256", "key"})
_COPY_CHUNK: Final = 1024 * 1024


def _failed() -> IntegrityError:
    return IntegrityError("sealed release failed its integrity check")


class _Hashing:
    """A sink that keeps nothing: decrypt_stream computes the digest as it writes."""

    def write(self, data: bytes, /) -> int:
        return len(data)


def file_body(source: FileBodySource, salt: str) -> dict[str, Any]:
    """The body of a file portion in the sealed content (its key included: sealed only)."""
    return {
        "salt": salt,
        "file": {
            "name": source.name or "portion.bin",
            "size": source.size,
            "sha256": source.sha256,
            "key": base64.b64encode(source.key).decode("ascii"),
        },
    }


def _file(body: Mapping[str, Any]) -> tuple[str, int, str, bytes]:
    """(name, size, sha256, key) of a file body; malformed is the opaque integrity error."""
    file = body.get("file")
    if not isinstance(file, Mapping) or set(file) != _FILE_FIELDS:
        raise _failed()
    name, size, sha256, key = file["name"], file["size"], file["sha256"], file["key"]
    if not (isinstance(name, str) and isinstance(size, int) and isinstance(sha256, str) and isinstance(key, str)):
        raise _failed()
    try:
        return name, size, sha256, base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError) as e:
        raise _failed() from e


def parts_directory(message_file: Path) -> Path:
    """Where the attachments of the message file ``message_file`` are."""
    return message_file.with_name(message_file.name + PARTS_SUFFIX)


def write_attachments(directory: Path, sources: Mapping[str, Path]) -> None:
    """Copy each attachment's ciphertext to ``directory/<portion id>.enc``, all or nothing.

    Raises:
        ValidationError: ``directory`` exists, or cannot be written.
    """
    if directory.exists():
        msg = f"{directory} exists; refusing to overwrite it"
        raise ValidationError(msg, hint="choose another --out path")
    try:
        staging = Path(tempfile.mkdtemp(prefix=".accord-", dir=directory.parent))
    except OSError as e:
        msg = f"cannot write into {directory.parent}: {e.strerror or e}"
        raise ValidationError(msg) from e
    try:
        for portion_id, source in sources.items():
            with source.open("rb") as reader, (staging / f"{portion_id}.enc").open("xb") as writer:
                shutil.copyfileobj(reader, writer, _COPY_CHUNK)
                writer.flush()
                os.fsync(writer.fileno())
        staging.rename(directory)
        sync_directory(directory.parent)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        msg = f"cannot write the attachments to {directory}: {e.strerror or e}"
        raise ValidationError(msg) from e


def check_attachment(path: Path, body: Mapping[str, Any]) -> None:
    """Decrypt ``path`` in full under the body's key and check its size and SHA-256.

    Raises:
        IntegrityError: missing, changed, truncated, or not the file the body names.
    """
    _, size, sha256, key = _file(body)
    try:
        with path.open("rb") as source:
            digest = decrypt_stream(source, _Hashing(), key)
    except OSError as e:
        raise _failed() from e
    if digest.length != size or not hmac.compare_digest(digest.sha256, sha256):
        raise _failed()


def received_path(home: Path, release_id: str, portion_id: str) -> Path:
    """Where a received release's attachment is kept under the node home."""
    return home / RECEIVED_DIR / release_id / f"{portion_id}.enc"


def keep_attachments(home: Path, release_id: str, sources: Mapping[str, Path]) -> list[Path]:
    """Copy checked attachments under ``received/<release id>/``; the files written.

    On failure nothing is left behind. The caller removes them (``remove``) if its
    transaction then fails, so an attachment without its release is never kept.

    Raises:
        StorageError: the node home cannot be written.
    """
    written: list[Path] = []
    try:
        for portion_id, source in sources.items():
            target = received_path(home, release_id, portion_id)
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with source.open("rb") as reader, target.open("xb") as writer:
                written.append(target)
                shutil.copyfileobj(reader, writer, _COPY_CHUNK)
                writer.flush()
                os.fsync(writer.fileno())
        if written:
            sync_directory(written[0].parent)
    except OSError as e:
        remove(written, up_to=home)
        msg = f"cannot keep the release's attachments under {home / RECEIVED_DIR}: {e.strerror or e}"
        raise StorageError(msg) from e
    return written


def decrypt_attachment(path: Path, body: Mapping[str, Any], out: Path, *, force: bool) -> Path:
    """Decrypt a kept attachment to ``out/<its name>``, checked before it is put in place.

    Raises:
        ValidationError: ``out`` is not a directory, or the file exists (without ``force``).
        IntegrityError: the kept file was changed.
    """
    name, size, sha256, key = _file(body)
    target = targets(out, {"file": name}, force=force)["file"]

    def decrypt(sink: Any) -> None:  # noqa: ANN401 - a binary file object
        with path.open("rb") as source:
            digest = decrypt_stream(source, sink, key)
        if digest.length != size or not hmac.compare_digest(digest.sha256, sha256):
            raise _failed()

    temp = decrypt_beside(target, decrypt)
    try:
        place(temp, target, force=force)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
    return target
