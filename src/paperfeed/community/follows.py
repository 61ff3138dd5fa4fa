"""FollowService: what a user follows — arXiv categories, authors and saved searches.

Following and unfollowing are idempotent. Input is validated before anything is written:

* a category must be a known arXiv category (``cs.LG``, ``math.AP``, ``hep-th``,
  ``astro-ph.CO``); it is matched case-insensitively and stored in arXiv's spelling;
* an author name is 1–200 characters (spaces collapsed); it matches papers case-insensitively;
* a saved search is 1–250 characters with a mode ``keyword`` | ``semantic`` | ``hybrid``
  (following the same query again only updates its mode).

A user may have at most ``Settings.follows_max_per_user`` follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from paperfeed.clock import Clock
from paperfeed.config import Settings
from paperfeed.db import follows_store as store
from paperfeed.errors import InvalidInput, PaperfeedError

KINDS = ("category", "author", "query")
QUERY_MODES = ("keyword", "semantic", "hybrid")
MAX_AUTHOR_CHARS = 200
MAX_QUERY_CHARS = 250

# the arXiv category taxonomy (https://arxiv.org/category_taxonomy), including the
# subsumed/legacy archives still found on old papers
_TAXONOMY = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA NE "
    "NI OH OS PF PL RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA RA RT SG SP ST",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph "
    "flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
_WHOLE_ARCHIVES = (
    "astro-ph cond-mat gr-qc hep-ex hep-lat hep-ph hep-th math-ph nlin nucl-ex nucl-th physics "
    "quant-ph q-alg alg-geom dg-ga funct-an chao-dyn solv-int patt-sol adap-org comp-gas cmp-lg "
    "mtrl-th supr-con chem-ph atom-ph acc-phys ao-sci bayes-an plasm-ph"
)
KNOWN_CATEGORIES: frozenset[str] = frozenset(
    [f"{archive}.{sub}" for archive, subs in _TAXONOMY.items() for sub in subs.split()]
    + _WHOLE_ARCHIVES.split()
)
_BY_LOWER = {c.lower(): c for c in KNOWN_CATEGORIES}
_SPACES = re.compile(r"\s+")


class TooManyFollows(PaperfeedError):
    """The user already follows the maximum number of things."""

    code = "too_many_follows"
    http_status = 409


@dataclass(frozen=True)
class Follow:
    """One thing a user follows."""

    id: int
    kind: str
    value: str
    mode: str | None
    created_at: datetime

    @property
    def label(self) -> str:
        if self.kind == "query":
            return f"“{self.value}” ({self.mode or 'hybrid'})"
        return self.value


def normalize_category(value: str) -> str:
    """arXiv's spelling of a category (``CS.lg`` → ``cs.LG``); :class:`InvalidInput` if unknown."""
    raw = (value or "").strip()
    found = _BY_LOWER.get(raw.lower())
    if found is None:
        raise InvalidInput(
            f"{raw[:40]!r} is not an arXiv category (examples: cs.LG, math.AP, hep-th, astro-ph.CO)"
        )
    return found


def validate(kind: str, value: str, mode: str | None = None) -> tuple[str, str, str | None]:
    """``(kind, value, mode)`` cleaned up, or :class:`InvalidInput` saying what is wrong."""
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise InvalidInput("kind must be category, author or query")
    if not isinstance(value, str):
        raise InvalidInput("value must be a string")
    if kind == "category":
        return kind, normalize_category(value), None
    text = _SPACES.sub(" ", value).strip()
    if not text:
        raise InvalidInput(f"the {'author name' if kind == 'author' else 'search'} must not be empty")
    if kind == "author":
        if len(text) > MAX_AUTHOR_CHARS:
            raise InvalidInput(f"an author name is at most {MAX_AUTHOR_CHARS} characters")
        return kind, text, None
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"a saved search is at most {MAX_QUERY_CHARS} characters")
    mode = (mode or "hybrid").strip().lower()
    if mode not in QUERY_MODES:
        raise InvalidInput("mode must be keyword, semantic or hybrid")
    return kind, text, mode


def _follow(row: dict) -> Follow:
    return Follow(row["id"], row["kind"], row["value"], row["mode"], row["created_at"])


class FollowService:
    """Follow, unfollow and list follows (see the module doc)."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def follow(self, user_id: int, kind: str, value: str, mode: str | None = None) -> tuple[Follow, bool]:
        """Follow something; ``(follow, created)``. Following again changes nothing (a saved
        search's mode is updated)."""
        kind, value, mode = validate(kind, value, mode)
        now = self.clock.now().replace(tzinfo=None)
        with self.engine.begin() as conn:
            existing = store.find_follow(conn, user_id, kind, value)
            if existing is None:
                if store.count_follows(conn, user_id) >= self.settings.follows_max_per_user:
                    cap = self.settings.follows_max_per_user
                    raise TooManyFollows(f"you can follow at most {cap} things; unfollow one first")
                created = store.insert_follow(
                    conn, user_id=user_id, kind=kind, value=value, mode=mode, now=now
                )
                existing = store.find_follow(conn, user_id, kind, value)
            else:
                created = False
                if kind == "query" and existing["mode"] != mode:
                    store.set_follow_mode(conn, existing["id"], mode)
                    existing["mode"] = mode
        return _follow(existing), created

    def unfollow(self, user_id: int, kind: str, value: str) -> bool:
        """Stop following; ``False`` when it was not followed (not an error)."""
        kind, value, _ = validate(kind, value, "hybrid")
        with self.engine.begin() as conn:
            return store.delete_follow(conn, user_id, kind, value)

    def list_for(self, user_id: int) -> list[Follow]:
        with self.engine.connect() as conn:
            return [_follow(row) for row in store.follows_of(conn, user_id)]
