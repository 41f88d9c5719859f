"""The API's routers, one module per noun; ``create_app`` mounts :data:`ROUTERS` under ``/api/v1``.

Releases go by the approval workflow (``routes/disclosures.py``: an analyst asks,
another officer approves) or by the direct path, restricted to disclosure officers
(``routes/releases.py``).
"""

from __future__ import annotations

from fastapi import APIRouter

from accord.api.routes import (
    audit,
    decisions,
    disclosures,
    health,
    inbox,
    obligations,
    people,
    records,
    releases,
    world,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    world.router,
    decisions.router,
    records.router,
    releases.router,
    disclosures.router,
    inbox.router,
    obligations.router,
    audit.router,
    people.router,
)
