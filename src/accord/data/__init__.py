"""Data shipped with Accord: the public-facts world dataset under ``world/``."""
