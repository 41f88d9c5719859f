"""Use cases: the imperative shell around the pure core.

Services load worlds, read the clock, own transactions and call the policy engine;
the CLI, the API and the web UI call services and nothing below them. Each module is
one family of use cases (``world``, ``decisions``, ``history``, ``registry``, …).
"""
