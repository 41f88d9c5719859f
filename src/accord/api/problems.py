"""The one mapping from Accord's errors to HTTP: ``application/problem+json`` (RFC 9457).

Services raise :class:`~accord.errors.Error` subclasses; :data:`PROBLEMS` says which
status each family answers with, most specific first. Bodies carry ``type``, ``title``,
``status``, ``detail`` and ``hint``: the error's own message and hint, which are
written for people, except where the family is opaque by design (integrity failures)
or would show internals (storage, and anything unexpected, which answers a bare 500
and is logged). Authentication failures add ``WWW-Authenticate: Bearer``. Request
validation and routing errors of the framework get the same shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from accord.errors import (
    AgreementError,
    AuthenticationError,
    ConflictError,
    Error,
    IntegrityError,
    PermissionDeniedError,
    StorageError,
    UnknownReferenceError,
    ValidationError,
)

__all__ = ["PROBLEMS", "PROBLEM_JSON", "Problem", "install", "problem_for", "problem_response"]

PROBLEM_JSON: Final = "application/problem+json"
_TYPE = "urn:accord:problem:"
_log = logging.getLogger("accord.api")


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """How one family of errors answers: status, type slug, title; ``opaque`` hides the message."""

    status: int
    slug: str
    title: str
    opaque_detail: str | None = None
    opaque_hint: str = ""


PROBLEMS: Final[tuple[tuple[type[Error], Problem], ...]] = (
    (AuthenticationError, Problem(status=401, slug="unauthenticated", title="Authentication required")),
    (PermissionDeniedError, Problem(status=403, slug="forbidden", title="Not allowed")),
    (UnknownReferenceError, Problem(status=404, slug="not-found", title="Not found")),
    (ConflictError, Problem(status=409, slug="conflict", title="Changed meanwhile")),
    (ValidationError, Problem(status=422, slug="invalid", title="Invalid request")),
    (AgreementError, Problem(status=422, slug="agreement", title="Agreement inconsistent")),
    (
        IntegrityError,
        Problem(
            status=400,
            slug="integrity",
            title="Integrity check failed",
            opaque_detail="an integrity check failed",
            opaque_hint="the node's operator finds the reason in its audit log",
        ),
    ),
    (
        StorageError,
        Problem(
            status=503,
            slug="unavailable",
            title="Storage unavailable",
            opaque_detail="the node's database is unavailable or refused the change; nothing was changed",
            opaque_hint="retry in a moment; if it persists, tell the node's operator",
        ),
    ),
    (Error, Problem(status=400, slug="bad-request", title="Bad request")),
)
"""Error family -> how it answers; the first match wins (subclasses come first)."""

_UNEXPECTED = Problem(
    status=500,
    slug="internal",
    title="Internal error",
    opaque_detail="the node failed to answer this request; nothing was changed",
    opaque_hint="retry; if it persists, tell the node's operator",
)


def problem_for(error: Error) -> Problem:
    """The :class:`Problem` of ``error``'s family."""
    for family, problem in PROBLEMS:
        if isinstance(error, family):
            return problem
    return _UNEXPECTED  # unreachable: Error is the last family


def problem_response(  # noqa: PLR0913 - the fields of a problem document, and its headers
    status: int, slug: str, title: str, detail: str, hint: str = "", headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A problem document with ``status``."""
    body = {"type": _TYPE + slug, "title": title, "status": status, "detail": detail, "hint": hint}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Error)  # noqa: S101 - registered for Error only
    problem = problem_for(exc)
    if problem.opaque_detail is not None:
        if isinstance(exc, StorageError):
            _log.warning("storage error: %s", exc.diagnostics())
        detail, hint = problem.opaque_detail, problem.opaque_hint
    else:
        detail, hint = exc.message, exc.hint
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    return problem_response(problem.status, problem.slug, problem.title, detail, hint, headers)


def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    detail = "; ".join(parts) or "the request does not match the API"
    return problem_response(422, "invalid", "Invalid request", detail, "the OpenAPI document at /openapi.json")


def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for it only
    titles = {404: "Not found", 405: "Method not allowed"}
    title = titles.get(exc.status_code, "HTTP error")
    detail = str(exc.detail) or title
    return problem_response(exc.status_code, "http", title, detail, headers=exc.headers)


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    _log.error("unexpected error answering a request", exc_info=exc)
    p = _UNEXPECTED
    return problem_response(p.status, p.slug, p.title, p.opaque_detail or "", p.opaque_hint)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``: the one place errors become responses."""
    app.add_exception_handler(Error, _error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
