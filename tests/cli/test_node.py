"""``accord init`` and ``accord world load``, then reading from the node's registry."""

from __future__ import annotations

from accord.serialization.world import default_world_path

DECIDE = ("decide", "--from", "KOR", "--to", "JPN", "--level", "KOR/MIL-II", "--topic", "dprk-missile")


def test_init_then_load_twice_then_decide_from_the_registry(accord, home):
    first = accord("init")
    assert first.code == 0, first.err
    assert f"Node initialised at {home}" in first.out
    assert (home / "accord.db").is_file()
    assert accord("init").code == 0  # idempotent

    loaded = accord("world", "load")
    assert loaded.code == 0, loaded.err
    assert "Loaded the shipped dataset into the registry" in loaded.out
    again = accord("world", "load")
    assert again.code == 0, again.err
    assert "No change" in again.out

    decided = accord(*DECIDE, "--on", "2015-06-01", "--json")
    assert decided.code == 0, decided.err
    data = decided.json()
    assert data["world"]["source"] == "registry"
    assert data["route"] == ["KOR", "USA", "JPN"]
    assert data["world"]["fingerprint"] in loaded.out

    shown = accord("world", "show", "--on", "2015-06-01")
    assert "from the node registry" in shown.out
    assert accord("agreements", "show", "TISA", "--json").json()["world"]["source"] == "registry"


def test_the_registry_holds_what_was_loaded(accord, unsuspended_world):
    assert accord("init").code == 0
    loaded = accord("world", "load", str(unsuspended_world))
    assert loaded.code == 0, loaded.err
    assert f"Loaded {unsuspended_world} into the registry" in loaded.out
    decided = accord(*DECIDE, "--topic", "maritime-security", "--on", "2020-06-01", "--json")
    assert decided.code == 1
    assert any("terminated" in r for r in decided.json()["reasons"])
    # --world and ACCORD_WORLD still come before the registry
    shipped = str(default_world_path())
    for extra, env in (((), {"ACCORD_WORLD": shipped}), (("--world", shipped), {})):
        result = accord(*DECIDE, "--topic", "maritime-security", "--on", "2020-06-01", *extra, extra_env=env)
        assert result.code == 0, result.err


def test_loading_a_broken_world_changes_nothing(accord, world_copy, corrupt):
    assert accord("init").code == 0
    assert accord("world", "load").code == 0
    number = corrupt("schemes.yaml", "rank: 2", "rank: two")
    broken = accord("world", "load", str(world_copy))
    assert broken.code == 2
    assert broken.err.startswith("error: ")
    assert f"schemes.yaml:{number}:" in broken.err
    assert "rank" in broken.err
    assert "No change" in accord("world", "load").out


def test_load_before_init_says_what_to_do(accord):
    result = accord("world", "load")
    assert result.code == 2
    assert "not initialised" in result.err
    assert "accord init" in result.err


def test_an_uninitialised_node_reads_the_shipped_dataset_and_creates_nothing(accord, home):
    result = accord(*DECIDE, "--on", "2015-06-01", "--json")
    assert result.json()["world"]["source"] == "shipped"
    assert not home.exists()


def test_an_initialised_node_without_a_world_reads_the_shipped_dataset(accord):
    assert accord("init").code == 0
    result = accord(*DECIDE, "--on", "2015-06-01", "--json")
    assert result.json()["world"]["source"] == "shipped"
