"""The options an obligation and the disclosure request asking for it share, defined once.

``accord consent grant`` and ``accord disclosures request consent`` take the same
holder, third party, window and subject; ``recall issue`` and ``request recall`` the
same disposition and reason; ``report-compromise file`` and ``request report`` the same
kind, details, detection date and originator. Each is an ``Annotated`` alias, so the
two commands cannot drift apart in name, metavar or help. Defaults stay with the
commands, as Typer wants them. This module imports nothing but Typer.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = [
    "ConsentRecordOption",
    "ConsentTopicOption",
    "DetailsOption",
    "DetectedOption",
    "DispositionOption",
    "HolderOption",
    "KindOption",
    "OriginatorOption",
    "RecallReasonOption",
    "RecordArgument",
    "ThirdPartyOption",
    "ValidFromOption",
    "ValidUntilOption",
]

RecordArgument = Annotated[str, typer.Argument(metavar="RECORD")]

# -- consent -------------------------------------------------------------------------------
HolderOption = Annotated[str, typer.Option("--holder", metavar="CODE", help="The party that holds the record.")]
ThirdPartyOption = Annotated[str, typer.Option("--third-party", metavar="CODE", help="The party it may pass it to.")]
ValidFromOption = Annotated[str, typer.Option("--from", metavar="DATE", help="First day of the window, YYYY-MM-DD.")]
ValidUntilOption = Annotated[str, typer.Option("--until", metavar="DATE", help="Last day of the window, YYYY-MM-DD.")]
ConsentRecordOption = Annotated[str | None, typer.Option("--record", metavar="ID", help="One record of this node.")]
ConsentTopicOption = Annotated[str | None, typer.Option("--topic", metavar="TOPIC", help="Or every record on a topic.")]

# -- recall --------------------------------------------------------------------------------
DispositionOption = Annotated[str, typer.Option("--disposition", help="return or destroy.")]
RecallReasonOption = Annotated[str, typer.Option("--reason", help="Why (sent with the recall).")]

# -- compromise report ---------------------------------------------------------------------
KindOption = Annotated[str, typer.Option("--kind", help="loss, compromise or possible-loss-or-compromise.")]
DetailsOption = Annotated[str, typer.Option("--details", help="What happened.")]
DetectedOption = Annotated[
    str | None, typer.Option("--detected", metavar="DATE", help="When it was detected (default: today).")
]
OriginatorOption = Annotated[
    str | None, typer.Option("--originator", metavar="CODE", help="The record's originator, if not held here.")
]
