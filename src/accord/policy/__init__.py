"""The release-decision engine: pure, deterministic, no clock or I/O inside."""

from accord.policy.engine import decide

__all__ = ["decide"]
