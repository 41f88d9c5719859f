"""services.world: the source rule, and the summaries the CLI prints."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from accord.domain.agreement import AgreementStatus
from accord.errors import UnknownReferenceError, WorldFormatError
from accord.serialization.world import default_world_path
from accord.services.world import (
    WorldSource,
    describe_agreement,
    open_world,
    read_world,
    redact_url,
    summarise_world,
)

D = dt.date


@pytest.fixture(scope="module")
def shipped():
    return open_world()


@pytest.fixture
def copied(tmp_path):
    target = tmp_path / "world"
    shutil.copytree(default_world_path(), target)
    return target


def test_the_option_wins_over_the_environment(copied, tmp_path):
    loaded = open_world(path=copied, env_path=tmp_path / "missing", database_url="sqlite:///nowhere.db")
    assert loaded.source is WorldSource.OPTION
    assert loaded.describe() == f"--world {copied}"


def test_the_environment_comes_next(copied):
    loaded = open_world(env_path=copied)
    assert loaded.source is WorldSource.ENVIRONMENT
    assert loaded.describe() == f"ACCORD_WORLD={copied}"


def test_an_uninitialised_node_falls_back_to_the_shipped_dataset_without_creating_it(tmp_path):
    database = tmp_path / "home" / "accord.db"
    loaded = open_world(database_url=f"sqlite:///{database}")
    assert loaded.source is WorldSource.SHIPPED
    assert loaded.describe() == "the shipped dataset"
    assert not database.exists()
    assert not database.parent.exists()


def test_the_shipped_dataset_is_the_default(shipped):
    assert shipped.source is WorldSource.SHIPPED
    assert shipped.world.fingerprint == read_world(None).fingerprint
    assert shipped.to_dict()["fingerprint"] == shipped.world.fingerprint


def test_a_broken_world_names_file_line_and_field(copied):
    path = copied / "parties.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "kind: organisation" in line)
    path.write_text(text.replace("kind: organisation", "kind: alliance"), encoding="utf-8")
    with pytest.raises(WorldFormatError) as info:
        open_world(path=copied)
    assert f"parties.yaml:{number}:" in info.value.message
    assert "kind" in info.value.message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://accord:s3cret@db:5432/accord", "postgresql+psycopg://accord:***@db:5432/accord"),
        ("postgresql://accord@db/accord", "postgresql://accord@db/accord"),
        ("sqlite:////home/a/.accord/accord.db", "sqlite:////home/a/.accord/accord.db"),
    ],
    ids=["password", "no-password", "sqlite"],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_world_summary_on_2015_lists_tisa_and_not_the_bilateral(shipped):
    summary = summarise_world(shipped, D(2015, 6, 1))
    ids = [a.id for a in summary.agreements]
    assert "TISA" in ids
    assert "KOR-JPN-GSOMIA" not in ids
    assert all(a.carries for a in summary.agreements)
    assert next(a for a in summary.agreements if a.id == "TISA").since == D(2014, 12, 29)
    assert [p.code for p in summary.parties] == sorted(p.code for p in summary.parties)


def test_world_summary_levels_follow_the_date(shipped):
    def jpn(on):
        return next(p for p in summarise_world(shipped, on).parties if p.code == "JPN").levels

    assert "JPN/BOEI" in jpn(D(2014, 1, 1))
    assert "JPN/TOKUTEI" not in jpn(D(2014, 1, 1))
    assert "JPN/TOKUTEI" in jpn(D(2015, 1, 1))
    assert "JPN/BOEI" not in jpn(D(2015, 1, 1))


def test_world_summary_everything_includes_the_rest(shipped):
    rows = {a.id: a for a in summarise_world(shipped, D(2015, 6, 1), everything=True).agreements}
    assert rows["KOR-JPN-GSOMIA"].status is AgreementStatus.NOT_IN_FORCE
    assert rows["KOR-JPN-GSOMIA"].reason == "no entry into force by then"
    data = json.loads(json.dumps(summarise_world(shipped, D(2015, 6, 1), everything=True).to_dict()))
    assert data["on"] == "2015-06-01"
    assert data["world"]["source"] == "shipped"


def test_the_gsomia_timeline_shows_the_notice_its_suspension_and_withdrawal(shipped):
    detail = describe_agreement(shipped.world, "KOR-JPN-GSOMIA", D(2019, 9, 1))
    assert [(c.on.isoformat(), str(c.status)) for c in detail.timeline] == [
        ("2016-11-23", "in-force"),
        ("2019-08-23", "termination-pending"),
        ("2019-11-22", "in-force"),
        ("2023-03-21", "in-force"),
    ]
    assert detail.timeline[1].cause.startswith("termination-notified")
    assert detail.row.status is AgreementStatus.TERMINATION_PENDING
    notice = next(e for e in detail.events if e.kind == "termination-notified")
    assert notice.effective == D(2019, 11, 23)
    assert notice.party == "KOR"
    assert {"KOR", "JPN"} <= {p for r in detail.equivalences for p, _ in r.levels}
    assert "KOR/MIL-I" in detail.excluded_levels
    assert dict(detail.clauses)["consent"].startswith("Art.5")
    json.dumps(detail.to_dict())


def test_agreement_ids_match_without_regard_to_case(shipped):
    assert describe_agreement(shipped.world, " tisa ", D(2015, 1, 1)).row.id == "TISA"


def test_an_unknown_agreement_lists_the_known_ones(shipped):
    with pytest.raises(UnknownReferenceError, match=r"unknown agreement 'NOPE'.*TISA"):
        describe_agreement(shipped.world, "NOPE", D(2015, 1, 1))
