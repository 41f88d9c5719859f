"""Parties: the nations and organisations that hold nodes and sign agreements.

A party is identified by its code (ISO 3166-1 alpha-3, or an organisation code such as
NATO) and names its classification scheme. Public keys arrive with the node issues.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

from accord.errors import ValidationError

__all__ = ["Party", "PartyCode", "PartyKind", "check_party_code"]

PartyCode = NewType("PartyCode", str)

_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")


def check_party_code(code: str) -> PartyCode:
    """Return ``code`` as a PartyCode, or raise if it is not one."""
    if not _CODE.match(code):
        msg = f"party code {code!r} is not an upper-case code such as KOR or NATO"
        raise ValidationError(msg)
    return PartyCode(code)


class PartyKind(StrEnum):
    """Whether a party is a state or an international organisation."""

    NATION = "nation"
    ORGANISATION = "organisation"


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    """A party to agreements, running its own node."""

    code: PartyCode
    name: str
    kind: PartyKind = PartyKind.NATION
    native_name: str = ""
    authority: str = ""
    scheme: str = ""

    def __post_init__(self) -> None:
        """Validate the code and default the scheme to the party's own."""
        check_party_code(self.code)
        if not self.name.strip():
            msg = f"party {self.code} has an empty name"
            raise ValidationError(msg)
        if not self.scheme:
            object.__setattr__(self, "scheme", self.code)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "code": self.code,
            "name": self.name,
            "kind": str(self.kind),
            "native_name": self.native_name,
            "authority": self.authority,
            "scheme": self.scheme,
        }
