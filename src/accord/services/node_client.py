"""A client of a node's HTTP API (``/api/v1``) for the CLI's ``--server URL``: transport and errors.

:class:`NodeClient` sends JSON with the API token as ``Authorization: Bearer`` and
returns the decoded JSON. Every way it can fail becomes an :class:`~accord.errors.Error`
here, in one place: a problem document (RFC 9457) maps back by its ``type`` through
:data:`PROBLEM_ERRORS` to the error class the node raised, keeping the node's own
message and hint (a 401 adds what to check, since the node says nothing on purpose);
connection, TLS and timeout failures become :class:`~accord.errors.ServerUnreachableError`
naming what to check. The token never appears in an error, a log line or a ``repr``.
It deliberately knows no endpoint: ``services.record_desk`` speaks the record and
release routes through it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Self
from urllib.parse import urlsplit

import httpx

from accord.errors import (
    AgreementError,
    AuthenticationError,
    ConflictError,
    Error,
    IntegrityError,
    PermissionDeniedError,
    ServerUnreachableError,
    StorageError,
    UnknownReferenceError,
    ValidationError,
)

__all__ = ["API_PREFIX", "PROBLEM_ERRORS", "NodeClient", "ServerConnection", "error_for_problem", "read_token_file"]

API_PREFIX: Final = "/api/v1"
_PROBLEM_TYPE: Final = "urn:accord:problem:"
_MAX_TOKEN: Final = 512

PROBLEM_ERRORS: Final[dict[str, type[Error]]] = {
    "unauthenticated": AuthenticationError,
    "forbidden": PermissionDeniedError,
    "not-found": UnknownReferenceError,
    "conflict": ConflictError,
    "invalid": ValidationError,
    "agreement": AgreementError,
    "integrity": IntegrityError,
    "unavailable": StorageError,
    "bad-request": Error,
    "internal": Error,
}
"""A problem's ``type`` slug (``api.problems.PROBLEMS``) -> the error class the CLI raises for it."""

_BY_STATUS: Final[dict[int, type[Error]]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: UnknownReferenceError,
    409: ConflictError,
    422: ValidationError,
}
"""For problems of the framework itself (``type`` ``http``): by status."""

_CREDENTIALS_HINT: Final = (
    "check the API token in ACCORD_TOKEN or --token-file: it may be mistyped, expired or revoked, "
    "or its person locked; `accord tokens issue --person ID` on the node makes a new one"
)


def read_token_file(path: Path) -> str:
    """The API token in ``path`` (surrounding whitespace dropped); its content is never echoed.

    Raises:
        ValidationError: the file cannot be read or holds no token.
    """
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        msg = f"cannot read the token file {path}: {getattr(e, 'strerror', None) or type(e).__name__}"
        raise ValidationError(msg, hint="--token-file names a file holding one API token") from None
    if not token:
        msg = f"the token file {path} is empty"
        raise ValidationError(msg, hint="`accord tokens issue --person ID` on the node makes a token")
    return token


def _check_token(token: str) -> str:
    if not token or len(token) > _MAX_TOKEN or not token.isascii() or not token.isprintable() or " " in token:
        msg = "the API token is not one: it must be one line of printable ASCII without spaces"
        raise ValidationError(msg, hint="copy it again from `accord tokens issue` (it begins accord_)")
    return token


def _base_url(url: str) -> str:
    """``url`` without a trailing ``/api/v1`` or slash; only http and https with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        msg = f"--server must be an http:// or https:// address of an Accord node, not {url!r}"
        raise ValidationError(msg, hint="e.g. --server https://node.example:8443 (or set ACCORD_SERVER)")
    path = parts.path.rstrip("/")
    path = path.removesuffix(API_PREFIX)
    return f"{parts.scheme}://{parts.netloc}{path}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConnection:
    """Where the node's API is, the token to call it with, and which CA to trust for https."""

    url: str
    token: str = field(repr=False)
    ca_cert: Path | None = None
    timeout: float = 30.0

    def __post_init__(self) -> None:
        """Check the address and the token's shape (never showing the token)."""
        object.__setattr__(self, "url", _base_url(self.url))
        _check_token(self.token)


class NodeClient:
    """JSON calls to one node's ``/api/v1`` with an API token; every failure an Accord error."""

    def __init__(self, connection: ServerConnection, *, transport: httpx.BaseTransport | None = None) -> None:
        """Prepare the client; nothing is sent until the first call.

        Raises:
            ValidationError: ``ca_cert`` is not a readable PEM certificate.
        """
        self._url = connection.url
        verify: ssl.SSLContext | bool = True
        if connection.ca_cert is not None:
            verify = _trusting(connection.ca_cert)
        self._http = httpx.Client(
            base_url=connection.url + API_PREFIX,
            headers={"Authorization": f"Bearer {connection.token}", "Accept": "application/json"},
            verify=verify,
            timeout=connection.timeout,
            transport=transport,
            follow_redirects=False,  # a redirect would carry the token elsewhere
        )
        self._timeout = connection.timeout

    @property
    def url(self) -> str:
        """The node's address (without ``/api/v1``)."""
        return self._url

    def get(self, path: str, params: dict[str, str | int] | None = None) -> Any:  # noqa: ANN401 - JSON
        """``GET path`` and its JSON body."""
        return self._call("GET", path, params=params)

    def post(self, path: str, body: dict[str, object]) -> Any:  # noqa: ANN401 - JSON
        """``POST path`` with a JSON body, and the JSON answer."""
        return self._call("POST", path, json=body)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:  # noqa: ANN401 - JSON
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            msg = f"the node at {self._url} did not answer within {self._timeout:g} seconds"
            raise ServerUnreachableError(
                msg, hint="check that `accord serve` runs there and is not overloaded"
            ) from None
        except httpx.TransportError as e:
            raise _unreachable(self._url, e) from None
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise _not_accord(self._url, response) from None
        raise _error_for(self._url, response)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        """Use as a context manager."""
        return self

    def __exit__(self, *_: object) -> None:
        """Close the connections."""
        self.close()


def _trusting(ca_cert: Path) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(ca_cert))
    except (OSError, ssl.SSLError) as e:
        msg = f"cannot use --ca-cert {ca_cert}: {getattr(e, 'strerror', None) or e}"
        raise ValidationError(msg, hint="--ca-cert names a PEM file of the CA (or self-signed certificate)") from None


def _ssl_cause(error: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _unreachable(url: str, error: httpx.TransportError) -> ServerUnreachableError:
    cause = _ssl_cause(error)
    if isinstance(cause, ssl.SSLCertVerificationError):
        msg = f"the TLS certificate of {url} is not trusted: {cause.verify_message or cause.reason}"
        hint = "pass --ca-cert FILE with the CA (or the self-signed certificate) the node serves, and check the host"
        return ServerUnreachableError(msg, hint=hint)
    if cause is not None:
        msg = f"the TLS handshake with {url} failed: {cause.reason or type(cause).__name__}"
        return ServerUnreachableError(msg, hint="check that the node serves https (--tls-cert) at that port")
    if isinstance(error, httpx.ConnectError):
        msg = f"cannot connect to the Accord node at {url}"
        hint = "check the address and port (--server or ACCORD_SERVER) and that `accord serve` runs there"
        return ServerUnreachableError(msg, hint=hint)
    msg = f"the connection to {url} failed: {type(error).__name__}"
    hint = "check http:// or https:// (a node serving TLS answers https only) and the port"
    return ServerUnreachableError(msg, hint=hint)


def _not_accord(url: str, response: httpx.Response) -> ServerUnreachableError:
    msg = f"{url} answered HTTP {response.status_code} without an Accord answer"
    return ServerUnreachableError(msg, hint="check that --server is the address of an Accord node (`accord serve`)")


def error_for_problem(status: int, problem: dict[str, Any]) -> Error:
    """The :class:`~accord.errors.Error` a problem document stands for (``type``, then status)."""
    slug = str(problem.get("type", "")).removeprefix(_PROBLEM_TYPE)
    family = PROBLEM_ERRORS.get(slug) or _BY_STATUS.get(status, Error)
    detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    hint = str(problem.get("hint") or "")
    if family is AuthenticationError:
        hint = _CREDENTIALS_HINT
    return family(detail, hint=hint)


def _error_for(url: str, response: httpx.Response) -> Error:
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict) or "status" not in problem:
        return _not_accord(url, response)
    return error_for_problem(response.status_code, problem)
