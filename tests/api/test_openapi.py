"""The checked-in OpenAPI document is the one the node serves; regenerate it with ``scripts/openapi``."""

from __future__ import annotations

import json

from accord.api.openapi import DEFAULT_PATH, main, render


def test_the_checked_in_document_matches_the_code():
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(), "run scripts/openapi and commit docs/openapi.json"


def test_the_served_document_is_the_checked_in_one(api):
    served = api.get("/openapi.json").json()
    assert served == json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_check_fails_on_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert main(["--check", "--path", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["--path", str(stale)]) == 0
    assert main(["--check", "--path", str(stale)]) == 0


def test_every_operation_documents_its_purpose():
    for path, operations in json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description") or operation.get("summary"), f"{method} {path}"
