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
    """

    model_config = SettingsConfigDict(env_prefix="ACCORD_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".accord")
    database_url: str | None = None
    world: Path | None = None
    key_passphrase: SecretStr | None = None  # unlocks the node's key file (accord.crypto.keystore)
    unsafe_fast_kdf: bool = False  # UNSAFE, tests only: see the class docstring

    @property
    def resolved_database_url(self) -> str:
        """The database URL: the explicit one, or a SQLite file under the home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'accord.db'}"
