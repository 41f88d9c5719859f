"""``accord init``: create the node's home and bring its database to the latest schema.

The home is ``$ACCORD_HOME`` (default ``~/.accord``) and the database a SQLite file
there unless ``$ACCORD_DATABASE_URL`` names another. Running it again changes nothing.
"""

from __future__ import annotations

from rich.text import Text

from accord.cli.commands._shared import settings, stdout
from accord.services.world import init_node, redact_url

__all__ = ["init"]


def init() -> None:
    """Initialise this node: its home directory and its database (safe to repeat).

    Then `accord world load` stores the world the node decides with.
    """
    current = settings()
    url = current.resolved_database_url
    init_node(home=current.home, database_url=url)
    console = stdout()
    console.print(Text(f"Node initialised at {current.home}"), soft_wrap=True)
    console.print(Text(f"  database {redact_url(url)}"), soft_wrap=True)
    console.print(Text("Next: accord world load [PATH]"), soft_wrap=True)
