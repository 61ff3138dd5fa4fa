"""Settings: the one configuration object, read from ``PAPERFEED_*`` environment variables.

Every field here must be documented in ``docs/configuration.md`` (a test checks it).
Create it once (``Settings()``) at the edge (CLI, ASGI factory) and pass it down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as readable text or one JSON object per line."
    )

    arxiv_api_url: str = Field(default="https://export.arxiv.org/api/query")
    oai_url: str = Field(default="https://oaipmh.arxiv.org/oai")
    smtp_url: str | None = Field(
        default=None, description="smtp://host:port, smtp+starttls://user:pass@host:587 or smtps://...:465."
    )
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one SMTP operation.")
    mail_from: str = Field(default="paperfeed <noreply@localhost>", description="From address of mails.")
    mail_unsubscribe_mailto: str | None = Field(
        default=None, description="Address for the mailto: form of List-Unsubscribe (optional)."
    )
    mail_confirm_link_days: float = Field(
        default=3.0, gt=0, description="Confirmation links expire after this."
    )
    mail_confirm_resend_minutes: int = Field(
        default=10, ge=1, description="At most one confirmation mail per address per this many minutes."
    )
    mail_max_attempts: int = Field(default=5, ge=1, description="Give up on a mail after this many tries.")
    mail_retry_base_seconds: float = Field(
        default=300.0, ge=0, description="Delay before the first retry of a mail (doubles each time)."
    )
    digest_trending_size: int = Field(default=10, ge=1, le=100, description="Trending papers in a digest.")
    digest_personal_size: int = Field(default=5, ge=0, le=50, description="Personal picks in a digest.")
    rate_limit_subscribe_ip: str = Field(default="20/3600", description="Subscription requests per IP.")
    rate_limit_subscribe_email: str = Field(
        default="5/3600", description="Subscription requests per address."
    )
    submission_max_age_days: int = Field(default=14, ge=0)
    submissions_per_day: int = Field(default=5, ge=0)
    submission_no_weekend: bool = Field(default=False, description="Refuse submissions on Sat/Sun.")
    arxiv_min_interval_seconds: float = Field(default=3.0, ge=0, description="Pause between arXiv calls.")
    arxiv_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one arXiv request.")
    arxiv_retries: int = Field(default=3, ge=0, description="Retries on arXiv 5xx/timeouts.")
    arxiv_backoff_seconds: float = Field(default=1.0, ge=0, description="First retry delay (doubles).")
    oai_min_interval_seconds: float = Field(default=3.0, ge=0, description="Pause between OAI-PMH calls.")
    oai_timeout_seconds: float = Field(default=60.0, gt=0, description="Timeout of one OAI-PMH request.")
    oai_retries: int = Field(default=5, ge=0, description="Retries on OAI-PMH 5xx/503/timeouts.")
    oai_backoff_seconds: float = Field(default=5.0, ge=0, description="First OAI retry delay (doubles).")
    oai_max_retry_after_seconds: float = Field(
        default=600.0, ge=0, description="Longest Retry-After (503) honoured before retrying."
    )
    oai_metadata_prefix: str = Field(default="arXivRaw", description="OAI format: arXivRaw or arXiv.")
    harvest_sets: str = Field(default="cs", description="Comma-separated OAI sets the harvest job fetches.")
    harvest_feature: bool = Field(default=False, description="Harvest job features new papers on the feed.")
    schedule_timezone: str = Field(default="America/New_York", description="Zone of the job schedule times.")
    harvest_time: str = Field(default="20:30", description="Harvest job time (HH:MM), Sun-Thu.")
    index_interval_minutes: int = Field(default=60, ge=0, description="Index job period (0 = never).")
    digest_time: str = Field(default="07:00", description="Daily digest job time (HH:MM); weekly on Mondays.")
    job_lease_seconds: float = Field(default=900.0, gt=0, description="A job lease expires unless renewed.")

    trending_gravity: float = Field(default=1.8, gt=0, description="Exponent of the age penalty.")
    trending_offset_hours: float = Field(default=2.0, gt=0, description="Hours added to the age.")
    trending_window_days: int = Field(default=7, ge=1, description="Only papers featured this recently.")

    page_size: int = Field(default=50, ge=1, le=100, description="Papers per page in HTML listings.")
    search_title_boost: float = Field(
        default=0.25, ge=0, description="Extra BM25 weight of title matches (title + abstract count once)."
    )
    search_max_query_chars: int = Field(default=1000, ge=10, description="Longer queries are cut.")
    index_writer_heap_mb: int = Field(default=256, ge=16, description="tantivy writer memory budget.")
    index_threads: int = Field(default=2, ge=1, description="tantivy indexing threads.")
    ingest_batch_size: int = Field(default=2000, ge=1, description="Records per database transaction.")

    embedding_model_dir: Path | None = Field(
        default=None,
        description="Folder of another ONNX sentence-transformers model; unset = bundled MiniLM.",
    )
    embedding_max_tokens: int = Field(default=256, ge=8, le=512, description="Embedded text is cut here.")
    embedding_threads: int = Field(default=1, ge=1, description="onnxruntime threads per embedder.")
    embedding_bulk_threads: int = Field(
        default=0, ge=0, description="Threads of bulk embedding (embed work, index); 0 = all cores."
    )
    embedding_runtime: Literal["auto", "onnxruntime", "openvino"] = Field(
        default="auto", description="What runs the model on a CPU; auto = OpenVINO when installed."
    )
    embedding_device: Literal["cpu", "cuda"] = Field(
        default="cpu", description="Where the embedder runs; cuda needs onnxruntime-gpu."
    )
    semantic_search: bool = Field(
        default=True, description="Offer semantic/hybrid search and similar papers."
    )
    hybrid_fusion: Literal["score", "rrf"] = Field(
        default="score",
        description="How hybrid search fuses BM25 and cosine: a convex combination of the scores, or RRF.",
    )
    hybrid_keyword_share: float = Field(
        default=0.4, ge=0, le=1, description="Score fusion: the BM25 share α of the fused score."
    )
    hybrid_keyword_weight: float = Field(default=1.0, ge=0, description="RRF weight of the BM25 ranking.")
    hybrid_vector_weight: float = Field(default=1.0, ge=0, description="RRF weight of the vector ranking.")
    hybrid_rrf_k: int = Field(default=60, ge=0, description="The k of reciprocal-rank fusion.")
    hybrid_candidates: int = Field(default=100, ge=10, le=1000, description="Hits taken from each side.")
    vector_index_interval_seconds: float = Field(
        default=60.0, ge=0, description="How often `serve` embeds new papers in the background; 0 = never."
    )
    embed_claim_seconds: float = Field(
        default=300.0,
        gt=0,
        description="An embedding worker's claim on a batch expires after this long unless renewed "
        "(live workers renew every third of it; a dead worker's papers are then claimed again).",
    )

    session_days: int = Field(default=30, ge=1, description="A sign-in lasts this many days.")
    argon2_time_cost: int = Field(default=3, ge=1, description="argon2id iterations for passwords.")
    argon2_memory_kib: int = Field(default=65536, ge=8, description="argon2id memory per hash (KiB).")
    argon2_parallelism: int = Field(default=4, ge=1, description="argon2id lanes.")
    rate_limit_enabled: bool = Field(default=True, description="Turn every rate limit on or off.")
    rate_limit_login_ip: str = Field(default="30/300", description="Sign-in attempts per IP: N/seconds.")
    rate_limit_login_user: str = Field(default="10/300", description="Sign-in attempts per username.")
    rate_limit_signup_ip: str = Field(default="10/3600", description="Sign-ups per IP: N/seconds.")
    rate_limit_vote_user: str = Field(default="120/60", description="Votes per user: N/seconds.")
    rate_limit_submit_user: str = Field(
        default="20/3600", description="Submission attempts per user (also failed ones): N/seconds."
    )
    rate_limit_comment_user: str = Field(default="10/60", description="Comments per user: N/seconds.")
    rate_limit_report_user: str = Field(default="20/3600", description="Comment reports per user.")
    comment_edit_minutes: int = Field(
        default=15, ge=0, description="Authors may edit a comment this long after posting."
    )
    comment_max_chars: int = Field(default=10000, ge=1, description="Longest comment (markdown) accepted.")
    comment_max_depth: int = Field(default=6, ge=1, description="Replies nest at most this deep.")
    follows_max_per_user: int = Field(default=100, ge=1, description="Follows (all kinds) per user.")
    for_you_window_days: int = Field(default=7, ge=1, description="For you ranks recently featured papers.")
    for_you_profile_size: int = Field(
        default=500, ge=1, description="Most recent upvoted/saved papers that form the taste profile."
    )
    for_you_similarity_floor: float = Field(
        default=0.3, ge=0, lt=1, description="Cosine below this adds nothing to a For you score."
    )

    @field_validator(
        "rate_limit_comment_user",
        "rate_limit_report_user",
        "rate_limit_login_ip",
        "rate_limit_login_user",
        "rate_limit_signup_ip",
        "rate_limit_vote_user",
        "rate_limit_submit_user",
        "rate_limit_subscribe_ip",
        "rate_limit_subscribe_email",
    )
    @classmethod
    def _rate_limit_spec(cls, value: str) -> str:
        count, _, seconds = value.partition("/")
        if not (count.strip().isdigit() and seconds.strip().isdigit() and int(seconds) > 0):
            raise ValueError(f"rate limit {value!r} must look like N/SECONDS, e.g. 10/300")
        return value

    @field_validator("timezone", "schedule_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("harvest_time", "digest_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.strip().partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise ValueError(f"time {value!r} must look like HH:MM, e.g. 20:30")
        return value.strip()

    @field_validator("oai_metadata_prefix")
    @classmethod
    def _oai_prefix(cls, value: str) -> str:
        if value not in ("arXivRaw", "arXiv"):
            raise ValueError(f"OAI metadata format {value!r} must be arXivRaw or arXiv")
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
        return _secret_from_file(str((self.data_dir / "secret_key").resolve()))

    @property
    def index_dir(self) -> Path:
        """Folder holding the derived (rebuildable) search indexes."""
        return self.data_dir / "index"


_SECRETS: dict[str, str] = {}


def _secret_from_file(path_text: str) -> str:
    """Read (creating it on first use) the instance's generated secret key; cached per path."""
    if path_text not in _SECRETS:
        import os
        import secrets

        path = Path(path_text)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        _SECRETS[path_text] = path.read_text().strip()
    return _SECRETS[path_text]
