"""Every public module declares ``__all__``, and every name in it exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import accord

PUBLIC = sorted(
    m.name
    for m in pkgutil.walk_packages(accord.__path__, "accord.")
    if not any(part.startswith("_") for part in m.name.split(".")) and ".migrations" not in m.name
)


@pytest.mark.parametrize("name", PUBLIC)
def test_module_declares_its_public_names(name):
    module = importlib.import_module(name)
    if module.__file__ and module.__file__.endswith("__init__.py") and not hasattr(module, "__all__"):
        return  # a package docstring only
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.__all__ names {exported}, which does not exist"


def test_top_level_api():
    assert set(accord.__all__) == {
        "Decision",
        "Error",
        "Record",
        "World",
        "__version__",
        "decide",
        "load_world",
    }
    for name in accord.__all__:
        assert getattr(accord, name) is not None
