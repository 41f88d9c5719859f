"""One module per noun of the ``accord`` command (``world``, ``agreements``, …)."""
