"""Loading a world directory: the shipped dataset, and errors that name file, line, field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from accord.domain.agreement import AgreementKind
from accord.errors import WorldFormatError
from accord.serialization.world import default_world_path, load_world


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "world"
    shutil.copytree(default_world_path(), target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_shipped_world_has_the_stable_identifiers():
    world = load_world()
    assert {p.code for p in world.parties} == {"KOR", "JPN", "USA", "NATO"}
    assert {lv.id for s in world.schemes for lv in s.levels} == {
        "KOR/MIL-I",
        "KOR/MIL-II",
        "KOR/MIL-III",
        "JPN/KIMITSU",
        "JPN/GOKUHI",
        "JPN/TOKUTEI",
        "JPN/BOEI",
        "JPN/HI",
        "USA/TOP-SECRET",
        "USA/SECRET",
        "USA/CONFIDENTIAL",
        "NATO/CTS",
        "NATO/NS",
        "NATO/NC",
        "NATO/NR",
    }
    ids = {a.id for a in world.agreements}
    assert {
        "KOR-JPN-GSOMIA",
        "USA-JPN-GSOMIA",
        "KOR-USA-GSOMIA",
        "TISA",
        "USA-JPN-ACSA",
        "KOR-USA-MLSA",
        "CAMP-DAVID-CONSULT",
    } <= ids
    tisa = world.agreement("TISA")
    assert tisa.kind is AgreementKind.HUB_ARRANGEMENT
    assert tisa.hub == "USA"
    assert tisa.topics == {"dprk-nuclear", "dprk-missile"}
    assert not tisa.binding
    assert str(world.level("JPN/BOEI").valid_until) == "2014-12-09"


def test_every_agreement_and_event_carries_a_source_url():
    for agreement in load_world().agreements:
        assert agreement.sources, agreement.id
        assert all(s.startswith(("http://", "https://")) for s in agreement.sources)
        for event in agreement.events:
            assert re.match(r"https?://", event.source), (agreement.id, event)


def test_inferred_equivalences_are_marked():
    world = load_world()
    for agreement_id in ("KOR-USA-GSOMIA", "USA-JPN-GSOMIA"):
        assert all(row.inferred for row in world.agreement(agreement_id).equivalences)
    assert not any(row.inferred for row in world.agreement("KOR-JPN-GSOMIA").equivalences)


def test_loading_twice_gives_the_same_fingerprints():
    assert load_world().fingerprint == load_world().fingerprint


def test_a_copy_loads_like_the_original(copy):
    assert load_world(copy).fingerprint == load_world().fingerprint


@pytest.mark.parametrize(
    ("file", "old", "new", "needle", "message"),
    [
        (
            "agreements.yaml",
            "kind: hub-arrangement",
            "kind: hub",
            "kind: hub",
            r"agreements\[3\]\.kind: 'hub' is not one of",
        ),
        (
            "agreements.yaml",
            "{date: 2014-12-29, kind: in-force",
            "{date: 2014-13-29, kind: in-force",
            "2014-13-29",
            r"events\[3\]\.date: must be a date",
        ),
        (
            "agreements.yaml",
            "    hub: USA\n",
            "    hub: USA\n    hubb: USA\n",
            "hubb:",
            r"agreements\[3\]\.hubb: is not a known field",
        ),
        (
            "agreements.yaml",
            "source: [KH23]}",
            "source: [NOPE]}",
            "[NOPE]",
            r"source: unknown source 'NOPE'",
        ),
        (
            "parties.yaml",
            "code: NATO",
            "code: nato",
            "code: nato",
            r"parties\[3\]\.code: party code 'nato'",
        ),
        (
            "schemes.yaml",
            "{id: USA/SECRET, rank: 2",
            "{id: USA/SECRET, rank: -2",
            "USA/SECRET",
            r"levels\[1\]\.rank: must be a whole number",
        ),
        (
            "agreements.yaml",
            "    binding: false\n    topics: [dprk",
            "    binding: maybe\n    topics: [dprk",
            "binding: maybe",
            r"\.binding: must be true or false",
        ),
    ],
    ids=[
        "bad-kind",
        "bad-date",
        "unknown-field",
        "unknown-source",
        "bad-party-code",
        "negative-rank",
        "bad-bool",
    ],
)
def test_errors_name_file_line_and_field(copy, file, old, new, needle, message):
    path = copy / file
    edit(path, old, new)
    with pytest.raises(WorldFormatError) as info:
        load_world(copy)
    text = info.value.message
    assert text.startswith(f"{path}:{line_of(path, needle)}: "), text
    assert re.search(message, text), text


def test_lifecycle_errors_point_at_the_agreement(copy):
    path = copy / "agreements.yaml"
    edit(path, "kind: termination-notice-suspended", "kind: termination-notice-withdrawn")
    edit(
        path,
        'kind: termination-notice-withdrawn, party: KOR, summary: "ROK withdraws',
        'kind: termination-notice-suspended, party: KOR, summary: "ROK withdraws',
    )
    with pytest.raises(
        WorldFormatError,
        match=r"agreements\.yaml:\d+: agreements\[0\]\.id: agreement KOR-JPN-GSOMIA: "
        r"notice suspended on 2023-03-21 but none is pending",
    ):
        load_world(copy)


def test_cross_file_references_are_checked(copy):
    edit(copy / "agreements.yaml", "parties: [USA, JPN, KOR]", "parties: [USA, JPN, PRK]")
    with pytest.raises(
        WorldFormatError,
        match=r"do not fit together: agreement CAMP-DAVID-CONSULT names unknown party 'PRK'",
    ):
        load_world(copy)


def test_invalid_yaml_names_the_line(copy):
    path = copy / "parties.yaml"
    path.write_text("format: accord-world/1\nparties:\n  - code: KOR\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(WorldFormatError, match=rf"{re.escape(str(path))}:\d+: not valid YAML"):
        load_world(copy)


def test_duplicate_keys_are_refused(copy):
    path = copy / "parties.yaml"
    edit(path, "    name: Japan\n", "    name: Japan\n    name: Nippon\n")
    with pytest.raises(WorldFormatError, match="appears twice"):
        load_world(copy)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: (d / "sources.yaml").unlink(), "sources.yaml: file not found"),
        (lambda d: (d / "parties.yaml").write_bytes(b"\xff\xfe\x00"), "cannot be read as UTF-8"),
        (
            lambda d: (d / "parties.yaml").write_text("format: accord-world/9\nparties: []\n"),
            "this Accord reads 'accord-world/1'",
        ),
        (lambda d: (d / "parties.yaml").write_text("- just a list\n"), "expected a mapping"),
        (
            lambda d: (d / "parties.yaml").write_text("format: accord-world/1\nparties: {}\n"),
            "must be a list",
        ),
    ],
    ids=["missing-file", "not-utf8", "wrong-format", "not-a-mapping", "not-a-list"],
)
def test_malformed_files(copy, setup, message):
    setup(copy)
    with pytest.raises(WorldFormatError, match=re.escape(message)):
        load_world(copy)


def test_not_a_directory(tmp_path):
    with pytest.raises(WorldFormatError, match="not a directory"):
        load_world(tmp_path / "missing")


def test_format_key_is_required(copy):
    path = copy / "parties.yaml"
    edit(path, "format: accord-world/1\n", "")
    with pytest.raises(WorldFormatError, match=r"parties\.format: is required"):
        load_world(copy)


def test_source_kind_must_be_known(copy):
    edit(copy / "sources.yaml", "{id: W-JA2, kind: P,", "{id: W-JA2, kind: X,")
    with pytest.raises(WorldFormatError, match=r"sources\[0\]\.kind: must be one of P, N, W"):
        load_world(copy)


def test_carrying_agreements_must_state_their_scope(copy):
    # Fail closed: leaving out `topics` on a GSOMIA is an error, not "any topic".
    edit(copy / "agreements.yaml", "    binding: true\n    topics: any\n    term:", "    binding: true\n    term:")
    with pytest.raises(WorldFormatError, match=r"agreements\[0\]\.topics: is required"):
        load_world(copy)


def test_event_party_must_be_a_party_to_the_agreement(copy):
    edit(copy / "agreements.yaml", "kind: termination-notified, party: KOR", "kind: termination-notified, party: USA")
    with pytest.raises(WorldFormatError, match="names USA, not a party to it"):
        load_world(copy)
