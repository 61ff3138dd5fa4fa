"""Settings: the one configuration object, read from ``PAPERFEED_*`` environment variables.

Every field here must be documented in ``docs/configuration.md`` (a test checks it).
Create it once (``Settings()``) at the edge (CLI, ASGI factory) and pass it down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Instance configuration. Environment variables use the ``PAPERFEED_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="PAPERFEED_", extra="ignore")

    data_dir: Path = Field(default=Path("./var"), description="Where the database and indexes live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/paperfeed.db.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Key for signed tokens and sessions; generated into <data_dir>/secret_key if unset.",
    )
    base_url: str = Field(default="http://127.0.0.1:8000", description="Public URL for links in feeds.")
    timezone: str = Field(default="America/New_York", description="Time zone that defines a feed day.")
    site_name: str = Field(default="paperfeed", description="Name shown in the page header and feeds.")

    arxiv_api_url: str = Field(default="https://export.arxiv.org/api/query")
    oai_url: str = Field(default="https://oaipmh.arxiv.org/oai")
    smtp_url: str | None = Field(default=None, description="smtp://host:port for outgoing mail.")
    submission_max_age_days: int = Field(default=14, ge=0)
    submissions_per_day: int = Field(default=5, ge=0)

    trending_gravity: float = Field(default=1.8, gt=0, description="Exponent of the age penalty.")
    trending_offset_hours: float = Field(default=2.0, gt=0, description="Hours added to the age.")
    trending_window_days: int = Field(default=7, ge=1, description="Only papers featured this recently.")

    page_size: int = Field(default=50, ge=1, le=100, description="Papers per page in HTML listings.")
    search_title_boost: float = Field(default=2.0, gt=0, description="BM25 weight of title matches.")
    search_max_query_chars: int = Field(default=250, ge=10, description="Longer queries are cut.")
    index_writer_heap_mb: int = Field(default=256, ge=16, description="tantivy writer memory budget.")
    index_threads: int = Field(default=2, ge=1, description="tantivy indexing threads.")
    ingest_batch_size: int = Field(default=2000, ge=1, description="Records per database transaction.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'paperfeed.db').resolve()}"

    def effective_secret_key(self) -> str:
        """``secret_key``, or one generated once into ``<data_dir>/secret_key`` (mode 0600)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            import os
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @property
    def index_dir(self) -> Path:
        """Folder holding the derived (rebuildable) search indexes."""
        return self.data_dir / "index"
