"""YAML reading that remembers where each value came from (file and line).

Mappings load as :class:`Node` (a dict that knows its own line and each key's line),
so that a validation error can name the file, the line and the field. Only the safe
YAML subset is accepted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from accord.errors import WorldFormatError

__all__ = ["Node", "load_yaml"]


class Node(dict[str, Any]):
    """A YAML mapping with the line of the mapping and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of ``key`` in the file, or of the mapping when the key is missing."""
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 scalars: dates stay text, only true/false are booleans.

    PyYAML's YAML 1.1 rules would turn ``on:`` or ``no`` into booleans and raise a bare
    ValueError on an impossible date; the world reader parses dates itself and names the
    field that is wrong.
    """


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Node:
    loader.flatten_mapping(node)
    out = Node()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in out:
            msg = f"line {key_node.start_mark.line + 1}: key {key!r} appears twice"
            raise yaml.constructor.ConstructorError(None, None, msg, key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:  # noqa: ANN401 - YAML is any JSON-like value
    """Read one YAML file, turning every failure into a WorldFormatError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        msg = f"{path}: file not found"
        raise WorldFormatError(msg) from e
    except (OSError, UnicodeDecodeError) as e:
        msg = f"{path}: cannot be read as UTF-8 text ({e})"
        raise WorldFormatError(msg) from e
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark else ""
        msg = f"{path}{line}: not valid YAML ({e.problem or e})"
        raise WorldFormatError(msg) from e
    except yaml.YAMLError as e:
        msg = f"{path}: not valid YAML ({e})"
        raise WorldFormatError(msg) from e
    except (ValueError, TypeError, RecursionError) as e:  # a scalar PyYAML cannot build
        msg = f"{path}: not valid YAML ({e})"
        raise WorldFormatError(msg) from e
