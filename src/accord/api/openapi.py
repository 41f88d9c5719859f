"""Write or check ``docs/openapi.json``, the OpenAPI document the node serves at ``/openapi.json``.

``python -m accord.api.openapi`` writes it; ``--check`` exits 1 when the checked-in file
differs from what the code serves (a test runs the same comparison). The document is
built from the routes alone: no node, database or keys are needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accord.api.app import openapi_document

__all__ = ["DEFAULT_PATH", "main", "render"]

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def render() -> str:
    """The document as checked in: sorted keys, two-space indent, a final newline."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the document (or, with ``--check``, compare it); the exit status."""
    parser = argparse.ArgumentParser(prog="python -m accord.api.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file differs instead of writing it")
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH, help="the document (default: docs/openapi.json)")
    args = parser.parse_args(argv)
    wanted = render()
    if args.check:
        found = args.path.read_text(encoding="utf-8") if args.path.is_file() else ""
        if found != wanted:
            sys.stderr.write(f"{args.path} is out of date: run `python -m accord.api.openapi` and commit it\n")
            return 1
        return 0
    args.path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
