"""Decision, Label, Check and Hop: immutable values with a stable JSON form."""

import datetime as dt

import pytest

from accord.domain.release import Check, Decision, Hop, Label, Rule

LABEL = Label(
    originator="KOR",
    originator_name="Republic of Korea",
    originator_level="KOR/MIL-II",
    originator_level_name="군사 II급비밀 (Gunsa II-geup Bimil)",
    recipient="JPN",
    recipient_level="JPN/GOKUHI",
    recipient_level_name="極秘 (Gokuhi)",
    english="SECRET",
)
HOP = Hop("KOR", "JPN", "KOR-JPN-GSOMIA", "f" * 64, "KOR/MIL-II", "JPN/GOKUHI", False)  # noqa: FBT003


def _decision(*, allowed: bool) -> Decision:
    route = ("KOR", "JPN") if allowed else ()
    return Decision(
        allowed=allowed,
        record_id="r1",
        sender="KOR",
        recipient="JPN",
        on=dt.date(2017, 6, 1),
        route=route,
        hops=(HOP,) if allowed else (),
        checks=(
            Check(Rule.RELEASABLE, True, "portion 1 is REL TO JPN", "rule 3", ""),  # noqa: FBT003
            Check(Rule.IN_FORCE, allowed, "GSOMIA is in-force", "Art.21", "KOR>JPN"),
            Check(Rule.SCOPE, True, "elsewhere", "Art.2", "KOR>USA>JPN"),  # noqa: FBT003
        ),
        label=LABEL if allowed else None,
        released_portions=("1",) if allowed else (),
        withheld_portions=() if allowed else ("1",),
    )


def test_a_decision_is_truthy_only_when_allowed():
    assert _decision(allowed=True)
    assert not _decision(allowed=False)


def test_values_cannot_be_changed():
    d = _decision(allowed=True)
    for value, name in ((d, "allowed"), (d.label, "english"), (d.checks[0], "passed"), (d.hops[0], "level_out")):
        with pytest.raises(AttributeError):
            setattr(value, name, None)


def test_reasons_are_the_chosen_routes_passed_checks_or_every_failure():
    assert _decision(allowed=True).reasons == ("portion 1 is REL TO JPN", "GSOMIA is in-force")
    assert _decision(allowed=False).reasons == ("GSOMIA is in-force",)


def test_json_form():
    d = _decision(allowed=True)
    assert d.to_dict() == {
        "allowed": True,
        "record_id": "r1",
        "sender": "KOR",
        "recipient": "JPN",
        "on": "2017-06-01",
        "route": ["KOR", "JPN"],
        "hops": [
            {
                "sender": "KOR",
                "receiver": "JPN",
                "agreement": "KOR-JPN-GSOMIA",
                "fingerprint": "f" * 64,
                "level_in": "KOR/MIL-II",
                "level_out": "JPN/GOKUHI",
                "inferred": False,
            }
        ],
        "agreements": [{"id": "KOR-JPN-GSOMIA", "fingerprint": "f" * 64}],
        "via": None,
        "recipient_label": {
            "originator": "KOR",
            "originator_name": "Republic of Korea",
            "originator_level": "KOR/MIL-II",
            "originator_level_name": "군사 II급비밀 (Gunsa II-geup Bimil)",
            "recipient": "JPN",
            "recipient_level": "JPN/GOKUHI",
            "recipient_level_name": "極秘 (Gokuhi)",
            "english": "SECRET",
            "text": "JPN 極秘 (Gokuhi) [SECRET] // ORIGINATOR KOR (Republic of Korea) "
            "군사 II급비밀 (Gunsa II-geup Bimil)",
        },
        "released_portions": ["1"],
        "withheld_portions": [],
        "relies_on_inferred_equivalence": False,
        "reasons": ["portion 1 is REL TO JPN", "GSOMIA is in-force"],
        "checks": [
            {
                "rule": "releasable",
                "passed": True,
                "detail": "portion 1 is REL TO JPN",
                "source": "rule 3",
                "route": "",
            },
            {
                "rule": "in-force",
                "passed": True,
                "detail": "GSOMIA is in-force",
                "source": "Art.21",
                "route": "KOR>JPN",
            },
            {"rule": "scope", "passed": True, "detail": "elsewhere", "source": "Art.2", "route": "KOR>USA>JPN"},
        ],
    }
    assert Label(**{**LABEL._asdict(), "english": ""}).text() == (
        "JPN 極秘 (Gokuhi) // ORIGINATOR KOR (Republic of Korea) 군사 II급비밀 (Gunsa II-geup Bimil)"
    )
