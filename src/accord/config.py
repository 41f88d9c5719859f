"""Settings from the environment (``ACCORD_*``), read only by entry points (CLI, API).

The core never reads the environment: entry points build one :class:`Settings` and pass
the values they need down as plain arguments.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """A node's settings.

    ``ACCORD_HOME`` is the node's directory (database, keys); ``ACCORD_DATABASE_URL``
    overrides the default SQLite file there with any SQLAlchemy URL (PostgreSQL for
    scale); ``ACCORD_WORLD`` points at a world directory to use instead of the node's
    registry; ``ACCORD_KEY_PASSPHRASE`` unlocks the node's private keys at rest.

    ``ACCORD_UNSAFE_FAST_KDF=1`` is UNSAFE and for tests only: key files are written
    with a scrypt cost far below the floor (``accord.crypto.keystore.SCRYPT_FLOOR``), so
    a stolen key file gives up its passphrase almost at once, and such files may be
    opened. It is off unless set; commands that honour it print a warning.

    Federation over HTTP: ``ACCORD_FEDERATION_MAX_BODY`` caps a request to
    ``/federation/v1/envelopes`` (bytes, 32 MiB); ``ACCORD_DELIVER=0`` stops ``accord
    serve`` delivering the outboxes (``--no-deliver``), ``ACCORD_DELIVERY_INTERVAL``
    is the seconds between delivery runs, ``ACCORD_RETRY_BASE_SECONDS`` the first
    retry wait (30), ``ACCORD_FEDERATION_CA_FILE`` a PEM bundle that peers' TLS
    certificates are checked against, ``ACCORD_FEDERATION_TIMEOUT`` seconds per request.
    """

    model_config = SettingsConfigDict(env_prefix="ACCORD_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".accord")
    database_url: str | None = None
    world: Path | None = None
    key_passphrase: SecretStr | None = None  # unlocks the node's key file (accord.crypto.keystore)
    unsafe_fast_kdf: bool = False  # UNSAFE, tests only: see the class docstring
    federation_max_body: int = Field(default=32 * 1024 * 1024, ge=1024)
    deliver: bool = True
    delivery_interval: float = Field(default=2.0, gt=0)
    retry_base_seconds: float = Field(default=30.0, gt=0, le=3600)
    federation_ca_file: Path | None = None
    federation_timeout: float = Field(default=30.0, gt=0)

    @property
    def resolved_database_url(self) -> str:
        """The database URL: the explicit one, or a SQLite file under the home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'accord.db'}"
