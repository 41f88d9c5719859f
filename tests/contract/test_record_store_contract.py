"""The RecordStore contract, the same for the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Connection, inspect, text, update
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlalchemy.orm import Session

from accord.domain.record import Portion
from accord.errors import StorageError, UnknownReferenceError, ValidationError
from accord.storage import StoredRecord
from accord.storage.sql import SqlRecordStore, make_engine, migrate
from accord.storage.sql import node_tables as nt
from accord.storage.values import MAX_PAGE, Body
from tests.contract.conftest import Node
from tests.contract.holdings import AT, LATER, file_body, inline, record


def ids(page) -> list[str]:
    return [s.record.id for s in page]


def test_a_record_reads_back_equal_with_its_encrypted_bodies_in_portion_order(node: Node):
    kept = record()
    bodies = {"annex": file_body(), "summary": inline()}  # given out of order on purpose
    with node.unit() as s:
        assert s.records.exists("r1") is False
        assert s.records.get("r1") is None
        s.records.add(kept, added_at=AT, bodies=bodies)

    with node.unit() as s:
        assert s.records.exists("r1") is True
        assert s.records.get("r1") == StoredRecord(record=kept, added_at=AT)
        stored = s.records.bodies("r1")
        assert stored == bodies
        assert list(stored) == ["summary", "annex"]  # the record's order; "2" has no body
        assert [p.rel_to for p in s.records.get("r1").record.portions] == [p.rel_to for p in kept.portions]


def test_a_record_without_bodies_has_none(node: Node):
    with node.unit() as s:
        s.records.add(record(), added_at=AT)
        assert s.records.bodies("r1") == {}
        with pytest.raises(UnknownReferenceError, match="no record r9"):
            s.records.bodies("r9")


def test_a_taken_id_is_refused_and_nothing_is_written(node: Node):
    with node.unit() as s:
        s.records.add(record(), added_at=AT, bodies={"summary": inline("first")})
    other = dataclasses.replace(record(), title="another record under the same id")

    with node.unit() as s:
        with pytest.raises(ValidationError, match="record r1 is already stored") as refused:
            s.records.add(other, added_at=LATER, bodies={"annex": file_body("bodies/other.bin")})
        assert "nothing was written" in refused.value.diagnostics()
        # the unit of work goes on: the refusal broke nothing
        s.records.add(record("r2"), added_at=LATER, bodies={"annex": file_body("bodies/other.bin")})

    with node.unit() as s:
        assert s.records.get("r1") == StoredRecord(record=record(), added_at=AT)
        assert s.records.bodies("r1") == {"summary": inline("first")}
        assert ids(s.records.list()) == ["r1", "r2"]


def test_plaintext_stray_bodies_shared_files_and_bad_times_are_refused(node: Node):
    with node.unit() as s:
        s.records.add(record("r1"), added_at=AT, bodies={"annex": file_body("bodies/a.bin")})
    clear = record("r2")
    clear = dataclasses.replace(clear, portions=(Portion(id="1", level="KOR/MIL-II", rel_to=frozenset(), text="x"),))
    refusals = [
        (clear, {}, AT, "portion 1 carries plaintext"),
        (record("r2"), {"nope": inline()}, AT, "has no portion nope"),
        (record("r2"), {"summary": file_body("f.bin"), "annex": file_body("f.bin")}, AT, "name the same body file"),
        (record("r2"), {"summary": file_body("bodies/a.bin")}, AT, "bodies/a.bin is already the body"),
        (record("r2"), {}, "2026-03-01 09:15", "ISO 8601 time with a UTC offset"),
    ]
    with node.unit() as s:
        for candidate, bodies, at, problem in refusals:
            with pytest.raises(ValidationError, match=problem):
                s.records.add(candidate, added_at=at, bodies=bodies)
    with node.unit() as s:
        assert ids(s.records.list()) == ["r1"]
        assert s.records.exists("r2") is False


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../outside.bin", "bodies/../../x", "a//b", "bodies\\x.bin", "", "./x"]
)
def test_a_file_body_stays_under_the_node_home(path: str):
    with pytest.raises(ValidationError, match="relative to the node home"):
        file_body(path)


def test_listing_pages_in_the_order_added_and_stays_stable(node: Node):
    plan = [
        ("r5", "KOR", ("dprk-missile",)),
        ("r1", "JPN", ("dprk-nuclear", "dprk-missile")),
        ("r9", "KOR", ("logistics",)),
        ("r3", "USA", ("dprk-missile",)),
        ("r2", "KOR", ("dprk-nuclear",)),
    ]
    for record_id, originator, topics in plan:
        with node.unit() as s:
            s.records.add(record(record_id, originator=originator, topics=topics), added_at=AT)

    with node.unit() as s:
        first = s.records.list(limit=2)
        second = s.records.list(after=first[-1].record.id, limit=2)
        third = s.records.list(after=second[-1].record.id, limit=2)
        assert [ids(first), ids(second), ids(third)] == [["r5", "r1"], ["r9", "r3"], ["r2"]]
        assert s.records.list(after="r2") == []
        assert ids(s.records.list(originator="KOR")) == ["r5", "r9", "r2"]
        assert ids(s.records.list(topic="dprk-missile")) == ["r5", "r1", "r3"]
        assert ids(s.records.list(originator="KOR", topic="dprk-nuclear")) == ["r2"]
        assert ids(s.records.list(originator="KOR", after="r5", limit=1)) == ["r9"]
        assert s.records.list(originator="NATO") == []

    # a record added later comes after every page already read, whatever its id
    with node.unit() as s:
        s.records.add(record("r0"), added_at=LATER)
    with node.unit() as s:
        assert ids(s.records.list(after=second[-1].record.id, limit=10)) == ["r2", "r0"]
        assert ids(s.records.list(limit=2)) == ids(first)


def test_bad_cursors_and_page_sizes_are_refused(node: Node):
    with node.unit() as s:
        s.records.add(record(), added_at=AT)
        with pytest.raises(UnknownReferenceError, match="no record gone"):
            s.records.list(after="gone")
        for limit in (0, -1, MAX_PAGE + 1):
            with pytest.raises(ValidationError, match=f"1 to {MAX_PAGE} items"):
                s.records.list(limit=limit)
        assert len(s.records.list(limit=MAX_PAGE)) == 1


def test_re_marking_changes_only_the_named_portions(node: Node):
    with node.unit() as s:
        s.records.add(record(), added_at=AT, bodies={"annex": inline()})
        s.records.set_levels("r1", {"annex": "KOR/MIL-I", "2": "KOR/MIL-III"})

    with node.unit() as s:
        stored = s.records.get("r1")
        assert [(p.id, p.level) for p in stored.record.portions] == [
            ("summary", "KOR/MIL-III"),
            ("annex", "KOR/MIL-I"),
            ("2", "KOR/MIL-III"),
        ]
        assert s.records.bodies("r1") == {"annex": inline()}

    with node.unit() as s:
        with pytest.raises(UnknownReferenceError, match="has no portion ghost"):
            s.records.set_levels("r1", {"summary": "KOR/MIL-I", "ghost": "KOR/MIL-I"})
        with pytest.raises(ValidationError, match="with no level"):
            s.records.set_levels("r1", {"summary": ""})
        with pytest.raises(UnknownReferenceError, match="no record r7"):
            s.records.set_levels("r7", {"summary": "KOR/MIL-I"})
        assert s.records.get("r1").record.portions[0].level == "KOR/MIL-III"


def test_a_file_body_keeps_its_original_name(node: Node):
    named = dataclasses.replace(file_body(), name="Sohae launch 발사 (v2).pdf")
    unnamed = file_body("bodies/r1/summary.enc")
    with node.unit() as s:
        s.records.add(record(), added_at=AT, bodies={"annex": named, "summary": unnamed})
    with node.unit() as s:
        stored = s.records.bodies("r1")
        assert stored == {"summary": unnamed, "annex": named}
        assert stored["annex"].name == "Sohae launch 발사 (v2).pdf"
        assert stored["summary"].name is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a/b",
        "..\\x",
        "x\x00y",
        "line\nbreak",
        "esc\x1b[2J",
        "del\x7f",
        "x\u202efdp.exe",
        "\udcff.bin",
        "é" * 128,
    ],
    ids=[
        "empty",
        "dot",
        "dotdot",
        "slash",
        "backslash",
        "nul",
        "newline",
        "escape",
        "del",
        "rlo",
        "not-utf8",
        "too-long",
    ],
)
def test_a_file_name_is_a_plain_name(name: str):
    with pytest.raises(ValidationError, match=r"file name|not a plain file name"):
        dataclasses.replace(file_body(), name=name)


def test_the_longest_name_is_accepted():
    assert dataclasses.replace(file_body(), name="é" * 127 + "x").name == "é" * 127 + "x"


_BEFORE, _NAMES = "7ae30b2c1d27", "3552f5f9115f"  # the revisions before and with file names


def _stored_bodies(connection: Connection) -> dict[str, Body]:
    return SqlRecordStore(Session(bind=connection)).bodies("r1")


def test_file_names_migrate_up_down_and_up_with_the_bodies_kept(database_url: str):
    """Revision 3552f5f9115f adds ``record_bodies.name``: bodies stored before it keep
    no name, a text body may not carry one, and downgrading drops only the names."""
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, _BEFORE)
        with engine.begin() as connection:  # a file body as the store before the revision wrote it
            connection.execute(
                text(
                    "INSERT INTO records (id, seq, originator, title, purpose, precedence, added_at)"
                    " VALUES ('r1', 0, 'KOR', 't', '', 'FLASH', :at)"
                ),
                {"at": AT},
            )
            connection.execute(
                text(
                    "INSERT INTO record_portions (record_id, position, portion_id, level)"
                    " VALUES ('r1', 0, 'annex', 'L')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO record_bodies (record_id, portion_id, kind, key_id, wrapped_key, path, size, sha256)"
                    " VALUES ('r1', 'annex', 'file', 'k', :key, 'bodies/r1/annex.enc', 5, :sha)"
                ),
                {"key": b"\x02" * 48, "sha": "0" * 64},
            )

        migrate.upgrade(engine, _NAMES)
        with engine.begin() as connection:
            kept = _stored_bodies(connection)["annex"]
            assert (kept.path, kept.size, kept.name) == ("bodies/r1/annex.enc", 5, None)
            connection.execute(update(nt.record_bodies).values(name="annex.pdf"))
            assert _stored_bodies(connection)["annex"].name == "annex.pdf"
        text_body = {"kind": "text", "ciphertext": b"c", "path": None, "size": None, "sha256": None}
        with engine.begin() as connection, pytest.raises(DatabaseIntegrityError, match="name_only_for_files"):
            connection.execute(update(nt.record_bodies).values(**text_body))

        migrate.downgrade(engine, _BEFORE)
        with engine.connect() as connection:
            assert "name" not in {c["name"] for c in inspect(connection).get_columns("record_bodies")}
            assert connection.execute(text("SELECT path, size FROM record_bodies")).all() == [
                ("bodies/r1/annex.enc", 5)
            ]

        migrate.upgrade(engine, _NAMES)
        with engine.connect() as connection:
            assert _stored_bodies(connection)["annex"].name is None
    finally:
        engine.dispose()


def test_a_body_row_changed_outside_accord_does_not_read_back(database_url: str):
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as connection:
            SqlRecordStore(Session(bind=connection)).add(record(), added_at=AT, bodies={"annex": file_body()})
            connection.execute(update(nt.record_bodies).values(name="../../etc/passwd"))
            with pytest.raises(StorageError, match="bodies of record r1 no longer reads back"):
                _stored_bodies(connection)
    finally:
        engine.dispose()


def test_referenced_paths_are_found_by_exact_path_in_batches(database_url: str):
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as connection:
            store = SqlRecordStore(Session(bind=connection))
            store.add(record(), added_at=AT, bodies={"annex": file_body("bodies/r1/2.enc"), "summary": inline()})
            asked = [f"bodies/x/{i}.enc" for i in range(1200)] + ["bodies/r1/2.enc", "bodies/r1/2.enc.part", "r1/2.enc"]
            assert store.referenced_paths(asked) == {"bodies/r1/2.enc"}
            assert store.referenced_paths([]) == set()
    finally:
        engine.dispose()
