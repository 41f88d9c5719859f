"""The pure model of Accord: parties, schemes, agreements, records, consents, decisions.

Nothing here performs I/O, reads the clock or the environment, or imports a database,
web or HTTP library; a test enforces it. Values are frozen dataclasses validated on
construction.
"""
