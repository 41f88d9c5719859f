"""The node's HTTP API: :func:`create_app` builds the FastAPI application from settings.

The node's key passphrase is read once, here, from the settings and the node unlocked
once; the services and the registry share one database engine (one pool, one schema
check per process). Routes live in ``api.routes`` (one
module per noun, listed in ``routes.ROUTERS``) under ``/api/v1``; errors become
problem documents in ``api.problems`` only. The OpenAPI document is served at
``/openapi.json``; no interactive docs page is served (it would be an anonymous
endpoint). Serving (uvicorn, TLS, workers) is ``accord serve``'s job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from accord.api import problems
from accord.api.deps import Node
from accord.api.routes import ROUTERS, federation
from accord.config import Settings
from accord.services._database import Database
from accord.services.audit import AuditLog
from accord.services.disclosures import Disclosures
from accord.services.exchange import DeliveryLoop, DeliveryOptions, Exchange
from accord.services.inbox import Inbox
from accord.services.node import unlock
from accord.services.obligations import Obligations
from accord.services.people import People
from accord.services.records import Records
from accord.services.registry import Registry, WorldCache
from accord.services.releases import Releases

__all__ = ["API_PREFIX", "API_VERSION", "create_app", "delivery_options", "open_node", "openapi_document"]

API_PREFIX = "/api/v1"
API_VERSION = "1.0.0"  # the REST API's own version: /api/v1 keeps backwards compatibility
_DESCRIPTION = (
    "Agreement-governed sharing of classified records between allied nodes. Every endpoint but "
    "`/api/v1/health` and this document needs `Authorization: Bearer <API token>` (or a web session "
    "cookie, with its CSRF header for changes). Errors are `application/problem+json`. Lists are "
    "pages `{items, next_cursor}` with opaque cursors and never reveal totals."
)


def open_node(settings: Settings) -> Node:
    """The services of the node ``settings`` describe, its keys unlocked once.

    Raises:
        ValidationError: no identity or no passphrase.
        IntegrityError: a wrong passphrase.
    """
    secret = settings.key_passphrase
    unlocked = unlock(
        settings.home, secret.get_secret_value() if secret else None, unsafe_fast_kdf=settings.unsafe_fast_kdf
    )
    url, home = settings.resolved_database_url, settings.home
    database = Database(database_url=url)
    return Node(
        people=People(database=database, home=home),
        records=Records(database=database, home=home),
        releases=Releases(database=database, home=home),
        inbox=Inbox(database=database, home=home),
        disclosures=Disclosures(database=database, home=home),
        obligations=Obligations(database=database, home=home),
        audit=AuditLog(database=database, home=home),
        worlds=WorldCache(registry=Registry.sharing(database), env_path=settings.world),
        unlocked=unlocked,
        exchange=Exchange(database=database, home=home),
        federation_max_body=settings.federation_max_body,
    )


def delivery_options(settings: Settings) -> DeliveryOptions:
    """How ``settings`` say this node reaches its peers."""
    return DeliveryOptions.of(
        ca_file=settings.federation_ca_file,
        timeout=settings.federation_timeout,
        retry_base_seconds=settings.retry_base_seconds,
    )


def create_app(settings: Settings | None = None, *, node: Node | None = None) -> FastAPI:
    """The API of the node ``settings`` describes (or of ``node``, already opened).

    Built from settings (``accord serve``), it also runs the delivery loop unless
    ``ACCORD_DELIVER=0``; built on a ``node`` given, it does not.
    """
    if node is not None:
        return _application(node)
    settings = settings or Settings()
    held = open_node(settings)
    loop = None
    if settings.deliver:
        loop = DeliveryLoop(
            held.exchange, node=held.unlocked, interval=settings.delivery_interval, options=delivery_options(settings)
        )
    return _application(held, loop)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the app serves, built without a node (for ``docs/openapi.json``)."""
    return _application(None).openapi()


def _application(held: Node | None, loop: DeliveryLoop | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if loop is not None:
            loop.start()
        yield
        if loop is not None:
            loop.stop()
        if held is not None:
            held.close()

    app = FastAPI(
        title="Accord node API",
        version=API_VERSION,
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.node = held
    problems.install(app)
    app.state.mounted = (*((API_PREFIX, router) for router in ROUTERS), (federation.PREFIX, federation.router))
    for prefix, router in app.state.mounted:
        app.include_router(router, prefix=prefix)
    return app
