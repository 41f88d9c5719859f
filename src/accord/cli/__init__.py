"""The ``accord`` command line: a thin shell over ``accord.services``.

Commands parse flags, call one service and print its result (Rich tables for people,
one JSON object with ``--json``). They import only ``accord.services``, ``accord.errors``
and ``accord.config``; errors are mapped to messages and exit codes in one place,
:func:`accord.cli.main.run`.
"""
