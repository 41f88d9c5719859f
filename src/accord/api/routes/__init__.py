"""The API's routers, one module per noun; ``create_app`` mounts :data:`ROUTERS` under ``/api/v1``.

Disclosure approvals (``routes/disclosures.py``, on ``services.disclosures``) are added
to this list when that service lands; until then releases go by the direct path,
restricted to disclosure officers (``routes/releases.py``).
"""

from __future__ import annotations

from fastapi import APIRouter

from accord.api.routes import audit, decisions, health, inbox, obligations, people, records, releases, world

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    world.router,
    decisions.router,
    records.router,
    releases.router,
    # disclosures.router,  <- the approval workflow, after merging services/disclosures.py
    inbox.router,
    obligations.router,
    audit.router,
    people.router,
)
