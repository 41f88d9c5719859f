"""File portions: streamed encrypted under the node home, never half-written, read back checked.

Real files under tmp_path, real keys (cheap scrypt), real SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import resource
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import update

from accord.audit.entry import AuditEntry, EntryKind
from accord.crypto.stream import ciphertext_length, decrypt_stream
from accord.errors import IntegrityError, StorageError, UnknownReferenceError, ValidationError
from accord.services import audit, node, records
from accord.services._database import Database
from accord.services.world import init_node, read_world
from accord.storage.sql import SqlAuditStore, SqlRecordStore
from accord.storage.sql import node_tables as nt
from accord.storage.values import FileBody
from tests.unit.services.conftest import FAST, PASSPHRASE

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
OPAQUE = "encrypted body failed its integrity check"
# Every byte value, not UTF-8, over several 64 KiB chunks and not a multiple of one.
DATA = bytes(range(256)) * 777 + b"\xff\xfe tail"


@pytest.fixture(scope="module")
def world():
    return read_world()


@pytest.fixture
def service(database_url, node_home):
    db = Database(database_url=database_url)
    yield db, records.Records(database=db, home=node_home)
    db.close()


def write(path: Path, data: bytes = DATA) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def draft(*portions: records.PortionDraft) -> records.RecordDraft:
    return records.RecordDraft(title="Sohae imagery", topics=("dprk-missile",), portions=portions, precedence="FLASH")


def text(value: str = "launch at 05:10") -> records.PortionDraft:
    return records.parse_portion(f"KOR/MIL-II:USA,JPN:{value}")


def file(path: Path, level: str = "KOR/MIL-II") -> records.PortionDraft:
    return records.parse_portion_file(f"{level}:USA:{path}")


def counts(db):
    with db.transaction("count") as session:
        return SqlAuditStore(session).count(), len(SqlRecordStore(session).list())


def entries(db) -> list[AuditEntry]:
    with db.transaction("read log") as session:
        return [AuditEntry.from_bytes(b) for b in SqlAuditStore(session).entries()]


def listed(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def body_files(home: Path) -> list[str]:
    root = home / records.BODIES_DIR
    return sorted(p.relative_to(home).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def stored_bodies(db, record_id):
    with db.transaction("peek") as session:
        return SqlRecordStore(session).bodies(record_id)


def test_a_file_portion_is_streamed_encrypted_and_read_back(service, world, node_home, tmp_path):
    db, recs = service
    source = write(tmp_path / "in" / "Sohae 발사 (v2).bin")
    made = recs.create(draft(text(), file(source)), world=world, passphrase=PASSPHRASE, at=AT)

    body = stored_bodies(db, made.id)["2"]
    assert isinstance(body, FileBody)
    assert (body.path, body.size, body.name) == (f"bodies/{made.id}/2.enc", len(DATA), "Sohae 발사 (v2).bin")
    assert body.sha256 == hashlib.sha256(DATA).hexdigest()
    unlocked = node.unlock(node_home, PASSPHRASE)
    assert body.key_id == unlocked.kek.key_id
    encrypted = (node_home / body.path).read_bytes()
    assert len(encrypted) == ciphertext_length(len(DATA))
    assert DATA[:64] not in encrypted  # encrypted at rest
    assert (node_home / body.path).stat().st_mode & 0o777 == 0o600
    assert {(node_home / d).stat().st_mode & 0o777 for d in ("bodies", f"bodies/{made.id}")} == {0o700}
    assert body_files(node_home) == [body.path]

    opened = recs.show(made.id, passphrase=PASSPHRASE, at=AT)
    assert opened.bodies == {"1": "launch at 05:10"}
    assert opened.files == {"2": records.FileView(name=body.name, size=len(DATA), sha256=body.sha256)}
    assert opened.to_dict()["portions"][1]["file"] == {"name": body.name, "size": len(DATA), "sha256": body.sha256}

    out = tmp_path / "out"
    out.mkdir()
    written = recs.show(made.id, passphrase=PASSPHRASE, at=AT, out=out)
    assert (out / body.name).read_bytes() == DATA
    assert listed(out) == [body.name]  # no temporary file left beside it
    assert written.files["2"].written == out / body.name
    assert written.bodies == {"1": "launch at 05:10"}

    logged = entries(db)
    assert [e.kind for e in logged] == [EntryKind.RECORD, EntryKind.ACCESS, EntryKind.ACCESS]
    assert dict(logged[2].meta) == {"action": "record.read", "files": 1}
    audit.AuditLog(database=db, home=node_home).verify()


def test_streaming_accessors_for_other_services(service, world, node_home, tmp_path):
    db, recs = service
    made = recs.create(draft(text(), file(write(tmp_path / "a.bin"))), world=world, passphrase=PASSPHRASE, at=AT)
    unlocked = node.unlock(node_home, PASSPHRASE)
    before = counts(db)

    sink = io.BytesIO()
    digest = recs.read_body(made.id, "2", sink, node=unlocked)
    assert (sink.getvalue(), digest.length, digest.sha256) == (DATA, len(DATA), hashlib.sha256(DATA).hexdigest())
    as_text = io.BytesIO()
    recs.read_body(made.id, "1", as_text, node=unlocked)
    assert as_text.getvalue() == b"launch at 05:10"

    body = stored_bodies(db, made.id)["2"]
    source = records.file_body_source(node_home, made.id, "2", body, kek=unlocked.kek)
    assert (source.path, source.size, source.name) == (node_home / body.path, len(DATA), "a.bin")
    assert "key" not in repr(source).replace("key=", "")  # the data key is kept out of reprs
    plain = io.BytesIO()
    with source.path.open("rb") as ciphertext:
        assert decrypt_stream(ciphertext, plain, source.key).sha256 == source.sha256
    assert plain.getvalue() == DATA
    with pytest.raises(IntegrityError, match=OPAQUE):  # bound to its record and portion
        records.file_body_source(node_home, made.id, "3", body, kek=unlocked.kek)

    with pytest.raises(UnknownReferenceError, match="no body for portion '9'"):
        recs.read_body(made.id, "9", io.BytesIO(), node=unlocked)
    with pytest.raises(UnknownReferenceError, match="no record KOR-nope"):
        recs.read_body("KOR-nope", "1", io.BytesIO(), node=unlocked)
    assert counts(db) == before  # not audited: the caller audits its own use


def _bad_name(tmp_path: Path) -> list[records.PortionDraft]:
    return [file(write(tmp_path / "line\nbreak.bin"))]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda t: [file(t / "missing.bin")], "missing.bin does not exist"),
        (lambda t: [file(t)], "is not a regular file"),
        (lambda t: [file(write(t / "empty.bin", b""))], "portion 2: the file .*empty.bin is empty"),
        (lambda t: [file(write(t / "x" / "a.pdf")), file(write(t / "y" / "A.PDF"))], "portions 2 and 3 are both"),
        (_bad_name, "portion 2: .* is not a plain file name"),
        (lambda t: [file(write(t / "ok.bin")), file(write(t / "ok2.bin"), level="KOR/NOPE")], "unknown level"),
        (
            lambda t: [records.PortionDraft(level="KOR/MIL-II", rel_to=(), text="x", path=write(t / "b.bin"))],
            "portion 2 has both text and a file",
        ),
    ],
    ids=["missing", "directory", "empty", "same-name", "unprintable-name", "bad-level-beside-a-file", "text-and-file"],
)
def test_a_refused_file_portion_leaves_only_the_refusal(service, world, node_home, tmp_path, make, match):
    db, recs = service
    with pytest.raises(ValidationError, match=match):
        recs.create(draft(text(), *make(tmp_path)), world=world, passphrase=PASSPHRASE, at=AT)
    assert counts(db) == (1, 0)
    assert entries(db)[0].meta["outcome"] == "refused"
    assert not (node_home / records.BODIES_DIR).exists()


@pytest.mark.parametrize("failure", [StorageError("the database went away"), KeyboardInterrupt()], ids=type)
def test_a_failed_transaction_removes_the_files_it_would_have_named(
    service, world, node_home, tmp_path, monkeypatch, failure
):
    db, recs = service
    kept = recs.create(draft(file(write(tmp_path / "kept.bin"))), world=world, passphrase=PASSPHRASE, at=AT)
    seen: list[list[str]] = []

    def fail(*_args, **_kwargs):
        seen.append(body_files(node_home))  # the files are there, synced, before the commit
        raise failure

    monkeypatch.setattr(audit, "append", fail)  # the last statement of the transaction
    new = draft(file(write(tmp_path / "one.bin")), file(write(tmp_path / "two.bin")))
    with pytest.raises(type(failure)):
        recs.create(new, world=world, passphrase=PASSPHRASE, at=AT)
    monkeypatch.undo()

    assert len(seen[0]) == 3  # the kept record's file and the two new ones
    assert counts(db) == (1, 1)  # the first record and its entry, nothing of the second
    assert body_files(node_home) == [f"bodies/{kept.id}/1.enc"]
    assert sorted(p.name for p in (node_home / records.BODIES_DIR).iterdir()) == [kept.id]  # no empty directory


_CRASH = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from accord.services import records
    from accord.services._database import Database
    from accord.services.world import init_node, read_world

    url, home, source = sys.argv[1:]
    real = Database.transaction

    def transaction(self, action):
        if action == "store the record":
            os._exit(9)  # killed after the files were written, before the commit
        return real(self, action)

    Database.transaction = transaction
    draft = records.RecordDraft(
        title="t", topics=("dprk-missile",), portions=(records.parse_portion_file(f"KOR/MIL-II::{source}"),)
    )
    db = Database(database_url=url)
    records.Records(database=db, home=Path(home)).create(draft, world=read_world(), passphrase="correct horse")
    """
)


def test_a_crash_before_the_commit_leaves_only_an_orphan_that_can_be_removed(
    service, database_url, world, node_home, tmp_path
):
    db, recs = service
    kept = recs.create(draft(file(write(tmp_path / "kept.bin"))), world=world, passphrase=PASSPHRASE, at=AT)
    source = write(tmp_path / "lost.bin")
    crashed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _CRASH, database_url, str(node_home), str(source)], check=False, capture_output=True
    )
    assert crashed.returncode == 9, crashed.stderr.decode()

    assert counts(db) == (1, 1)  # nothing of the crashed creation in the database
    orphan = next(p for p in body_files(node_home) if not p.startswith(f"bodies/{kept.id}/"))
    assert recs.orphans() == []  # too young: it might be about to be committed
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert recs.orphans(at=later) == [orphan]
    assert recs.orphans(older_than=dt.timedelta(0)) == [orphan]

    assert recs.remove_orphans(older_than=dt.timedelta(0)) == [orphan]
    assert body_files(node_home) == [f"bodies/{kept.id}/1.enc"]
    assert recs.orphans(older_than=dt.timedelta(0)) == []
    sink = io.BytesIO()
    recs.read_body(kept.id, "1", sink, node=node.unlock(node_home, PASSPHRASE))
    assert sink.getvalue() == DATA


def test_writing_out_refuses_to_overwrite_unless_forced(service, world, tmp_path):
    db, recs = service
    first, second = write(tmp_path / "in" / "a.bin"), write(tmp_path / "in" / "b.bin", b"second file")
    made = recs.create(draft(file(first), file(second)), world=world, passphrase=PASSPHRASE, at=AT)
    out = tmp_path / "out"
    write(out / "b.bin", b"older")
    before = counts(db)

    with pytest.raises(ValidationError, match=r"b\.bin exists; refusing to overwrite it"):
        recs.show(made.id, passphrase=PASSPHRASE, out=out)
    assert listed(out) == ["b.bin"]
    assert (out / "b.bin").read_bytes() == b"older"
    assert counts(db) == before  # nothing read, nothing audited

    forced = recs.show(made.id, passphrase=PASSPHRASE, out=out, force=True)
    assert (out / "a.bin").read_bytes() == DATA
    assert (out / "b.bin").read_bytes() == b"second file"
    assert {p: f.written for p, f in forced.files.items()} == {"1": out / "a.bin", "2": out / "b.bin"}

    with pytest.raises(ValidationError, match="is not a directory"):
        recs.show(made.id, passphrase=PASSPHRASE, out=out / "a.bin")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValidationError, match="no passphrase"):
        recs.show(made.id, out=empty)
    assert listed(empty) == []


def _flip_a_byte(db, home, record_id):
    path = home / stored_bodies(db, record_id)["2"].path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def _truncate(db, home, record_id):
    path = home / stored_bodies(db, record_id)["2"].path
    path.write_bytes(path.read_bytes()[:-100])


def _swap_files(db, home, record_id):
    bodies = stored_bodies(db, record_id)
    a, b = home / bodies["1"].path, home / bodies["2"].path
    data = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(data)


def _change_row(**values):
    def change(db, _home, record_id):
        with db.transaction("tamper") as session:
            session.execute(update(nt.record_bodies).where(nt.record_bodies.c.record_id == record_id).values(**values))

    return change


@pytest.mark.parametrize(
    "tamper",
    [_flip_a_byte, _truncate, _swap_files, _change_row(sha256="0" * 64), _change_row(size=len(DATA) - 1)],
    ids=["flipped-byte", "truncated", "swapped-files", "other-digest", "other-size"],
)
def test_a_changed_body_is_one_opaque_error_and_nothing_is_written(service, world, node_home, tmp_path, tamper):
    db, recs = service
    portions = (file(write(tmp_path / "in" / "first.bin", b"first, intact")), file(write(tmp_path / "in" / "x.bin")))
    made = recs.create(draft(*portions), world=world, passphrase=PASSPHRASE, at=AT)
    tamper(db, node_home, made.id)
    out = tmp_path / "out"
    out.mkdir()
    before = counts(db)

    with pytest.raises(IntegrityError) as failed:
        recs.show(made.id, passphrase=PASSPHRASE, out=out)
    assert failed.value.diagnostics() == OPAQUE
    assert listed(out) == []  # not even the intact first file, nor a temporary one
    assert counts(db) == before


def test_a_missing_body_file_is_a_storage_error(service, world, node_home, tmp_path):
    db, recs = service
    made = recs.create(draft(file(write(tmp_path / "a.bin"))), world=world, passphrase=PASSPHRASE, at=AT)
    (node_home / stored_bodies(db, made.id)["1"].path).unlink()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(StorageError, match="cannot read the encrypted body") as missing:
        recs.show(made.id, passphrase=PASSPHRASE, out=out)
    assert "restore the node home's bodies/" in missing.value.diagnostics()
    assert listed(out) == []


@pytest.mark.parametrize(
    ("spec", "level", "rel_to", "path"),
    [
        ("KOR/MIL-II:USA,JPN:/data/a.pdf", "KOR/MIL-II", ("USA", "JPN"), "/data/a.pdf"),
        ("KOR/MIL-III::C:\\scans\\b:c.tif", "KOR/MIL-III", (), "C:\\scans\\b:c.tif"),
    ],
    ids=["posix", "colons-in-path"],
)
def test_portion_file_specs(spec, level, rel_to, path):
    assert records.parse_portion_file(spec) == records.PortionDraft(level=level, rel_to=rel_to, path=Path(path))


def test_a_bad_portion_file_spec_names_the_path():
    with pytest.raises(ValidationError, match="LEVEL:REL_TO,REL_TO:PATH"):
        records.parse_portion_file("just-a-path.pdf")


LARGE_MIB = 256
MEMORY_BOUND = 32 * 1024 * 1024


def test_a_large_file_goes_in_and_out_in_bounded_memory(tmp_path, world):
    """256 MiB in and out under 32 MiB of traced Python memory: bodies are never held whole."""
    url, home = f"sqlite:///{tmp_path / 'accord.db'}", tmp_path / "home"
    init_node(home=home, database_url=url)
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, scrypt=FAST)
    source, out = tmp_path / "imagery.tif", tmp_path / "out"
    out.mkdir()
    block, expected = os.urandom(1 << 20), hashlib.sha256()
    with source.open("wb") as f:
        for i in range(LARGE_MIB):
            chunk = block[i:] + block[:i]  # every MiB different, so a misplaced chunk would show
            f.write(chunk)
            expected.update(chunk)
    unlocked = node.unlock(home, PASSPHRASE)
    with Database(database_url=url) as db:
        recs = records.Records(database=db, home=home)
        recs.list()  # connect and check the schema before measuring
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        tracemalloc.start()
        try:
            made = recs.create(draft(file(source)), world=world, passphrase=None, node=unlocked, at=AT)
            view = recs.show(made.id, passphrase=PASSPHRASE, out=out, at=AT)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before

    assert peak < MEMORY_BOUND, f"peak traced memory {peak / 2**20:.1f} MiB"
    assert rss_growth < LARGE_MIB * 2**20 // 2, f"peak RSS grew by {rss_growth / 2**20:.1f} MiB"
    assert view.files["1"].size == LARGE_MIB * 2**20
    with (out / "imagery.tif").open("rb") as written:
        assert hashlib.file_digest(written, "sha256").hexdigest() == expected.hexdigest() == view.files["1"].sha256
